package proxy_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

const cachedConfig = `
drain_delay: 0s
keys:
  - {name: a, key: sk-a}
  - {name: b, key: sk-b}
providers:
  - {name: up, type: openai, base_url: "{{up}}"}
pricing:
  - {provider: up, model: "*", input: 1, output: 2}
models:
  - name: cached
    cache: {enabled: true}
    targets: [{provider: up, model: m}]
  - name: plain
    targets: [{provider: up, model: m}]
`

func TestResponseCache(t *testing.T) {
	e := newEnv(t, cachedConfig, "up")
	up := e.clouds["up"]
	ctx := context.Background()
	ask := func(key, model string, temp float64, opts ...option.RequestOption) (string, http.Header) {
		t.Helper()
		var raw *http.Response
		c := e.client(key)
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Temperature: openai.Float(temp),
			Messages: userMsg("what is the capital of France?")}, append(opts, option.WithResponseInto(&raw))...)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Choices[0].Message.Content, raw.Header
	}
	first, h1 := ask("sk-a", "cached", 0)
	second, h2 := ask("sk-a", "cached", 0)
	if h1.Get("X-Switchyard-Cache") != "miss" || h2.Get("X-Switchyard-Cache") != "hit" || first != second ||
		h2.Get("X-Switchyard-Cost-Usd") != "0" || len(up.Requests()) != 1 {
		t.Fatalf("miss then hit: %q %q, headers %v / %v, upstream calls %d", first, second, h1, h2, len(up.Requests()))
	}
	// The cached answer replays as a stream.
	c := e.client("sk-a")
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "cached", Temperature: openai.Float(0),
		Messages: userMsg("what is the capital of France?")})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if stream.Err() != nil || acc.Choices[0].Message.Content != first || len(up.Requests()) != 1 {
		t.Errorf("stream replay: %v %q, upstream calls %d", stream.Err(), acc.Choices[0].Message.Content, len(up.Requests()))
	}
	// Entries are isolated per key; other temperatures, other aliases and opted-out
	// requests go upstream.
	if _, h := ask("sk-b", "cached", 0); h.Get("X-Switchyard-Cache") != "miss" {
		t.Errorf("another key hit a's entry: %v", h)
	}
	if _, h := ask("sk-a", "cached", 0.7); h.Get("X-Switchyard-Cache") != "" {
		t.Errorf("temperature 0.7 used the cache: %v", h)
	}
	if _, h := ask("sk-a", "plain", 0); h.Get("X-Switchyard-Cache") != "" {
		t.Errorf("an alias without cache used it: %v", h)
	}
	before := len(up.Requests())
	if _, h := ask("sk-a", "cached", 0, option.WithHeader("X-Switchyard-Cache", "off")); h.Get("X-Switchyard-Cache") != "" || len(up.Requests()) != before+1 {
		t.Errorf("opt-out ignored: %v", h)
	}
	if _, h := ask("sk-a", "plain", 0, option.WithHeader("X-Switchyard-Cache", "on")); h.Get("X-Switchyard-Cache") != "miss" {
		t.Errorf("per-request opt-in ignored: %v", h)
	}
	if got := metricValue(t, e, `switchyard_cache_requests_total{alias="cached",result="hit"}`); got != "2" {
		t.Errorf("hits counted: %s", got)
	}
}

func TestStreamedAnswerIsCached(t *testing.T) {
	e := newEnv(t, cachedConfig, "up")
	c := e.client("sk-a")
	params := openai.ChatCompletionNewParams{Model: "cached", Temperature: openai.Float(0), Messages: userMsg("stream then reuse")}
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if stream.Err() != nil {
		t.Fatal(stream.Err())
	}
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&raw))
	if err != nil || raw.Header.Get("X-Switchyard-Cache") != "hit" || resp.Choices[0].Message.Content != acc.Choices[0].Message.Content {
		t.Errorf("non-stream after stream: %v %v %q", err, raw.Header, resp.Choices[0].Message.Content)
	}
	if n := len(e.clouds["up"].Requests()); n != 1 {
		t.Errorf("upstream called %d times", n)
	}
}
