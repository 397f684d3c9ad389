package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func indent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func canonical(t testing.TB, body string) *providers.ChatRequest {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var defaultOpts = requestOptions{maxTokens: DefaultMaxTokens}

// TestTranslateRequestGolden: each testdata/<case>.chat.json (what an OpenAI client
// sends) becomes testdata/<case>.req.json (what Anthropic receives).
func TestTranslateRequestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.chat.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".chat.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			c := canonical(t, string(raw))
			body, _, err := translateRequest(c, "claude-sonnet-4-5", c.Stream, defaultOpts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".req.json", indent(t, body))
		})
	}
}

// decoded is the translated request read back, for assertions on its meaning.
func translated(t *testing.T, body string, opts requestOptions) (messagesRequest, translation) {
	t.Helper()
	c := canonical(t, body)
	out, tr, err := translateRequest(c, "claude-x", false, opts)
	if err != nil {
		t.Fatal(err)
	}
	var req messagesRequest
	if err := json.Unmarshal(out, &req); err != nil {
		t.Fatal(err)
	}
	return req, tr
}

func TestTranslateRequestTurnsAlternate(t *testing.T) {
	raw, err := os.ReadFile("testdata/tool_roundtrip.chat.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := translated(t, string(raw), defaultOpts)
	roles := []string{}
	for _, m := range req.Messages {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(roles, ","); got != "user,assistant,user" {
		t.Fatalf("roles %s, want user,assistant,user", got)
	}
	last := req.Messages[2].Content
	if len(last) != 3 || last[0].Type != "tool_result" || last[1].Type != "tool_result" || last[2].Type != "text" {
		t.Fatalf("the turn after tool use must open with both results, then the question: %+v", last)
	}
	// The id another provider minted with characters Anthropic refuses is rewritten
	// the same way in the tool_use and in its tool_result.
	use := req.Messages[1].Content[1].ID
	if use == "call|2.x" || !strings.HasPrefix(use, "call_2_x_") || last[1].ToolUseID != use {
		t.Fatalf("tool_use id %q, tool_result id %q", use, last[1].ToolUseID)
	}
}

func TestTranslateRequestVersionWithoutSampling(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":0.5}`
	req, _ := translated(t, body, requestOptions{maxTokens: 10, noSampling: true})
	if req.Temperature != nil || req.TopP != nil {
		t.Fatalf("API version 2026-10-21 takes no sampling parameters; sent temperature %v top_p %v", req.Temperature, req.TopP)
	}
	if req.MaxTokens != 10 {
		t.Fatalf("max_tokens %d, want the configured default 10", req.MaxTokens)
	}
	req, _ = translated(t, body, defaultOpts)
	if req.Temperature == nil || *req.Temperature != 0.2 || req.TopP == nil || *req.TopP != 0.5 {
		t.Fatalf("2023-06-01 keeps temperature and top_p: %v %v", req.Temperature, req.TopP)
	}
}

func TestTranslateRequestJSONModes(t *testing.T) {
	cases := []struct {
		name, body string
		wantTool   bool
		wantChoice string
	}{
		{"object alone forces the json tool", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`, true, "tool"},
		{"object with tools lets the model choose", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"}}`, true, "any"},
		{"object with tool_choice none forces the json tool", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","response_format":{"type":"json_object"}}`, true, "tool"},
		{"object with required answers with tool calls", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","response_format":{"type":"json_object"}}`, false, "any"},
		{"text is no JSON mode", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}`, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, tr := translated(t, tc.body, defaultOpts)
			if tr.jsonTool != tc.wantTool {
				t.Fatalf("jsonTool %v, want %v", tr.jsonTool, tc.wantTool)
			}
			choice := ""
			if req.ToolChoice != nil {
				choice = req.ToolChoice.Type
			}
			if choice != tc.wantChoice {
				t.Fatalf("tool_choice %q, want %q", choice, tc.wantChoice)
			}
			hasJSONTool := false
			for _, tl := range req.Tools {
				hasJSONTool = hasJSONTool || tl.Name == jsonToolName
			}
			if hasJSONTool != tc.wantTool {
				t.Fatalf("json_response tool offered: %v, want %v", hasJSONTool, tc.wantTool)
			}
		})
	}
}

func TestTranslateRequestRejects(t *testing.T) {
	user := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, body, param, code string
	}{
		{"n above 1", `{"model":"m",` + user + `,"n":2}`, "n", "unsupported_parameter"},
		{"logprobs", `{"model":"m",` + user + `,"logprobs":true}`, "logprobs", "unsupported_parameter"},
		{"top_logprobs", `{"model":"m",` + user + `,"top_logprobs":2}`, "top_logprobs", "unsupported_parameter"},
		{"remote image URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, "messages", ""},
		{"audio input", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages[0].content[0].type", "unsupported_parameter"},
		{"arguments not JSON", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{city: Paris"}}]}]}`, "messages[0].tool_calls[0].function.arguments", ""},
		{"arguments not an object", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments", ""},
		{"tool result without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", ""},
		{"function role", `{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}`, "messages[0].role", "unsupported_parameter"},
		{"unknown role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", ""},
		{"reserved tool name", `{"model":"m",` + user + `,"tools":[{"type":"function","function":{"name":"json_response"}}]}`, "tools[0].function.name", "unsupported_parameter"},
		{"json_schema without schema", `{"model":"m",` + user + `,"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, "response_format", ""},
		{"unknown response format", `{"model":"m",` + user + `,"response_format":{"type":"yaml"}}`, "response_format", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := canonical(t, tc.body)
			_, _, err := translateRequest(c, "claude-x", false, defaultOpts)
			var e *providers.Error
			if !errors.As(err, &e) {
				t.Fatalf("want a 400 *providers.Error, got %v", err)
			}
			if e.Class != providers.ClassInvalidRequest || e.Status != 400 || e.Param != tc.param || e.Code != tc.code || e.Message == "" {
				t.Fatalf("got class %v status %d param %q code %q message %q; want invalid_request 400 param %q code %q",
					e.Class, e.Status, e.Param, e.Code, e.Message, tc.param, tc.code)
			}
		})
	}
}

func TestToolID(t *testing.T) {
	for _, id := range []string{"call_abc-123", "toolu_01A09q90qw90lq917835lq9"} {
		if got := toolID(id); got != id {
			t.Errorf("valid id %q rewritten to %q", id, got)
		}
	}
	a, b := toolID("a.b"), toolID("a|b")
	if a == b {
		t.Errorf("ids that differ only in refused characters collide: %q", a)
	}
	for _, id := range []string{a, b, toolID(""), toolID("ü")} {
		if id == "" {
			t.Fatal("empty id")
		}
		for i := 0; i < len(id); i++ {
			if !isIDByte(id[i]) {
				t.Errorf("id %q holds %q, which Anthropic refuses", id, id[i])
			}
		}
	}
}

func BenchmarkTranslateRequest(b *testing.B) {
	raw, err := os.ReadFile("testdata/tool_roundtrip.chat.json")
	if err != nil {
		b.Fatal(err)
	}
	c := canonical(b, string(raw))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := translateRequest(c, "claude-sonnet-4-5", false, defaultOpts); err != nil {
			b.Fatal(err)
		}
	}
}
