package providers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParseChat(t *testing.T) {
	body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_tokens":50,
	"max_completion_tokens":70,"n":1,"temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],
	"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],
	"metadata":{"tags":"a,b"}}`
	r, err := ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "gpt-4o" || !r.Stream || !r.IncludeUsage || r.MaxTokens != 70 || r.N != 1 ||
		r.Temperature == nil || *r.Temperature != 0 || !r.HasTools || !r.HasImages || r.PromptBytes == 0 ||
		string(r.Metadata) != `{"tags":"a,b"}` || r.Tags != "a,b" {
		t.Errorf("parsed %+v", r)
	}
	c, err := r.Canonical()
	if err != nil || len(c.Messages) != 1 || len(c.Messages[0].Content.Parts) != 2 || c.Tools[0].Function.Name != "f" {
		t.Errorf("canonical %+v, %v", c, err)
	}
}

// TestParseChatReadsLikeADecoder: values are read as encoding/json reads them.
func TestParseChatReadsLikeADecoder(t *testing.T) {
	r, err := ParseChat([]byte(`{"model":"caf\u00e9","messages":[{"role":"user","content":[{"type":"imag\u0065_url"}]}],
		"tools":[ ],"stream":null,"n":null,"stream_options":null,"metadata":{"tags":["not","a","string"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "café" || !r.HasImages || r.HasTools || r.Stream || r.Tags != "" {
		t.Errorf("parsed %+v", r)
	}
	for body, images := range map[string]bool{
		`[{"role":"user","content":"caf\u00e9 \u00e8"}]`:          false,
		`[{"role":"user","content":"\u0069mage_url"}]`:            true, // a text that is exactly image_url: conservative
		`[{"role":"user","content":[{"type":"image_url"}]}]`:      true,
		`[{"role":"user","content":"say \u0022hi\u0022 \u00e9"}]`: false,
	} {
		r, err := ParseChat([]byte(`{"model":"m","messages":` + body + `}`))
		if err != nil || r.HasImages != images {
			t.Errorf("%s: images %v (%v), want %v", body, r != nil && r.HasImages, err, images)
		}
	}
}

func TestParseChatRejects(t *testing.T) {
	cases := map[string]string{
		`{"model":"x","messages":[`:                                            "",
		`[]`:                                                                   "",
		`{"messages":[{"role":"user"}]}`:                                       "model",
		`{"model":"x"}`:                                                        "messages",
		`{"model":3,"messages":[]}`:                                            "model",
		`{"model":"x","messages":"hi"}`:                                        "messages",
		`{"model":"x","messages":null}`:                                        "messages",
		`{"model":"x","messages":[],"max_tokens":"a"}`:                         "max_tokens",
		`{"model":"x","messages":[],"max_tokens":1.5}`:                         "max_tokens",
		`{"model":"x","messages":[],"n":1e2}`:                                  "n",
		`{"model":"x","messages":[],"temperature":"hot"}`:                      "temperature",
		`{"model":"x","messages":[],"temperature":1e999}`:                      "temperature",
		`{"model":"x","messages":[],"stream":"true"}`:                          "stream",
		`{"model":"x","messages":[],"stream":1}`:                               "stream",
		`{"model":"x","messages":[],"tools":{}}`:                               "tools",
		`{"model":"x","messages":[],"metadata":"a"}`:                           "metadata",
		`{"model":"x","messages":[],"stream_options":5}`:                       "stream_options",
		`{"model":"x","messages":[],"stream_options":{"include_usage":"yes"}}`: "stream_options.include_usage",
	}
	for body, param := range cases {
		_, err := ParseChat([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Class != ClassInvalidRequest || e.Status != 400 || e.Param != param {
			t.Errorf("%s: got %#v, want a 400 on param %q", body, err, param)
		}
	}
}

// TestParseChatRefusesAmbiguousBodies: the smuggling shapes of issue 13 get a 400
// naming the member, with code ambiguous_parameter.
func TestParseChatRefusesAmbiguousBodies(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct{ body, param, says string }{
		{`{"model":"cheap","mod\u0065l":"expensive",` + msgs + `}`, "model", "Duplicate parameter 'model'"},
		{`{"mod\u0065l":"expensive",` + msgs + `}`, "model", `'mod\u0065l': it is an escaped spelling of 'model'`},
		{`{"model":"cheap","model":"expensive",` + msgs + `}`, "model", "Duplicate parameter 'model'"},
		{`{"model":"cheap","Model":"expensive",` + msgs + `}`, "Model", "did you mean 'model'"},
		{`{"model":"cheap","str\u0065am":true,` + msgs + `}`, "stream", "escaped spelling of 'stream'"},
		{`{"model":"cheap","ſtream":true,` + msgs + `}`, "ſtream", "did you mean 'stream'"},
		{`{"model":"cheap","max_tokens":10,"MAX_TOKENS":100000,` + msgs + `}`, "MAX_TOKENS", "did you mean 'max_tokens'"},
		{`{"model":"cheap","top_p":1,"top_p":0.1,` + msgs + `}`, "top_p", "Duplicate parameter 'top_p'"},
		{`{"model":"cheap","stream_options":{"include_usage":false,"Include_Usage":true},` + msgs + `}`,
			"stream_options.Include_Usage", "did you mean 'include_usage'"},
		{`{"model":"cheap","stream_options":{"include_usage":true,"include_usage":false},` + msgs + `}`,
			"stream_options.include_usage", "Duplicate"},
		{`{"model":"cheap","metadata":{"tags":"cheap","tags":"premium"},` + msgs + `}`, "metadata.tags", "Duplicate"},
		{`{"model":"cheap","metadata":{"t\u0061gs":"premium"},` + msgs + `}`, "metadata.tags", "escaped spelling of 'tags'"},
		{`{"model":"cheap","metadata":{"Tags":"premium"},` + msgs + `}`, "metadata.Tags", "did you mean 'tags'"},
		{`{"model":"cheap",` + msgs + `,"` + strings.Repeat("x", 100) + `":1,"` + strings.Repeat("x", 100) + `":2}`,
			strings.Repeat("x", 64) + "...", "Duplicate"},
	}
	for _, c := range cases {
		_, err := ParseChat([]byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Class != ClassInvalidRequest || e.Code != "ambiguous_parameter" ||
			e.Param != c.param || !strings.Contains(e.Message, c.says) {
			t.Errorf("%s:\n got %#v\nwant 400 ambiguous_parameter on %q saying %q", c.body, err, c.param, c.says)
		}
	}
	// Names the proxy does not read may differ in case: only repeats are refused.
	if _, err := ParseChat([]byte(`{"model":"m","Top_P":1,"top_p":1,` + msgs + `}`)); err != nil {
		t.Errorf("case variants of an unread member: %v", err)
	}
}

func TestCapMaxTokens(t *testing.T) {
	cases := []struct {
		body string
		want string // the members after the cap of 100
	}{
		{`{"model":"m","messages":[]}`, `{"model":"m","messages":[],"max_completion_tokens":100}`},
		{`{"model":"m","messages":[],"max_tokens":50}`, `{"model":"m","messages":[],"max_tokens":50}`},
		{`{"model":"m","messages":[],"max_tokens":500,"max_completion_tokens":50}`,
			`{"model":"m","messages":[],"max_tokens":100,"max_completion_tokens":100}`},
		{`{"model":"m","messages":[],"max_tokens":null}`, `{"model":"m","messages":[],"max_tokens":null,"max_completion_tokens":100}`},
	}
	for _, c := range cases {
		r, err := ParseChat([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		capped, err := r.CapMaxTokens(100)
		if err != nil || string(capped.Body) != c.want || capped.MaxTokens > 100 {
			t.Errorf("%s: got %s (%d, %v), want %s", c.body, capped.Body, capped.MaxTokens, err, c.want)
		}
	}
}

// TestNewRequestEncoderFailureIsLocal: a request the proxy built but could not
// encode says nothing about any target.
func TestNewRequestEncoderFailureIsLocal(t *testing.T) {
	nan := math.NaN()
	_, err := NewRequest(&ChatRequest{Model: "m", Messages: []Message{{Role: "user"}}, Temperature: &nan})
	if e := AsError(err); err == nil || e.Class != ClassLocal {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}],"tool_choice":{"type":"function","function":{"name":"f"}},"stop":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseChat(data)
		if err != nil {
			if e := AsError(err); e.Status != 400 {
				t.Fatalf("non-400 refusal %v", err)
			}
			return
		}
		_, _ = r.Canonical()
	})
}

// agentBody is a realistic large agent request: a system prompt, 20 tools with JSON
// schemas, and a long history of user turns, assistant tool calls and tool results
// (JSON documents as strings, so escapes everywhere), about 400 KB.
func agentBody(tb testing.TB) []byte {
	tb.Helper()
	type fn struct {
		Name        string         `json:"name"`
		Description string         `json:"description,omitempty"`
		Parameters  map[string]any `json:"parameters,omitempty"`
		Arguments   string         `json:"arguments,omitempty"`
	}
	type tool struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	type call struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	type msg struct {
		Role       string `json:"role"`
		Content    any    `json:"content"`
		ToolCalls  []call `json:"tool_calls,omitempty"`
		ToolCallID string `json:"tool_call_id,omitempty"`
	}
	var tools []tool
	for i := range 20 {
		tools = append(tools, tool{Type: "function", Function: fn{Name: fmt.Sprintf("tool_%d", i),
			Description: "Reads or edits part of the repository; returns a JSON document describing the result.",
			Parameters: map[string]any{"type": "object", "required": []string{"path"}, "properties": map[string]any{
				"path":  map[string]any{"type": "string", "description": "A path relative to the repository root."},
				"query": map[string]any{"type": "string"}, "limit": map[string]any{"type": "integer", "minimum": 1}}}}})
	}
	msgs := []msg{{Role: "system", Content: strings.Repeat("You are a careful coding agent. Follow the repository's conventions. ", 40)}}
	code := strings.Repeat("func main() {\n\tfmt.Println(\"héllo, wörld\")\n\tif err != nil {\n\t\treturn err\n\t}\n}\n", 18)
	for i := 0; ; i++ {
		args, _ := json.Marshal(map[string]any{"path": fmt.Sprintf("pkg/file_%d.go", i), "limit": 200})
		result, _ := json.Marshal(map[string]any{"path": fmt.Sprintf("pkg/file_%d.go", i), "content": code, "lines": 126})
		id := fmt.Sprintf("call_%08d", i)
		msgs = append(msgs,
			msg{Role: "user", Content: "Now look at the next file and tell me what it does, then fix the bug you find."},
			msg{Role: "assistant", Content: nil, ToolCalls: []call{{ID: id, Type: "function", Function: fn{Name: "tool_3", Arguments: string(args)}}}},
			msg{Role: "tool", ToolCallID: id, Content: string(result)},
			msg{Role: "assistant", Content: "The file prints a greeting; the error check returns from main, which does not compile. I fixed it."})
		body, err := json.Marshal(map[string]any{"model": "gpt-4o", "messages": msgs, "tools": tools, "temperature": 0.2,
			"max_completion_tokens": 4096, "stream": true, "stream_options": map[string]any{"include_usage": true},
			"metadata": map[string]string{"tags": "agent,batch"}})
		if err != nil {
			tb.Fatal(err)
		}
		if len(body) >= 400<<10 {
			return body
		}
	}
}

func BenchmarkParseChatAgent(b *testing.B) {
	body := agentBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseChat(body); err != nil {
			b.Fatal(err)
		}
	}
}
