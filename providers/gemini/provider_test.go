package gemini_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/auth"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/providers/gemini"
)

const model = "gemini-2.5-flash"

func newAPIKeyProvider(t *testing.T, f *fakes.Gemini, key string) *gemini.Provider {
	t.Helper()
	p, err := gemini.New(gemini.Config{BaseURL: f.BaseURL(), APIKey: key, Client: providers.NewHTTPClient(time.Second),
		Headers: map[string]string{"X-Team": "search"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func call(t *testing.T, body string) *providers.Call {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &providers.Call{Request: r, Model: model, Header: http.Header{"Traceparent": {"00-abc-def-01"}}}
}

func completion(t *testing.T, resp *providers.Response) providers.ChatResponse {
	t.Helper()
	var c providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &c); err != nil {
		t.Fatalf("%v: %s", err, resp.Body)
	}
	return c
}

// collect reads a stream to its end: the text, the tool calls, the finish reason,
// the usage chunk and the final error (io.EOF for a complete stream).
type collected struct {
	text   string
	calls  []providers.ToolCall
	finish string
	usage  *providers.Usage
	end    error
}

func collect(t *testing.T, s providers.Stream) collected {
	t.Helper()
	defer s.Close()
	var c collected
	var text strings.Builder
	for {
		ch, err := s.Recv()
		if err != nil {
			c.end = err
			c.text = text.String()
			return c
		}
		if ch.UsageOnly {
			c.usage = ch.Usage
			continue
		}
		var chunk providers.ChatChunk
		if err := json.Unmarshal(ch.Data, &chunk); err != nil {
			t.Fatalf("%v: %s", err, ch.Data)
		}
		d := chunk.Choices[0].Delta
		if d.Content != nil {
			text.WriteString(*d.Content)
		}
		for _, tc := range d.ToolCalls {
			if tc.ID != "" {
				c.calls = append(c.calls, tc)
			} else {
				c.calls[*tc.Index].Function.Arguments += tc.Function.Arguments
			}
		}
		if f := chunk.Choices[0].FinishReason; f != nil {
			c.finish = *f
		}
	}
}

func TestChatThroughFake(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Name: "gemini-eu", APIKey: "key-1"})
	defer f.Close()
	p := newAPIKeyProvider(t, f, "key-1")

	resp, err := p.Chat(context.Background(), call(t, `{"model":"alias","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := completion(t, resp)
	if got := c.Choices[0].Message.Content.AllText(); got != "gemini-eu heard: hello there" {
		t.Errorf("content = %q", got)
	}
	if c.Choices[0].FinishReason != "stop" || resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 4 || resp.Model != model {
		t.Errorf("finish %q usage %+v model %q", c.Choices[0].FinishReason, resp.Usage, resp.Model)
	}
	rec := f.Requests()[0]
	if rec.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || rec.Header.Get("X-Goog-Api-Key") != "key-1" ||
		rec.Header.Get("Authorization") != "" || rec.Header.Get("X-Team") != "search" || rec.Header.Get("Traceparent") == "" {
		t.Errorf("upstream request: %s %v", rec.Path, rec.Header)
	}
}

func TestChatStreamThroughFake(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "key-1"})
	defer f.Close()
	p := newAPIKeyProvider(t, f, "key-1")

	s, err := p.ChatStream(context.Background(), call(t, `{"model":"alias","stream":true,"messages":[{"role":"user","content":"tell me a story"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s)
	if got.end != io.EOF || got.text != "gemini heard: tell me a story" || got.finish != "stop" {
		t.Fatalf("stream = %+v", got)
	}
	if got.usage == nil || got.usage.CompletionTokens != 6 || got.usage.TotalTokens != got.usage.PromptTokens+6 {
		t.Errorf("usage = %+v", got.usage)
	}
	rec := f.Requests()[0]
	if rec.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || rec.Query != "alt=sse" {
		t.Errorf("upstream request: %s?%s", rec.Path, rec.Query)
	}
}

// TestToolRoundTrip: the model calls two tools in parallel; the client sends the
// results back with the ids it got; Gemini (the fake validates the function
// response count and Gemini 3's thought signature) answers from the results.
func TestToolRoundTrip(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "k"})
	defer f.Close()
	p := newAPIKeyProvider(t, f, "k")
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"query":{"type":"string"}}}}},{"type":"function","function":{"name":"get_time"}}]`

	for _, streamed := range []bool{false, true} {
		first := `{"model":"a","messages":[{"role":"user","content":"Paris"}],` + tools + `,"tool_choice":"required"}`
		var calls []providers.ToolCall
		if streamed {
			s, err := p.ChatStream(context.Background(), call(t, first))
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, s)
			if got.end != io.EOF || got.finish != "tool_calls" {
				t.Fatalf("stream = %+v", got)
			}
			calls = got.calls
		} else {
			resp, err := p.Chat(context.Background(), call(t, first))
			if err != nil {
				t.Fatal(err)
			}
			c := completion(t, resp)
			if c.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("finish = %q", c.Choices[0].FinishReason)
			}
			calls = c.Choices[0].Message.ToolCalls
		}
		if len(calls) != 2 || calls[0].Function.Name != "get_weather" || calls[1].Function.Name != "get_time" ||
			calls[0].Function.Arguments != `{"query":"Paris"}` || calls[0].ID == calls[1].ID {
			t.Fatalf("streamed=%v calls = %+v", streamed, calls)
		}
		assistant, _ := json.Marshal(providers.Message{Role: "assistant", Content: providers.Content{Null: true}, ToolCalls: calls})
		second := `{"model":"a","messages":[{"role":"user","content":"Paris"},` + string(assistant) +
			`,{"role":"tool","tool_call_id":"` + calls[1].ID + `","content":"9:00"}` +
			`,{"role":"tool","tool_call_id":"` + calls[0].ID + `","content":"{\"temp\":18}"}],` + tools + `}`
		resp, err := p.Chat(context.Background(), call(t, second))
		if err != nil {
			t.Fatalf("streamed=%v: second turn: %v", streamed, err)
		}
		if got := completion(t, resp).Choices[0].Message.Content.AllText(); got != `Tool results: 9:00; {"temp":18}` {
			t.Errorf("streamed=%v: answer = %q", streamed, got)
		}
	}
}

func TestChatFeatures(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "k"})
	defer f.Close()
	p := newAPIKeyProvider(t, f, "k")
	cases := []struct {
		name, body, content, finish string
	}{
		{"images", `{"model":"a","messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`, "gemini heard: look (and saw 1 image(s))", "stop"},
		{"json mode", `{"model":"a","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`, `{"echo":"x"}`, "stop"},
		{"json schema", `{"model":"a","messages":[{"role":"user","content":"y"}],"response_format":{"type":"json_schema","json_schema":{"name":"e","schema":{"type":"object","properties":{"echo":{"type":"string"}}}}}}`, `{"echo":"y"}`, "stop"},
		{"max tokens", `{"model":"a","messages":[{"role":"user","content":"one two three"}],"max_tokens":2}`, "gemini heard: ", "length"},
		{"stop sequence", `{"model":"a","messages":[{"role":"user","content":"one two three"}],"stop":"two"}`, "gemini heard: one ", "stop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := p.Chat(context.Background(), call(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			c := completion(t, resp)
			if got := c.Choices[0].Message.Content.AllText(); got != tc.content || c.Choices[0].FinishReason != tc.finish {
				t.Errorf("got %q %q, want %q %q", got, c.Choices[0].FinishReason, tc.content, tc.finish)
			}
		})
	}
	t.Run("n=2 gives two choices", func(t *testing.T) {
		resp, err := p.Chat(context.Background(), call(t, `{"model":"a","messages":[{"role":"user","content":"x"}],"n":2}`))
		if err != nil {
			t.Fatal(err)
		}
		if c := completion(t, resp); len(c.Choices) != 2 || c.Choices[1].Index != 1 {
			t.Errorf("choices = %+v", c.Choices)
		}
	})
}

// TestErrorClasses: each upstream failure reaches the executor as the class that
// decides failover.
func TestErrorClasses(t *testing.T) {
	cases := []struct {
		name  string
		fault *fakes.Fault
		opts  fakes.GeminiOptions
		key   string
		body  string
		class providers.Class
		retry time.Duration
	}{
		{name: "429 with RetryInfo", fault: &fakes.Fault{Status: 429, RetryAfter: 5 * time.Second}, class: providers.ClassRateLimited, retry: 5 * time.Second},
		{name: "503 overloaded", fault: &fakes.Fault{Status: 503}, class: providers.ClassUnavailable},
		{name: "500 internal", fault: &fakes.Fault{Status: 500}, class: providers.ClassUnavailable},
		{name: "504 deadline", fault: &fakes.Fault{Status: 504}, class: providers.ClassTimeout},
		{name: "connection reset", fault: &fakes.Fault{Reset: true}, class: providers.ClassConnection},
		{name: "wrong key", key: "wrong", class: providers.ClassCredential},
		{name: "unknown model", opts: fakes.GeminiOptions{Models: []string{"gemini-2.5-pro"}}, class: providers.ClassNotFound},
		{name: "prompt too long", opts: fakes.GeminiOptions{ContextWindow: 5}, body: strings.Repeat("long words ", 20), class: providers.ClassContextLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.APIKey = "right"
			f := fakes.NewGemini(tc.opts)
			defer f.Close()
			if tc.fault != nil {
				f.Fail(*tc.fault)
			}
			key := tc.key
			if key == "" {
				key = "right"
			}
			p := newAPIKeyProvider(t, f, key)
			body := `{"model":"a","messages":[{"role":"user","content":"hi ` + tc.body + `"}]}`
			for _, streamed := range []bool{false, true} {
				var err error
				if streamed {
					_, err = p.ChatStream(context.Background(), call(t, body))
				} else {
					_, err = p.Chat(context.Background(), call(t, body))
				}
				e := providers.AsError(err)
				if e == nil || e.Class != tc.class || e.RetryAfter != tc.retry {
					t.Errorf("streamed=%v: err = %v (retry %v), want class %v retry %v", streamed, err, e.RetryAfter, tc.class, tc.retry)
				}
			}
		})
	}

	t.Run("hang ends with the caller's deadline as a timeout", func(t *testing.T) {
		f := fakes.NewGemini(fakes.GeminiOptions{})
		defer f.Close()
		f.Fail(fakes.Fault{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := newAPIKeyProvider(t, f, "k").Chat(ctx, call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`))
		if e := providers.AsError(err); e.Class != providers.ClassTimeout {
			t.Errorf("err = %v", err)
		}
	})
}

func TestStreamFaults(t *testing.T) {
	body := `{"model":"a","stream":true,"messages":[{"role":"user","content":"one two three four five"}]}`
	cases := []struct {
		name      string
		fault     fakes.Fault
		class     providers.Class
		truncated bool
	}{
		{"cut after two events", fakes.Fault{CutAfter: 2}, providers.ClassConnection, true},
		{"cut right after headers", fakes.Fault{CutAfter: -1}, providers.ClassConnection, true},
		{"error event mid-stream", fakes.Fault{CutAfter: 2, Message: "An internal error has occurred."}, providers.ClassUnavailable, false},
		{"rate limit mid-stream", fakes.Fault{CutAfter: 1, Status: 429, Message: "Resource has been exhausted (e.g. check quota)."}, providers.ClassRateLimited, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fakes.NewGemini(fakes.GeminiOptions{})
			defer f.Close()
			f.Fail(tc.fault)
			s, err := newAPIKeyProvider(t, f, "k").ChatStream(context.Background(), call(t, body))
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, s)
			e := providers.AsError(got.end)
			if e == nil || e.Class != tc.class || errors.Is(got.end, providers.ErrTruncated) != tc.truncated {
				t.Errorf("end = %v, want class %v truncated %v", got.end, tc.class, tc.truncated)
			}
		})
	}

	t.Run("chunk delay paces events", func(t *testing.T) {
		f := fakes.NewGemini(fakes.GeminiOptions{})
		defer f.Close()
		f.Fail(fakes.Fault{ChunkDelay: 20 * time.Millisecond})
		start := time.Now()
		s, err := newAPIKeyProvider(t, f, "k").ChatStream(context.Background(), call(t, body))
		if err != nil {
			t.Fatal(err)
		}
		if got := collect(t, s); got.end != io.EOF || time.Since(start) < 100*time.Millisecond {
			t.Errorf("end %v after %v", got.end, time.Since(start))
		}
	})
}

// countingTokens is a fake token source: it counts the tokens it mints.
type countingTokens struct {
	calls atomic.Int64
	value string
	err   error
}

func (c *countingTokens) Token(context.Context) (*auth.Token, error) {
	c.calls.Add(1)
	if c.err != nil {
		return nil, c.err
	}
	return &auth.Token{Value: c.value, Type: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func newVertex(t *testing.T, f *fakes.Gemini, tokens auth.TokenProvider) *gemini.Provider {
	t.Helper()
	p, err := gemini.New(gemini.Config{BaseURL: f.BaseURL(), Tokens: tokens, Project: "my-proj", Region: "europe-west4",
		Client: providers.NewHTTPClient(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVertexAI(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Token: "ya29.good"})
	defer f.Close()

	t.Run("project path and bearer token, tokens cached by the source", func(t *testing.T) {
		minted := &countingTokens{value: "ya29.good"}
		p := newVertex(t, f, auth.NewCachedTokenProvider(minted, nil))
		for range 3 {
			if _, err := p.Chat(context.Background(), call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
				t.Fatal(err)
			}
		}
		s, err := p.ChatStream(context.Background(), call(t, `{"model":"a","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := collect(t, s); got.end != io.EOF || got.text != "gemini heard: hi" {
			t.Errorf("stream = %+v", got)
		}
		if n := minted.calls.Load(); n != 1 {
			t.Errorf("%d tokens minted for 4 requests", n)
		}
		reqs := f.Requests()
		const path = "/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:"
		if reqs[0].Path != path+"generateContent" || reqs[3].Path != path+"streamGenerateContent" || reqs[3].Query != "alt=sse" {
			t.Errorf("paths %s, %s?%s", reqs[0].Path, reqs[3].Path, reqs[3].Query)
		}
		if reqs[0].Header.Get("Authorization") != "Bearer ya29.good" || reqs[0].Header.Get("X-Goog-Api-Key") != "" {
			t.Errorf("headers %v", reqs[0].Header)
		}
	})

	t.Run("a rejected token is a credential failure", func(t *testing.T) {
		_, err := newVertex(t, f, &countingTokens{value: "ya29.expired"}).Chat(context.Background(), call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`))
		if e := providers.AsError(err); e.Class != providers.ClassCredential || e.Status != 401 {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("no token, no request", func(t *testing.T) {
		before := len(f.Requests())
		_, err := newVertex(t, f, &countingTokens{err: errors.New("metadata server unreachable")}).Chat(context.Background(), call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`))
		if e := providers.AsError(err); e.Class != providers.ClassCredential || len(f.Requests()) != before {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("default endpoints", func(t *testing.T) {
		if gemini.VertexBaseURL("us-central1") != "https://us-central1-aiplatform.googleapis.com" || gemini.VertexBaseURL("global") != "https://aiplatform.googleapis.com" {
			t.Error(gemini.VertexBaseURL("global"))
		}
		if _, err := gemini.New(gemini.Config{Tokens: &countingTokens{}}); err == nil {
			t.Error("Vertex AI without project and region accepted")
		}
		if _, err := gemini.New(gemini.Config{}); err == nil {
			t.Error("Gemini API without a key accepted")
		}
	})
}

func TestEmbeddings(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "k", Token: "tok"})
	defer f.Close()
	embed := func(t *testing.T, p providers.Embedder, body string) (providers.EmbeddingResponse, *providers.Response) {
		t.Helper()
		resp, err := p.Embed(context.Background(), &providers.EmbedCall{Body: []byte(body), Model: "gemini-embedding-001"})
		if err != nil {
			t.Fatal(err)
		}
		var out providers.EmbeddingResponse
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			t.Fatal(err)
		}
		return out, resp
	}
	want := fakes.Vector("beta", 4)

	t.Run("Gemini API batchEmbedContents", func(t *testing.T) {
		out, resp := embed(t, newAPIKeyProvider(t, f, "k"), `{"model":"e","input":["alpha","beta"],"dimensions":4}`)
		if len(out.Data) != 2 || out.Data[1].Index != 1 || resp.Usage.PromptTokens != 3 {
			t.Fatalf("out = %+v usage %+v", out, resp.Usage)
		}
		got := out.Data[1].Embedding.([]any)
		if len(got) != 4 || float32(got[0].(float64)) != want[0] {
			t.Errorf("vector = %v, want %v", got, want)
		}
		if rec := f.Requests()[len(f.Requests())-1]; rec.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
			t.Errorf("path %s", rec.Path)
		}
	})

	t.Run("Vertex AI predict, base64", func(t *testing.T) {
		out, resp := embed(t, newVertex(t, f, &countingTokens{value: "tok"}), `{"model":"e","input":"beta","dimensions":4,"encoding_format":"base64"}`)
		if len(out.Data) != 1 || resp.Usage.PromptTokens != 2 {
			t.Fatalf("out = %+v usage %+v", out, resp.Usage)
		}
		if _, ok := out.Data[0].Embedding.(string); !ok {
			t.Errorf("embedding = %T", out.Data[0].Embedding)
		}
		if rec := f.Requests()[len(f.Requests())-1]; !strings.HasSuffix(rec.Path, "/publishers/google/models/gemini-embedding-001:predict") {
			t.Errorf("path %s", rec.Path)
		}
	})

	t.Run("token arrays are refused", func(t *testing.T) {
		_, err := newAPIKeyProvider(t, f, "k").Embed(context.Background(), &providers.EmbedCall{Body: []byte(`{"model":"e","input":[[1,2]]}`), Model: "m"})
		if e := providers.AsError(err); e.Class != providers.ClassInvalidRequest {
			t.Errorf("err = %v", err)
		}
	})
}
