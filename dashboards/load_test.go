package dashboards_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

// runStories drives the fleet the way a day in production would, in a few seconds:
// ordinary chats, streams and embeddings from several teams, a rate-limited cloud
// resting while its standby serves (a failover), a cloud that fails until its breaker
// opens, an unauthenticated caller, a budget and a key rate limit running out, and a
// response cache hit. Each story checks what the client saw, so that a dashboard
// showing no data points at the feature, not at the load.
func runStories(t *testing.T, f *fleet) {
	ctx := context.Background()
	search := f.client(searchKey)

	// openai-eu answers 429 with Retry-After: gpt-4o fails over to Azure and
	// openai-eu rests for a minute.
	f.openai["openai-eu"].Fail(fakes.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute, Times: 1})
	var raw *http.Response
	if _, err := search.Chat.Completions.New(ctx, chatParams("gpt-4o", "hello"), option.WithResponseInto(&raw)); err != nil {
		t.Fatalf("gpt-4o with openai-eu rate limited: %v", err)
	}
	if by := raw.Header.Get("X-Switchyard-Provider"); by != "azure-eastus" {
		t.Errorf("gpt-4o served by %q, want the azure-eastus standby", by)
	}

	ordinaryTraffic(t, f)

	// broken answers 500: the first request exhausts its retries (502) and opens the
	// breaker; the next is refused at once (503).
	f.openai["broken"].Fail(fakes.Fault{Status: http.StatusInternalServerError})
	for i, want := range []int{http.StatusBadGateway, http.StatusServiceUnavailable} {
		_, err := search.Chat.Completions.New(ctx, chatParams("legacy", "anyone there?"))
		if got := statusOf(err); got != want {
			t.Errorf("legacy request %d: status %d (%v), want %d", i, got, err, want)
		}
	}

	// A caller with a wrong key.
	stranger := f.client("sk-wrong")
	if _, err := stranger.Chat.Completions.New(ctx, chatParams("gpt-4o", "hi")); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("wrong key: %v", err)
	}

	// Budgets, key rate limits and the cache are checked with Errorf: the rest of the
	// load still runs.
	if !until(t, 10, func() error { return spend(ctx, f) }, http.StatusTooManyRequests, "insufficient_quota") {
		t.Error("the ads key was never rejected for its 0.001 USD budget")
	}
	if !until(t, 5, func() error { return batch(ctx, f) }, http.StatusTooManyRequests, "rate_limit_exceeded") {
		t.Error("the batch key was never rate limited at 2 requests per minute")
	}
	for range 2 {
		if err := cacheable(ctx, f); err != nil {
			t.Errorf("gpt-4o-mini: %v", err)
		}
	}
	if !bytes.Contains(f.metrics(t), []byte(`switchyard_cache_requests_total{alias="gpt-4o-mini",result="hit"}`)) {
		t.Error("two identical gpt-4o-mini requests at temperature 0: no cache hit counted")
	}
}

// runSteadyTraffic repeats every kind of request once the stories have created their
// series, so that rates, ratios and quantiles over the next scrapes have values.
func runSteadyTraffic(t *testing.T, f *fleet) {
	ctx := context.Background()
	ordinaryTraffic(t, f)
	search := f.client(searchKey)
	if _, err := search.Chat.Completions.New(ctx, chatParams("legacy", "still there?")); statusOf(err) != http.StatusServiceUnavailable {
		t.Errorf("legacy with its breaker open: %v", err)
	}
	stranger := f.client("sk-wrong")
	if _, err := stranger.Chat.Completions.New(ctx, chatParams("gpt-4o", "hi")); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("wrong key: %v", err)
	}
	if statusOf(spend(ctx, f)) != http.StatusTooManyRequests {
		t.Error("the ads key is no longer over budget")
	}
	if statusOf(batch(ctx, f)) != http.StatusTooManyRequests {
		t.Error("the batch key is no longer rate limited")
	}
	if err := cacheable(ctx, f); err != nil {
		t.Errorf("gpt-4o-mini: %v", err)
	}
}

// ordinaryTraffic is concurrent chats, streams and embeddings on every healthy cloud.
func ordinaryTraffic(t *testing.T, f *fleet) {
	ctx := context.Background()
	search := f.client(searchKey)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for _, alias := range []string{"gpt-4o", "claude-sonnet", "llama"} {
				if _, err := search.Chat.Completions.New(ctx, chatParams(alias, "what is the weather like")); err != nil {
					t.Errorf("%s: %v", alias, err)
				}
			}
			for _, alias := range []string{"gpt-4o", "claude-sonnet"} {
				if n := stream(ctx, search, alias, "tell me a short story about clouds and routers"); n < 2 {
					t.Errorf("%s stream: %d chunks", alias, n)
				}
			}
			_, err := search.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "embed",
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}}})
			if err != nil {
				t.Errorf("embeddings %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// spend is a request of the ads team, whose daily budget is 0.001 USD.
func spend(ctx context.Context, f *fleet) error {
	ads := f.client(adsKey)
	_, err := ads.Chat.Completions.New(ctx, chatParams("claude-sonnet", strings.Repeat("a long prompt to spend money ", 20)))
	return err
}

// batch is a request of the batch job, limited to 2 requests per minute.
func batch(ctx context.Context, f *fleet) error {
	c := f.client(batchKey)
	_, err := c.Chat.Completions.New(ctx, chatParams("llama", "summarise"))
	return err
}

// cacheable is the same temperature-0 request each time, on an alias with the
// response cache enabled.
func cacheable(ctx context.Context, f *fleet) error {
	c := f.client(searchKey)
	p := chatParams("gpt-4o-mini", "what is the capital of France?")
	p.Temperature = openai.Float(0)
	_, err := c.Chat.Completions.New(ctx, p)
	return err
}

func chatParams(model, prompt string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}
}

// stream reads a whole streamed completion with usage and returns its chunk count.
func stream(ctx context.Context, c openai.Client, model, prompt string) int {
	p := chatParams(model, prompt)
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	defer s.Close()
	n := 0
	for s.Next() {
		n++
	}
	if s.Err() != nil {
		return -1
	}
	return n
}

func statusOf(err error) int {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// until calls send up to n times and reports whether one answer was the error of
// status and code; any other error fails the test.
func until(t *testing.T, n int, send func() error, status int, code string) bool {
	t.Helper()
	for range n {
		err := send()
		if err == nil {
			continue
		}
		var apiErr *openai.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == status && apiErr.Code == code {
			return true
		}
		t.Errorf("waiting for %d %s: %v", status, code, err)
		return false
	}
	return false
}
