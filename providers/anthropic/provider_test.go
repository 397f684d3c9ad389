package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

const testKey = "sk-ant-test-key"

func setup(t *testing.T, cfg Config) (*Provider, *fakes.Anthropic) {
	t.Helper()
	fake := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "claude", APIKey: testKey, ContextWindow: 1000})
	t.Cleanup(fake.Close)
	cfg.BaseURL = fake.BaseURL() + "/" // a trailing slash is tolerated
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.Client = providers.NewHTTPClient(time.Second)
	return New(cfg), fake
}

func call(t *testing.T, body string) *providers.Call {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &providers.Call{Request: r, Model: "claude-sonnet-4-5", Header: http.Header{"Traceparent": {"00-abc-def-01"}}}
}

func completion(t *testing.T, resp *providers.Response) providers.ChatResponse {
	t.Helper()
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestChatThroughFake(t *testing.T) {
	p, fake := setup(t, Config{Beta: []string{"beta-a", "beta-b"}, Headers: map[string]string{"X-Team": "search"}})
	resp, err := p.Chat(context.Background(), call(t, `{"model":"alias","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	doc := completion(t, resp)
	if got := doc.Choices[0].Message.Content.Text; got != "claude heard: Hello there" || doc.Choices[0].FinishReason != "stop" {
		t.Fatalf("choice %+v", doc.Choices[0])
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 4 || resp.Model != "claude-sonnet-4-5" {
		t.Fatalf("usage %+v model %q", resp.Usage, resp.Model)
	}
	rec := fake.Requests()[0]
	h := rec.Header
	if rec.Path != "/v1/messages" || h.Get("X-Api-Key") != testKey || h.Get("Anthropic-Version") != "2023-06-01" ||
		h.Get("Anthropic-Beta") != "beta-a,beta-b" || h.Get("X-Team") != "search" || h.Get("Traceparent") != "00-abc-def-01" ||
		h.Get("Content-Type") != "application/json" {
		t.Fatalf("upstream request %s with headers %v", rec.Path, h)
	}
	var sent messagesRequest
	if err := json.Unmarshal(rec.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.MaxTokens != DefaultMaxTokens || sent.System != "Be brief." || sent.Model != "claude-sonnet-4-5" {
		t.Fatalf("sent %+v", sent)
	}
}

// streamText reassembles a stream as a client would.
func streamText(t *testing.T, s providers.Stream) (text string, finish string, usage *providers.Usage, calls map[int][2]string) {
	t.Helper()
	defer s.Close()
	chunks, end := drain(s)
	if !errors.Is(end, io.EOF) {
		t.Fatalf("stream ended with %v", end)
	}
	calls = map[int][2]string{}
	var b strings.Builder
	for _, c := range chunks {
		if c.UsageOnly {
			usage = c.Usage
			continue
		}
		cc := chunkOf(t, c)
		d := cc.Choices[0].Delta
		if d.Content != nil {
			b.WriteString(*d.Content)
		}
		for _, tc := range d.ToolCalls {
			cur := calls[*tc.Index]
			if tc.Function.Name != "" {
				cur[0] = tc.Function.Name
			}
			cur[1] += tc.Function.Arguments
			calls[*tc.Index] = cur
		}
		if f := cc.Choices[0].FinishReason; f != nil {
			finish = *f
		}
	}
	return b.String(), finish, usage, calls
}

func TestChatStreamThroughFake(t *testing.T) {
	p, fake := setup(t, Config{})
	s, err := p.ChatStream(context.Background(), call(t, `{"model":"alias","stream":true,"messages":[{"role":"user","content":"Tell me a story"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	text, finish, usage, _ := streamText(t, s)
	if text != "claude heard: Tell me a story" || finish != "stop" || usage == nil || usage.CompletionTokens != 6 {
		t.Fatalf("text %q finish %q usage %+v", text, finish, usage)
	}
	if h := fake.Requests()[0].Header; h.Get("Accept") != "text/event-stream" {
		t.Fatalf("accept %q", h.Get("Accept"))
	}
}

// A tool round trip: the model calls two tools at once (streamed, with distinct
// OpenAI indexes), the client answers both, and the fake checks that every
// tool_result matches a tool_use of the turn before.
func TestToolRoundTripThroughFake(t *testing.T) {
	p, _ := setup(t, Config{})
	tools := `"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"query":{"type":"string"}}}}},{"type":"function","function":{"name":"clock"}}]`
	s, err := p.ChatStream(context.Background(), call(t, `{"model":"alias","stream":true,"tool_choice":"required",`+tools+`,"messages":[{"role":"user","content":"Oslo"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, finish, _, calls := streamText(t, s)
	if finish != "tool_calls" || len(calls) != 2 || calls[0] != [2]string{"weather", `{"query":"Oslo"}`} || calls[1][0] != "clock" {
		t.Fatalf("finish %q calls %v", finish, calls)
	}
	resp, err := p.Chat(context.Background(), call(t, `{"model":"alias","tool_choice":"required",`+tools+`,"messages":[{"role":"user","content":"Oslo"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	msg := completion(t, resp).Choices[0].Message
	raw, _ := json.Marshal(msg)
	next := `{"model":"alias",` + tools + `,"messages":[{"role":"user","content":"Oslo"},` + string(raw) + `,
		{"role":"tool","tool_call_id":"` + msg.ToolCalls[0].ID + `","content":"-3C"},
		{"role":"tool","tool_call_id":"` + msg.ToolCalls[1].ID + `","content":"09:00"}]}`
	resp, err = p.Chat(context.Background(), call(t, next))
	if err != nil {
		t.Fatal(err)
	}
	if got := completion(t, resp).Choices[0].Message.Content.Text; got != "Tool results: -3C; 09:00" {
		t.Fatalf("reply %q", got)
	}
	// A result for a call that was never made is Anthropic's 400, returned as is.
	bad := strings.Replace(next, `"content":"09:00"}`, `"content":"09:00"},{"role":"tool","tool_call_id":"toolu_unknown","content":"?"}`, 1)
	_, err = p.Chat(context.Background(), call(t, bad))
	var e *providers.Error
	if !errors.As(err, &e) || e.Class != providers.ClassInvalidRequest || !strings.Contains(e.Message, "unexpected `tool_use_id`") {
		t.Fatalf("err %v", err)
	}
}

func TestJSONModesThroughFake(t *testing.T) {
	p, _ := setup(t, Config{})
	for name, tc := range map[string]struct{ format, want string }{
		"json_object via the forced tool":    {`{"type":"json_object"}`, `{"echo":"colors"}`},
		"json_schema via structured outputs": {`{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"echo":{"type":"string"}},"required":["echo"],"additionalProperties":false}}}`, `{"echo":"colors"}`},
	} {
		t.Run(name, func(t *testing.T) {
			body := `{"model":"alias","response_format":` + tc.format + `,"messages":[{"role":"user","content":"colors"}]}`
			resp, err := p.Chat(context.Background(), call(t, body))
			if err != nil {
				t.Fatal(err)
			}
			c := completion(t, resp).Choices[0]
			if c.Message.Content.Text != tc.want || c.FinishReason != "stop" || len(c.Message.ToolCalls) != 0 {
				t.Fatalf("choice %+v", c)
			}
			s, err := p.ChatStream(context.Background(), call(t, strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)))
			if err != nil {
				t.Fatal(err)
			}
			text, finish, _, calls := streamText(t, s)
			if text != tc.want || finish != "stop" || len(calls) != 0 {
				t.Fatalf("streamed %q %q %v", text, finish, calls)
			}
		})
	}
}

func TestStopAndMaxTokensThroughFake(t *testing.T) {
	p, _ := setup(t, Config{})
	resp, err := p.Chat(context.Background(), call(t, `{"model":"alias","stop":["heard"],"messages":[{"role":"user","content":"one two three"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := completion(t, resp).Choices[0]; c.Message.Content.Text != "claude " || c.FinishReason != "stop" {
		t.Fatalf("stop sequence: %+v", c)
	}
	resp, err = p.Chat(context.Background(), call(t, `{"model":"alias","max_tokens":2,"messages":[{"role":"user","content":"one two three"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := completion(t, resp).Choices[0]; c.Message.Content.Text != "claude heard: " || c.FinishReason != "length" {
		t.Fatalf("max tokens: %+v", c)
	}
}

func TestSamplingRemovedVersionThroughFake(t *testing.T) {
	body := `{"model":"alias","temperature":0.3,"messages":[{"role":"user","content":"hi"}]}`
	p, _ := setup(t, Config{Version: "2026-10-21"})
	if _, err := p.Chat(context.Background(), call(t, body)); err != nil {
		t.Fatalf("API version 2026-10-21 refuses temperature; the provider must not send it: %v", err)
	}
	p, _ = setup(t, Config{})
	if _, err := p.Chat(context.Background(), call(t, body)); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsThroughFake(t *testing.T) {
	hello := `{"model":"alias","messages":[{"role":"user","content":"hello"}]}`
	cases := []struct {
		name  string
		fault fakes.Fault
		cfg   Config
		body  string
		class providers.Class
		retry time.Duration
	}{
		{"overloaded", fakes.Fault{Status: 529}, Config{}, hello, providers.ClassUnavailable, 0},
		{"rate limited with retry-after", fakes.Fault{Status: 429, RetryAfter: 5 * time.Second}, Config{}, hello, providers.ClassRateLimited, 5 * time.Second},
		{"internal error", fakes.Fault{Status: 500}, Config{}, hello, providers.ClassUnavailable, 0},
		{"billing", fakes.Fault{Status: 402}, Config{}, hello, providers.ClassQuota, 0},
		{"model not found", fakes.Fault{Status: 404, Message: "model: claude-nope"}, Config{}, hello, providers.ClassNotFound, 0},
		{"bad key", fakes.Fault{}, Config{APIKey: "sk-ant-wrong"}, hello, providers.ClassCredential, 0},
		{"prompt too long", fakes.Fault{}, Config{}, `{"model":"alias","messages":[{"role":"user","content":"` + strings.Repeat("long ", 1000) + `"}]}`, providers.ClassContextLength, 0},
		{"connection reset", fakes.Fault{Reset: true}, Config{}, hello, providers.ClassConnection, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, fake := setup(t, tc.cfg)
			fake.Fail(tc.fault)
			for _, stream := range []bool{false, true} {
				var err error
				c := call(t, tc.body)
				if stream {
					_, err = p.ChatStream(context.Background(), c)
				} else {
					_, err = p.Chat(context.Background(), c)
				}
				var e *providers.Error
				if !errors.As(err, &e) || e.Class != tc.class || e.RetryAfter != tc.retry {
					t.Fatalf("stream=%v: err %v (%#v), want class %v retry %v", stream, err, e, tc.class, tc.retry)
				}
			}
		})
	}
}

func TestStreamFaultsThroughFake(t *testing.T) {
	body := `{"model":"alias","stream":true,"messages":[{"role":"user","content":"a long enough story"}]}`
	cases := []struct {
		name      string
		fault     fakes.Fault
		class     providers.Class
		truncated bool
	}{
		{"overloaded mid-stream", fakes.Fault{Status: 529, CutAfter: 5}, providers.ClassUnavailable, false},
		{"cut mid-stream", fakes.Fault{CutAfter: 5}, providers.ClassConnection, true},
		{"cut right after headers", fakes.Fault{CutAfter: -1}, providers.ClassConnection, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, fake := setup(t, Config{})
			fake.Fail(tc.fault)
			s, err := p.ChatStream(context.Background(), call(t, body))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, end := drain(s)
			var e *providers.Error
			if !errors.As(end, &e) || e.Class != tc.class || errors.Is(end, providers.ErrTruncated) != tc.truncated {
				t.Fatalf("end %v, want class %v truncated %v", end, tc.class, tc.truncated)
			}
		})
	}
}

func TestHangAndLatencyThroughFake(t *testing.T) {
	p, fake := setup(t, Config{})
	fake.Fail(fakes.Fault{Hang: true, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Chat(ctx, call(t, `{"model":"alias","messages":[{"role":"user","content":"hi"}]}`))
	if e := providers.AsError(err); e == nil || e.Class != providers.ClassTimeout {
		t.Fatalf("hung upstream: %v", err)
	}
	fake.Fail(fakes.Fault{Latency: 50 * time.Millisecond, ChunkDelay: 5 * time.Millisecond, Times: 1})
	start := time.Now()
	s, err := p.ChatStream(context.Background(), call(t, `{"model":"alias","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if text, _, _, _ := streamText(t, s); text != "claude heard: hi" || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("slow stream: %q after %v", text, time.Since(start))
	}
}

func TestStreamRejectsNonEventStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message"}`)
	}))
	defer srv.Close()
	p := New(Config{BaseURL: srv.URL, APIKey: "k", Client: srv.Client()})
	_, err := p.ChatStream(context.Background(), call(t, `{"model":"alias","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if e := providers.AsError(err); e == nil || e.Class != providers.ClassDecode {
		t.Fatalf("a JSON answer to a stream request: %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	p := New(Config{BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	_, err := p.Chat(context.Background(), call(t, `{"model":"alias","messages":[{"role":"user","content":"hi"}]}`))
	if e := providers.AsError(err); e == nil || e.Class != providers.ClassConnection {
		t.Fatalf("refused connection: %v", err)
	}
}
