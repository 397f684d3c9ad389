package bedrock

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/providers/openai"
)

// The request-path benchmarks. BenchmarkChat and BenchmarkChatStream run through
// the fake over loopback, so they include the fake's own work (it verifies every
// SigV4 signature); the Canned variants answer from memory and measure the
// provider alone: translate, sign, send, decode, translate back. The OpenAI
// pass-through provider is measured the same way, as the yardstick the
// translation path is held to (at most 2x its CPU per request).

const benchChat = `{"model":"m","max_tokens":256,"messages":[{"role":"system","content":"be brief"},
	{"role":"user","content":"Explain in one sentence why the sky is blue, for a curious child."}]}`

func BenchmarkChat(b *testing.B) {
	f := newFake(b, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(b, f)
	call := chatCall(b, sonnet, benchChat)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChatOpenAI is the pass-through yardstick for BenchmarkChat, through
// the OpenAI fake (which checks a bearer key instead of a signature).
func BenchmarkChatOpenAI(b *testing.B) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "oa", APIKey: "sk-test"})
	b.Cleanup(f.Close)
	p := openai.New(openai.Config{BaseURL: f.BaseURL(), APIKey: "sk-test", Client: providers.NewHTTPClient(5 * time.Second)})
	call := chatCall(b, "gpt-4o", benchChat)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatStream(b *testing.B) {
	f := newFake(b, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(b, f)
	call := chatCall(b, sonnet, benchChat)
	b.ReportAllocs()
	for b.Loop() {
		s, err := p.ChatStream(context.Background(), call)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := s.Recv(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
		s.Close()
	}
}

// cannedClient answers every request with status 200, header and body, after
// reading and closing the request body as a transport does.
func cannedClient(header http.Header, body []byte) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Header: header, ContentLength: int64(len(body)),
			Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})}
}

func BenchmarkChatCanned(b *testing.B) {
	p := newProvider(b, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret,
		BaseURL: "https://bedrock-runtime.us-east-1.amazonaws.com", HTTPClient: cannedClient(jsonHeader, okConverse)})
	call := chatCall(b, sonnet, benchChat)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}

var openAICompletion = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o",
	"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
	"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)

// BenchmarkChatCannedOpenAI is the pass-through yardstick for BenchmarkChatCanned.
func BenchmarkChatCannedOpenAI(b *testing.B) {
	p := openai.New(openai.Config{BaseURL: "https://api.openai.com/v1", APIKey: "sk-test",
		Client: cannedClient(jsonHeader, openAICompletion)})
	call := chatCall(b, "gpt-4o", benchChat)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}
