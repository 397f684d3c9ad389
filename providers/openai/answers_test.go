package openai_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/providers/openai"
)

// upstream answers every request with status 200, the content type and the body.
func upstream(t *testing.T, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func classOf(t *testing.T, err error) providers.Class {
	t.Helper()
	var e *providers.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a classified error", err)
	}
	return e.Class
}

// TestAnswerOverTheCapIsLocal: an answer larger than max_response_bytes is refused
// as a local failure, which does not count against the target: the client's request
// (its max_tokens, its n, its batch) shaped the answer.
func TestAnswerOverTheCapIsLocal(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{})
	defer f.Close()
	p := openai.New(openai.Config{BaseURL: f.BaseURL(), MaxResponseBytes: 2048, Client: providers.NewHTTPClient(0)})
	small := call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`, "m")
	if _, err := p.Chat(context.Background(), small); err != nil {
		t.Fatalf("an answer under the cap: %v", err)
	}
	big := call(t, `{"model":"a","messages":[{"role":"user","content":"`+strings.Repeat("word ", 1000)+`"}]}`, "m")
	_, err := p.Chat(context.Background(), big)
	if c := classOf(t, err); c != providers.ClassLocal || c.HealthFailure() || !strings.Contains(err.Error(), "max_response_bytes") {
		t.Fatalf("an answer over the cap: %v", err)
	}
	// Embeddings answers may be 8 times larger: a batch whose answer is over the chat
	// cap still passes.
	batch := []byte(`{"model":"e","input":["a","b","c"],"dimensions":200}`)
	in, err := providers.ParseEmbeddings(batch)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Embed(context.Background(), &providers.EmbedCall{Body: batch, Input: in, Model: "e"})
	if err != nil || len(resp.Body) <= 2048 {
		t.Fatalf("embeddings of %d bytes under 8x the cap: %v", len(resp.Body), err)
	}
}

// TestAnswerThatIsNotAChatCompletionIsADecodeFailure: a 200 whose body is not a
// chat completion is never relayed as a success.
func TestAnswerThatIsNotAChatCompletionIsADecodeFailure(t *testing.T) {
	for name, body := range map[string]string{
		"html":            "<html><body>Gateway says hi</body></html>",
		"empty":           "",
		"not an object":   `[{"choices":[]}]`,
		"no choices":      `{"id":"x","object":"chat.completion","usage":{"prompt_tokens":1}}`,
		"choices object":  `{"id":"x","object":"chat.completion","choices":{}}`,
		"embeddings list": `{"object":"list","data":[],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}`,
		"a stream":        "data: {\"choices\":[]}\n\ndata: [DONE]\n\n",
		"truncated":       `{"id":"x","object":"chat.completion","choices":[{"index":0`,
	} {
		t.Run(name, func(t *testing.T) {
			p := openai.New(openai.Config{BaseURL: upstream(t, "application/json", body), Client: providers.NewHTTPClient(0)})
			resp, err := p.Chat(context.Background(), call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`, "m"))
			if err == nil || classOf(t, err) != providers.ClassDecode {
				t.Fatalf("got %v, %v; want a decode failure", resp, err)
			}
		})
	}
	ok := `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`
	p := openai.New(openai.Config{BaseURL: upstream(t, "application/json", ok), Client: providers.NewHTTPClient(0)})
	if _, err := p.Chat(context.Background(), call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`, "m")); err != nil {
		t.Fatalf("a chat completion without usage: %v", err)
	}
}

// TestStreamGarbageIsADecodeFailure: a stream event that is not valid JSON, or not a
// chat.completion.chunk, ends the stream with a decode failure instead of being
// relayed; the chunks before it were fine.
func TestStreamGarbageIsADecodeFailure(t *testing.T) {
	good := `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}` + "\n\n"
	for name, bad := range map[string]string{
		"invalid JSON":      `{"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":tru}}]}`,
		"not an object":     `"hello"`,
		"html":              `<html>`,
		"another object":    `{"id":"1","object":"chat.completion","choices":[]}`,
		"choices not array": `{"id":"1","object":"chat.completion.chunk","choices":{"0":{}}}`,
		"unterminated":      `{"id":"1","choices":[`,
	} {
		t.Run(name, func(t *testing.T) {
			p := openai.New(openai.Config{BaseURL: upstream(t, "text/event-stream", good+"data: "+bad+"\n\ndata: [DONE]\n\n"),
				Client: providers.NewHTTPClient(0)})
			st, err := p.ChatStream(context.Background(), call(t, `{"model":"a","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "m"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if c, err := st.Recv(); err != nil || !strings.Contains(string(c.Data), `"hi"`) {
				t.Fatalf("first chunk: %s, %v", c.Data, err)
			}
			c, err := st.Recv()
			if err == nil || classOf(t, err) != providers.ClassDecode {
				t.Fatalf("garbage chunk relayed: %s, %v", c.Data, err)
			}
		})
	}
	// Azure's prompt-filter chunk names its object "" and is a valid chunk.
	azure := `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0}]}` + "\n\n"
	p := openai.New(openai.Config{BaseURL: upstream(t, "text/event-stream", azure+good+"data: [DONE]\n\n"), Client: providers.NewHTTPClient(0)})
	st, err := p.ChatStream(context.Background(), call(t, `{"model":"a","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "m"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 {
		if _, err := st.Recv(); err != nil {
			t.Fatalf("valid chunks: %v", err)
		}
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
}

// TestStreamAnsweredAsJSONIsADecodeFailure: a stream request answered without a
// stream is the upstream's failure (decode), which fails over before the first byte.
func TestStreamAnsweredAsJSONIsADecodeFailure(t *testing.T) {
	p := openai.New(openai.Config{BaseURL: upstream(t, "application/json", `{"choices":[]}`), Client: providers.NewHTTPClient(0)})
	_, err := p.ChatStream(context.Background(), call(t, `{"model":"a","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "m"))
	if c := classOf(t, err); c != providers.ClassDecode || !c.HealthFailure() {
		t.Fatalf("got %v", err)
	}
}
