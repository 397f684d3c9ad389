package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

func TestRewriteChat(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"model":"alias","messages":[],"x_custom":{"kept":true}}`,
			`{"model":"gpt-4o-2024","messages":[],"x_custom":{"kept":true}}`},
		{`{"model":"alias","messages":[],"stream":true}`,
			`{"model":"gpt-4o-2024","messages":[],"stream":true,"stream_options":{"include_usage":true}}`},
		{`{"model":"alias","messages":[],"stream":true,"stream_options":{"include_obfuscation":false}}`,
			`{"model":"gpt-4o-2024","messages":[],"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true}}`},
		{`{"model":"alias","messages":[],"stream":true,"stream_options":{"include_usage":true}}`,
			`{"model":"gpt-4o-2024","messages":[],"stream":true,"stream_options":{"include_usage":true}}`},
	}
	for _, c := range cases {
		r, err := providers.ParseChat([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := rewriteChat(r, "gpt-4o-2024")
		if err != nil || string(got.Bytes()) != c.want {
			t.Errorf("rewrite %s\n got %s (%v)\nwant %s", c.in, got.Bytes(), err, c.want)
		}
	}
}

func TestParseChunk(t *testing.T) {
	c, err := parseChunk([]byte(`{"id":"1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}`))
	if err != nil || c.Usage != nil || c.UsageOnly {
		t.Errorf("content chunk: %+v %v", c, err)
	}
	c, err = parseChunk([]byte(`{"id":"1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}}}`))
	if err != nil || c.Usage == nil || !c.UsageOnly || c.Usage.CachedTokens() != 1 {
		t.Errorf("usage chunk: %+v %v", c, err)
	}
	_, err = parseChunk([]byte(`{"error":{"message":"The server had an error","type":"server_error"}}`))
	if e, ok := err.(*providers.Error); !ok || e.Class != providers.ClassUnavailable {
		t.Errorf("error event: %v", err)
	}
	if _, err := parseChunk([]byte(`[DONE]`)); err == nil || err.Error() != "EOF" {
		t.Errorf("[DONE]: %v", err)
	}
}

func TestParseError(t *testing.T) {
	cases := []struct {
		status int
		body   string
		class  providers.Class
		code   string
	}{
		{429, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`, providers.ClassRateLimited, "rate_limit_exceeded"},
		{400, `{"error":{"code":"content_filter","message":"filtered","param":"prompt","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}`, providers.ClassContentFilter, "content_filter"},
		{400, `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","code":400}`, providers.ClassContextLength, "context_length_exceeded"},
		{404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`, providers.ClassNotFound, "DeploymentNotFound"},
		{502, `<html>Bad Gateway</html>`, providers.ClassUnavailable, ""},
		{401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key"}}`, providers.ClassCredential, "401"},
	}
	for _, c := range cases {
		e := parseError(c.status, []byte(c.body))
		if e.Class != c.class || e.Code != c.code || e.Message == "" {
			t.Errorf("%d %s: class %s code %q msg %q", c.status, c.body, e.Class, e.Code, e.Message)
		}
	}
}

func FuzzParseChunk(f *testing.F) {
	f.Add([]byte(`{"id":"1","choices":[],"usage":{"prompt_tokens":3}}`))
	f.Add([]byte(`{"error":{"message":"x","code":5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseChunk(data)
		if err == nil && c.Usage != nil {
			if _, err := json.Marshal(c.Usage); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"message":"x","code":"content_filter","innererror":{"code":"ResponsibleAIPolicyViolation"}}}`))
	f.Add(500, []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if e := parseError(status, body); e.Class == 0 || e.Message == "" {
			t.Fatalf("unclassified: %+v", e)
		}
	})
}

func BenchmarkRewriteChat(b *testing.B) {
	r, _ := providers.ParseChat([]byte(`{"model":"alias","stream":true,"messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Hello there, how are you doing today?"}]}`))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = rewriteChat(r, "gpt-4o-2024-08-06")
	}
}

func BenchmarkParseChunk(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"hello "},"finish_reason":null}],"usage":null}`)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = parseChunk(data)
	}
}

// agentRequest is an agent-sized chat request (~400 KB): a long history of tool
// calls whose results are source files, full of escapes; the model is last, as some
// SDKs write it, so that locating it takes a whole scan.
func agentRequest(tb testing.TB) []byte {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	code := strings.Repeat("func main() {\n\tfmt.Println(\"héllo, wörld\")\n\tif err != nil {\n\t\treturn err\n\t}\n}\n", 18)
	var msgs []msg
	for len(msgs) < 300 {
		msgs = append(msgs, msg{"user", "Look at the next file and fix the bug you find."}, msg{"tool", code})
	}
	body, err := json.Marshal(map[string]any{"messages": msgs, "stream": true, "z_model_last": 1})
	if err != nil {
		tb.Fatal(err)
	}
	return append(body[:len(body)-1], `,"model":"alias"}`...)
}

// BenchmarkParseRewriteAgent is what the pass-through path does to a 400 KB request
// body: parse it (ParseChat) and rewrite it for the target (rewriteChat).
func BenchmarkParseRewriteAgent(b *testing.B) {
	body := agentRequest(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := providers.ParseChat(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rewriteChat(r, "gpt-4o-2024-08-06"); err != nil {
			b.Fatal(err)
		}
	}
}
