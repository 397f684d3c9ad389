package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// okConverse is a minimal valid Converse answer for tests that look at requests.
var okConverse = []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn",
	"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`)

// wireRequest sends body through the provider and returns the request as it went
// on the wire: its escaped path and its JSON body.
func wireRequest(t *testing.T, fx *fixture, model, body string) (string, []byte) {
	t.Helper()
	var path string
	var sent []byte
	fx.seen = func(r *http.Request, b []byte) { path, sent = r.URL.EscapedPath(), b }
	if _, err := fx.p.Chat(context.Background(), chatCall(t, model, body)); err != nil {
		t.Fatal(err)
	}
	return path, sent
}

// TestRequestGolden translates each testdata/*.chat.json (an OpenAI chat request)
// and compares the Converse request the provider sends with *.req.json. The
// golden files were first written by the official SDK's serializer, which the
// native encoding must match.
func TestRequestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.chat.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	fx := newFixture(t, 200, jsonHeader, okConverse)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".chat.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			path, sent := wireRequest(t, fx, sonnet, string(body))
			doc, err := json.Marshal(map[string]json.RawMessage{"path": json.RawMessage(`"` + path + `"`), "body": sent})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".req.json", indentJSON(t, doc))
		})
	}
}

// chatRequest parses body as the proxy does, with a model and a user message when
// it has none.
func chatRequest(t testing.TB, body string) *providers.Request {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["model"] == nil {
		doc["model"] = json.RawMessage(`"m"`)
	}
	if doc["messages"] == nil {
		doc["messages"] = json.RawMessage(`[{"role":"user","content":"hi"}]`)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := providers.ParseChat(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sentRequest is a translated request as Bedrock reads it.
type sentRequest struct {
	body     oracleBody
	jsonTool string
}

func translatedFor(t *testing.T, model, body string) sentRequest {
	t.Helper()
	cr, err := translateRequest(chatRequest(t, body), model)
	if err != nil {
		t.Fatal(err)
	}
	out := sentRequest{jsonTool: cr.jsonTool}
	if err := json.Unmarshal(cr.body, &out.body); err != nil {
		t.Fatalf("%v: %s", err, cr.body)
	}
	return out
}

func translated(t *testing.T, body string) sentRequest {
	t.Helper()
	return translatedFor(t, sonnet, body)
}

func TestConsecutiveTurnsMergeAndToolResultsComeFirst(t *testing.T) {
	cr := translated(t, `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"messages":[
		{"role":"user","content":"a"},{"role":"user","content":"b"},
		{"role":"assistant","content":"c","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"user","content":"d"},{"role":"tool","tool_call_id":"t1","content":"r"}]}`)
	msgs := cr.body.Messages
	if len(msgs) != 3 || msgs[0].Role != "user" || msgs[1].Role != "assistant" || msgs[2].Role != "user" {
		t.Fatalf("turns: %+v", msgs)
	}
	if len(msgs[0].Content) != 2 {
		t.Errorf("first user turn has %d blocks", len(msgs[0].Content))
	}
	if msgs[2].Content[0].ToolResult == nil {
		t.Errorf("the tool result must open the user turn: %+v", msgs[2].Content[0])
	}
	if b := msgs[2].Content[1]; b.Text != "d" || b.ToolResult != nil {
		t.Errorf("then the user's text: %+v", b)
	}
}

func TestRequestRejections(t *testing.T) {
	for _, tc := range []struct {
		name, body, param string
		unsupported       bool
	}{
		{"n>1", `{"n":3}`, "n", true},
		{"logprobs", `{"logprobs":true}`, "logprobs", true},
		{"top_logprobs", `{"top_logprobs":2}`, "top_logprobs", true},
		{"logit_bias", `{"logit_bias":{"50256":-100}}`, "logit_bias", true},
		{"presence_penalty", `{"presence_penalty":0.5}`, "presence_penalty", true},
		{"frequency_penalty", `{"frequency_penalty":-1}`, "frequency_penalty", true},
		{"function role", `{"messages":[{"role":"function","name":"f","content":"x"}]}`, "messages", true},
		{"audio part", `{"messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages", true},
		{"non-function tool", `{"tools":[{"type":"web_search","function":{"name":"x"}}]}`, "tools[0].type", true},
		{"unknown role", `{"messages":[{"role":"robot","content":"x"}]}`, "messages", false},
		{"remote image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages", false},
		{"tool arguments not an object", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages", false},
		{"named tool missing", `{"tool_choice":{"type":"function","function":{"name":"g"}},"tools":[{"type":"function","function":{"name":"f"}}]}`, "tool_choice", false},
		{"required without tools", `{"tool_choice":"required"}`, "tool_choice", false},
		{"schema not an object", `{"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`, "tools[0].function.parameters", false},
		{"response format type", `{"response_format":{"type":"xml"}}`, "response_format", false},
		{"reasoning effort", `{"reasoning_effort":"extreme"}`, "reasoning_effort", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translateRequest(chatRequest(t, tc.body), sonnet)
			e := asError(t, err)
			if e.Class != providers.ClassInvalidRequest || e.Status != 400 || e.Param != tc.param ||
				(e.Code == "unsupported_parameter") != tc.unsupported || e.Message == "" {
				t.Errorf("got %+v", e)
			}
		})
	}
}

func TestToolChoiceNoneWithoutHistoryDropsTools(t *testing.T) {
	cr := translated(t, `{"model":"m","tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],
		"messages":[{"role":"user","content":"hi"}]}`)
	if cr.body.ToolConfig != nil {
		t.Errorf("tools sent with tool_choice none: %+v", cr.body.ToolConfig)
	}
	cr = translated(t, `{"model":"m","tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],
		"response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"}}},
		"messages":[{"role":"user","content":"hi"}]}`)
	tc := cr.body.ToolConfig
	if tc == nil || len(tc.Tools) != 1 || cr.jsonTool != "out" {
		t.Fatalf("json with none: %+v", tc)
	}
	if c := tc.ToolChoice; c == nil || c.Tool == nil || c.Tool.Name != "out" || c.Any != nil {
		t.Errorf("choice %+v", tc.ToolChoice)
	}
}

// TestReasoningEffort: reasoning_effort reaches each Bedrock model family through
// its own field (the table in reasoning.go).
func TestReasoningEffort(t *testing.T) {
	for _, c := range []struct {
		model, effort, want string // want: the fields sent, as JSON
	}{
		{sonnet, "high", `{"additionalModelRequestFields":{"thinking":{"budget_tokens":12288,"type":"enabled"}},"maxTokens":16384}`},
		{"us.anthropic.claude-opus-4-6-v1", "medium", `{"additionalModelRequestFields":{"thinking":{"type":"adaptive"}},"maxTokens":16384,"outputConfig":{"effort":"medium"}}`},
		{"us.amazon.nova-2-lite-v1:0", "xhigh", `{"additionalModelRequestFields":{"reasoningConfig":{"maxReasoningEffort":"high","type":"enabled"}}}`},
		{"openai.gpt-oss-120b-1:0", "minimal", `{"additionalModelRequestFields":{"reasoning_effort":"low"}}`},
		{"us.deepseek.r1-v1:0", "high", `{}`},
		{"arn:aws:bedrock:us-east-1:1:application-inference-profile/x", "low", `{"outputConfig":{"effort":"low"}}`},
		{sonnet, "none", `{}`},
	} {
		cr := translatedFor(t, c.model, `{"model":"m","reasoning_effort":"`+c.effort+`","messages":[{"role":"user","content":"hi"}]}`)
		got := map[string]any{}
		if f := cr.body.AdditionalModelRequestFields; f != nil {
			got["additionalModelRequestFields"] = f
		}
		if oc := cr.body.OutputConfig; oc != nil {
			got["outputConfig"] = oc
		}
		if ic := cr.body.InferenceConfig; ic != nil && ic.MaxTokens != nil {
			got["maxTokens"] = *ic.MaxTokens
		}
		b, _ := json.Marshal(got)
		if string(b) != c.want {
			t.Errorf("%s %s: %s, want %s", c.model, c.effort, b, c.want)
		}
	}
	for _, model := range []string{"us.amazon.nova-pro-v1:0", "meta.llama3-70b-instruct-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"} {
		_, err := translateRequest(chatRequest(t, `{"model":"m","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]}`), model)
		var e *providers.Error
		if !errors.As(err, &e) || e.Code != "unsupported_parameter" || e.Param != "reasoning_effort" {
			t.Errorf("%s cannot reason: %v", model, err)
		}
	}
}

// Claude's signed thinking goes back to Claude models only, first in its turn;
// another family gets the text without it.
func TestThinkingBlocksByFamily(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"},
		{"role":"assistant","content":"ok","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"cmVk"}]},
		{"role":"user","content":"more"}]}`
	for model, want := range map[string]int{sonnet: 3, "us.amazon.nova-2-lite-v1:0": 1, "meta.llama3-70b-instruct-v1:0": 1} {
		cr := translatedFor(t, model, body)
		a := cr.body.Messages[1].Content
		if len(a) != want || a[len(a)-1].Text != "ok" {
			t.Errorf("%s: %+v", model, a)
		}
		if want == 3 && (a[0].ReasoningContent.ReasoningText.Signature != "s" || string(a[1].ReasoningContent.RedactedContent) != "red") {
			t.Errorf("blocks %+v %+v", a[0].ReasoningContent, a[1].ReasoningContent)
		}
	}
}

// benchRequest is a typical agent turn: system prompt, history, two tools and a
// tool round trip.
const benchRequest = `{"model":"claude","temperature":0.3,"max_tokens":1024,"stream":true,
	"tools":[{"type":"function","function":{"name":"search","description":"Search the docs",
	  "parameters":{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}},"required":["query"]}}},
	  {"type":"function","function":{"name":"open","parameters":{"type":"object","properties":{"url":{"type":"string"}}}}}],
	"messages":[{"role":"system","content":"You are a helpful assistant for the Switchyard docs. Cite sources."},
	{"role":"user","content":"How do I configure failover between Azure and Bedrock?"},
	{"role":"assistant","content":"Let me search.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"search","arguments":"{\"query\":\"failover azure bedrock\",\"limit\":3}"}}]},
	{"role":"tool","tool_call_id":"call_1","content":"models[].targets lists providers; priority tiers fail over; breakers open after 5 failures."},
	{"role":"assistant","content":"Targets with a lower priority are preferred; when they fail, the next tier serves."},
	{"role":"user","content":"And how are rate limits handled?"}]}`

// BenchmarkTranslateRequest measures the client's parsed request to the Converse
// body as sent, its buffer back in the pool after each; BenchmarkTranslateRequestOracle the struct-based translation it
// replaced (a full decode, Go values, encoding/json), on the same requests.
func BenchmarkTranslateRequest(b *testing.B) {
	benchTranslate(b, func(r *providers.Request) error {
		cr, err := translateRequest(r, sonnet)
		if err == nil {
			cr.sent().release() // as send does once sent
		}
		return err
	})
}

func BenchmarkTranslateRequestOracle(b *testing.B) {
	benchTranslate(b, func(r *providers.Request) error {
		_, _, err := oracleTranslate(r, sonnet)
		return err
	})
}

func benchTranslate(b *testing.B, translate func(*providers.Request) error) {
	for _, c := range benchRequests(b) {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.r.Body)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if err := translate(c.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchCase struct {
	name string
	r    *providers.Request
}

func benchRequests(b *testing.B) []benchCase {
	small, err := providers.ParseChat([]byte(benchRequest))
	if err != nil {
		b.Fatal(err)
	}
	agent, err := providers.ParseChat(agentRequest(400 << 10))
	if err != nil {
		b.Fatal(err)
	}
	return []benchCase{{"small", small}, {"agent400k", agent}}
}

// reportCPU reports the CPU time of the whole process (user and system, the GC's
// included) per iteration, as cpu-ns/op, when the returned function runs: on a
// shared machine it varies less than the time per iteration.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() { b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op") }
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
