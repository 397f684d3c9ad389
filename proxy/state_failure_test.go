package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	sdk "github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/proxy"
	"github.com/switchyard/switchyard/state"
)

// faultyStore is a real embedded store whose chosen operations fail or panic, as a
// store with a damaged file or a lost server does.
type faultyStore struct {
	state.Store
	mu    sync.Mutex
	modes map[string]string // operation → "panic" or "error"
}

func (f *faultyStore) set(op, mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modes[op] = mode
}

func (f *faultyStore) misbehave(op string) error {
	f.mu.Lock()
	mode := f.modes[op]
	f.mu.Unlock()
	switch mode {
	case "panic":
		panic("assertion failed: Page expected to be: 12, but self identifies as 0")
	case "error":
		return fmt.Errorf("%w: disk gone", state.ErrUnavailable)
	}
	return nil
}

func (f *faultyStore) Admit(ctx context.Context, key string, limit, cost int64, window time.Duration) (state.Admission, error) {
	if err := f.misbehave("Admit"); err != nil {
		return state.Admission{}, err
	}
	return f.Store.Admit(ctx, key, limit, cost, window)
}

func (f *faultyStore) Adjust(ctx context.Context, key string, delta int64, window time.Duration) error {
	if err := f.misbehave("Adjust"); err != nil {
		return err
	}
	return f.Store.Adjust(ctx, key, delta, window)
}

func (f *faultyStore) Reserve(ctx context.Context, key, id string, limit, amount int64, hold, ttl time.Duration) (state.Reservation, error) {
	if err := f.misbehave("Reserve"); err != nil {
		return state.Reservation{}, err
	}
	return f.Store.Reserve(ctx, key, id, limit, amount, hold, ttl)
}

func (f *faultyStore) Settle(ctx context.Context, key, id string, actual int64, ttl time.Duration) error {
	if err := f.misbehave("Settle"); err != nil {
		return err
	}
	return f.Store.Settle(ctx, key, id, actual, ttl)
}

func (f *faultyStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := f.misbehave("Put"); err != nil {
		return err
	}
	return f.Store.Put(ctx, key, value, ttl)
}

func (f *faultyStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := f.misbehave("Get"); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, key)
}

// A key with a rate limit and a budget, and the Responses API.
const stateConfig = `
drain_delay: 0s
keys:
  - {name: app, key: ` + clientKey + `, team: search, limits: {rpm: 1000, tpm: 1000000}, budget: {usd: 100}}
providers:
  - {name: openai, type: openai, base_url: "{{OPENAI}}", api_key: sk-upstream-openai}
models:
  - {name: gpt-4o, targets: [{provider: openai, model: gpt-4o-2024}]}
pricing:
  - {provider: openai, model: gpt-4o-2024, input: 2.5, output: 10}
`

func faultyEnv(t *testing.T) (*env, *faultyStore) {
	t.Helper()
	inner, err := state.Open(config.State{Driver: "embedded", Path: filepath.Join(t.TempDir(), "state.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := &faultyStore{Store: inner, modes: map[string]string{}}
	e := newEnvWith(t, stateConfig, func(o *proxy.Options) { o.Store = fs })
	return e, fs
}

// stateUnavailable checks an SDK error is OpenAI's shape of a 503 state_unavailable.
func stateUnavailable(t *testing.T, err error) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an API error, got %v", err)
	}
	if apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "state_unavailable" || apiErr.Type != "server_error" {
		t.Fatalf("got %d %s %s: %s", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.RawJSON())
	}
}

// A store that panics or fails while admitting a request (rate limit, budget) never
// drops the client's connection: the client gets 503 state_unavailable in OpenAI's
// shape, and the failure is counted.
func TestStoreFailureIsA503NeverADroppedConnection(t *testing.T) {
	for _, tc := range []struct{ op, mode, metric string }{
		{"Admit", "panic", "rate_limit"},
		{"Reserve", "panic", "budget"},
		{"Admit", "error", "rate_limit"},
		{"Reserve", "error", "budget"},
	} {
		t.Run(tc.op+" "+tc.mode, func(t *testing.T) {
			e, fs := faultyEnv(t)
			c := e.client(clientKey)
			ctx := context.Background()
			if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
				t.Fatalf("healthy store: %v", err)
			}
			fs.set(tc.op, tc.mode)
			_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
			stateUnavailable(t, err)
			stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
			for stream.Next() {
				t.Error("a chunk was streamed past a failed admission")
			}
			stateUnavailable(t, stream.Err())
			series := fmt.Sprintf(`switchyard_state_errors_total{driver="embedded",op=%q}`, tc.metric)
			if got := metricValue(t, e, series); got != "2" {
				t.Errorf("%s = %q, want 2", series, got)
			}
		})
	}
}

// Settling runs after the answer was written; a store that panics there must not cut
// the answer off.
func TestStorePanicWhileSettlingKeepsTheAnswer(t *testing.T) {
	e, fs := faultyEnv(t)
	fs.set("Settle", "panic")
	fs.set("Adjust", "panic")
	c := e.client(clientKey)
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	if err != nil || resp.Choices[0].Message.Content != "openai heard: hi" {
		t.Fatalf("%v %v", resp, err)
	}
	if got := metricValue(t, e, `switchyard_state_errors_total{driver="embedded",op="budget"}`); got != "1" {
		t.Errorf("settle failure counted %q times, want 1", got)
	}
}

// The embedded store's own file damaged under a running proxy: bbolt panics on the
// pages, the client gets 503 state_unavailable, not an empty reply.
func TestDamagedEmbeddedFileUnderARunningProxy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	e := newEnv(t, stateConfig+"state: {path: "+path+"}\n")
	c := e.client(clientKey)
	ctx := context.Background()
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	ps := int64(os.Getpagesize()) // bbolt's page size
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", int(ps)/4))
	for off := 2 * ps; off < fi.Size(); off += ps { // every page after the two meta pages
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for range 2 {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
		stateUnavailable(t, err)
	}
	if got := metricValue(t, e, `switchyard_state_errors_total{driver="embedded",op="rate_limit"}`); got != "2" {
		t.Errorf("state errors counted %q, want 2", got)
	}
}

func TestResponsesStoreFailures(t *testing.T) {
	t.Run("a stored conversation that cannot be read is a 503", func(t *testing.T) {
		e, fs := faultyEnv(t)
		c := e.client(clientKey)
		ctx := context.Background()
		first, err := c.Responses.New(ctx, sdk.ResponseNewParams{Model: "gpt-4o", Input: text("hi")})
		if err != nil {
			t.Fatal(err)
		}
		fs.set("Get", "panic")
		_, err = c.Responses.New(ctx, sdk.ResponseNewParams{Model: "gpt-4o", Input: text("and?"),
			PreviousResponseID: openai.String(first.ID)})
		stateUnavailable(t, err)
		_, err = c.Responses.Get(ctx, first.ID, sdk.ResponseGetParams{})
		stateUnavailable(t, err)
	})

	for _, mode := range []string{"panic", "error"} {
		t.Run("not stored, not answered: "+mode, func(t *testing.T) {
			e, fs := faultyEnv(t)
			fs.set("Put", mode)
			c := e.client(clientKey)
			before := len(e.openai.Requests())
			_, err := c.Responses.New(context.Background(), sdk.ResponseNewParams{Model: "gpt-4o", Input: text("hi")})
			stateUnavailable(t, err)
			if len(e.openai.Requests()) != before+1 {
				t.Error("the upstream was not asked: the store failure was not the one at saving")
			}
		})

		t.Run("streamed, not stored, ends failed: "+mode, func(t *testing.T) {
			e, fs := faultyEnv(t)
			fs.set("Put", mode)
			c := e.client(clientKey)
			stream := c.Responses.NewStreaming(context.Background(), sdk.ResponseNewParams{Model: "gpt-4o", Input: text("hi")})
			var types []string
			var failed sdk.ResponseFailedEvent
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				if f, ok := ev.AsAny().(sdk.ResponseFailedEvent); ok {
					failed = f
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(types) == 0 || types[len(types)-1] != "response.failed" || strings.Contains(strings.Join(types, " "), "response.completed") {
				t.Fatalf("events %v: want the stream to end with response.failed and never response.completed", types)
			}
			if failed.Response.Status != "failed" || failed.Response.Error.Code != "server_error" ||
				!strings.Contains(failed.Response.Error.Message, "could not be stored") {
				raw, _ := json.Marshal(failed.Response)
				t.Errorf("failed response %s", raw)
			}
			if got := metricValue(t, e, `switchyard_requests_total{alias="gpt-4o",api="responses",provider="openai",status_class="5xx",team="search"}`); got != "1" {
				t.Errorf("the failed stream counted as %q 5xx requests, want 1", got)
			}
		})
	}
}
