package executor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/state"
	"github.com/switchyard/switchyard/telemetry"
)

// The executor's hot-path benchmarks: admission and the relay of one chunk. Run with
//
//	go test -run '^$' -bench . -benchmem ./executor/

const benchBody = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},` +
	`{"role":"user","content":"Explain in one sentence why the sky is blue, for a curious child."}],"max_tokens":256}`

// newBenchExecutor is an Executor and Snapshot as the server builds them, with one
// priced pass-through alias on upstream and an access log encoded as JSON to
// io.Discard (the encoding costs what it costs in production; the write does not).
func newBenchExecutor(b *testing.B, upstream string) (*Executor, *Snapshot) {
	b.Helper()
	dir := b.TempDir()
	yaml := `drain_delay: 0s
state: {path: "` + filepath.Join(dir, "state.db") + `"}
keys:
  - {name: app, key: sk-bench, team: search}
providers:
  - {name: openai, type: openai, base_url: "` + upstream + `", api_key: sk-upstream}
models:
  - name: gpt-4o
    targets: [{provider: openai, model: gpt-4o-2024}]
pricing:
  - {provider: openai, model: gpt-4o-2024, input: 2.50, cached_input: 1.25, output: 10.00}
`
	path := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	store, err := state.Open(cfg.State, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	tracing, err := telemetry.NewTracing(cfg.Tracing, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{Logger: log, Metrics: telemetry.NewMetrics("bench"), Tracing: tracing,
		Pool: health.NewPool(nil), Store: store, Cache: cache.New(10, 1<<20)})
	snap, err := e.Compile(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return e, snap
}

func discardRender(w http.ResponseWriter, e *Error) { w.WriteHeader(e.Status) }

// BenchmarkAdmission is what a request costs before anything is sent upstream:
// parsing, rules, the plan of targets, and the settlement and access-log line at
// its end.
func BenchmarkAdmission(b *testing.B) {
	e, snap := newBenchExecutor(b, "http://127.0.0.1:9/v1")
	body := []byte(benchBody)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(benchBody))
	caller := &Caller{Name: "app", Team: "search"}
	b.ReportAllocs()
	for b.Loop() {
		rec := e.Begin(r, snap, "chat", discardRender)
		rec.Caller = caller
		req, err := providers.ParseChat(body)
		if err != nil {
			b.Fatal(err)
		}
		rec.Requested, rec.Stream = req.Model, req.Stream
		a, aerr := e.Admit(r.Context(), rec, Info{Alias: req.Model, PromptTokens: snap.PromptTokens(caller, req.Messages),
			MaxTokens: req.MaxTokens, Tools: req.HasTools, Images: req.HasImages, Stream: req.Stream,
			Tags: Tags(r, "")})
		if aerr != nil {
			b.Fatal(aerr.Message)
		}
		if a.Plan.Next() == nil {
			b.Fatal("no target")
		}
		e.Settle(rec, a)
		rec.End()
	}
}

// chunkStream replays one pass-through chunk n times, then ends.
type chunkStream struct {
	data []byte
	n    int
}

func (c *chunkStream) Recv() (providers.Chunk, error) {
	if c.n == 0 {
		return providers.Chunk{}, io.EOF
	}
	c.n--
	return providers.Chunk{Data: c.data}, nil
}

func (c *chunkStream) Close() error { return nil }

// flushDiscard is a ResponseWriter that flushes to nowhere.
type flushDiscard struct{ h http.Header }

func (d *flushDiscard) Header() http.Header         { return d.h }
func (d *flushDiscard) Write(p []byte) (int, error) { return len(p), nil }
func (d *flushDiscard) WriteHeader(int)             {}
func (d *flushDiscard) Flush()                      {}

// SetWriteDeadline is supported, as it is by net/http's own writers.
func (d *flushDiscard) SetWriteDeadline(time.Time) error { return nil }

// sseSink frames chunks as SSE data events, as the OpenAI dialect's sink does.
type sseSink struct{}

var dataPrefix, eventEnd = []byte("data: "), []byte("\n\n")

func (sseSink) Chunk(w io.Writer, c providers.Chunk) error {
	if _, err := w.Write(dataPrefix); err != nil {
		return err
	}
	if _, err := w.Write(c.Data); err != nil {
		return err
	}
	_, err := w.Write(eventEnd)
	return err
}
func (sseSink) Done(w io.Writer) error                     { return nil }
func (sseSink) Fail(w io.Writer, e *providers.Error) error { return nil }

// BenchmarkRelayChunk is the relay of one pass-through SSE chunk to the client:
// framing, write and flush, as Relay does for every chunk of a stream (one stream of
// b.N chunks: the per-stream work is spread thin). It should allocate nothing.
func BenchmarkRelayChunk(b *testing.B) {
	e, snap := newBenchExecutor(b, "http://127.0.0.1:9/v1")
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024",` +
		`"choices":[{"index":0,"delta":{"content":" blue"},"logprobs":null,"finish_reason":null}]}`)
	alias := snap.Router.Alias("gpt-4o")
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil).WithContext(context.Background())
	rec := e.Begin(r, snap, "chat", discardRender)
	a := &Admission{Plan: snap.Router.NewPlan(alias, policy.Estimate{PromptTokens: 30}, &policy.Decision{})}
	x := e.NewRun(rec, a, Work{Stream: true})
	defer x.Close()
	x.dispatched.Add(1)
	ans := &Answer{Target: alias.Tiers[0][0], stream: &chunkStream{data: data, n: b.N},
		report: func(bool, bool) {}, release: func() {}}
	w := &flushDiscard{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	x.Relay(w, ans, sseSink{})
	out := rec.Outcome
	if out.StreamErr != nil || out.ClientGone || out.contentChunks != b.N {
		b.Fatalf("relay: %+v", out)
	}
}
