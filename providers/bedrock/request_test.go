package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func translated(t *testing.T, body string) *converseRequest {
	t.Helper()
	var req providers.ChatRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	cr, err := translateRequest(&req, sonnet)
	if err != nil {
		t.Fatal(err)
	}
	return cr
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
			var req providers.ChatRequest
			if err := json.Unmarshal([]byte(tc.body), &req); err != nil {
				t.Fatal(err)
			}
			if req.Messages == nil {
				req.Messages = []providers.Message{{Role: "user", Content: providers.TextContent("hi")}}
			}
			_, err := translateRequest(&req, sonnet)
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

func TestReasoningEffort(t *testing.T) {
	for in, want := range map[string]string{"minimal": "low", "low": "low", "medium": "medium", "high": "high", "none": ""} {
		cr := translated(t, `{"model":"m","reasoning_effort":"`+in+`","messages":[{"role":"user","content":"hi"}]}`)
		got := ""
		if cr.body.OutputConfig != nil {
			got = cr.body.OutputConfig.Effort
		}
		if got != want {
			t.Errorf("%s → %q, want %q", in, got, want)
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

// BenchmarkTranslateRequest measures the canonical request to the Converse body
// as sent: translation and encoding.
func BenchmarkTranslateRequest(b *testing.B) {
	r, err := providers.ParseChat([]byte(benchRequest))
	if err != nil {
		b.Fatal(err)
	}
	req, err := r.Canonical()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cr, err := translateRequest(req, sonnet)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cr.encode(); err != nil {
			b.Fatal(err)
		}
	}
}
