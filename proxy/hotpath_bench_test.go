package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// The hot-path benchmarks. The harness (bench/, `go run ./bench/cmd/harness`)
// measures the proxy as a process against a bare ReverseProxy; these say where its
// CPU and allocations go, one request or one chunk at a time. Run with
//
//	go test -run '^$' -bench . -benchmem ./proxy/

const benchKey = "sk-bench"

// benchBody is a typical small chat request.
const benchBody = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},` +
	`{"role":"user","content":"Explain in one sentence why the sky is blue, for a curious child."}],"max_tokens":256}`

// cannedCompletion is what the canned upstream answers: a 1 KiB completion.
var cannedCompletion = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("abcdefgh", 128) + `","refusal":null},` +
	`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":256,"total_tokens":286}}`)

// cannedUpstream answers every chat request with cannedCompletion, doing as little
// as a server can, so that a profile of the benchmark shows the proxy.
func cannedUpstream(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cannedCompletion)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// newBenchServer is a Server as `switchyard serve` builds it, with one key, one
// priced pass-through alias on upstream, and an access log written as JSON to
// io.Discard (the encoding costs what it costs in production; the write does not).
func newBenchServer(b *testing.B, upstream string) *Server {
	b.Helper()
	dir := b.TempDir()
	yaml := `drain_delay: 0s
state: {path: "` + filepath.Join(dir, "state.db") + `"}
keys:
  - {name: app, key: ` + benchKey + `, team: search}
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
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	s, err := New(Options{Config: cfg, Logger: log, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.store.Close() })
	return s
}

// cpuTime is the CPU time (user and system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start: on loopback the wall
// time of a request is mostly scheduling, its CPU time is the work. It counts the
// whole process (client, proxy and upstream alike).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+benchKey)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// BenchmarkAdmission is what a request costs before anything is sent upstream:
// authentication, parsing, rules, the plan of targets, and the settlement and
// access-log line at its end.
func BenchmarkAdmission(b *testing.B) {
	s := newBenchServer(b, "http://127.0.0.1:9/v1")
	body := []byte(benchBody)
	r := benchRequest(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		rt := s.rt.Load()
		ex := s.begin(r, "chat")
		ex.rt = rt
		ex.key = rt.keys.lookup(credential(r))
		req, err := providers.ParseChat(body)
		if err != nil {
			b.Fatal(err)
		}
		ex.alias, ex.stream = req.Model, req.Stream
		a, aerr := s.admit(r.Context(), rt, ex, requestInfo{alias: req.Model, promptTokens: rt.promptTokens(ex.key, req),
			maxTokens: req.MaxTokens, tools: req.HasTools, images: req.HasImages, stream: req.Stream,
			tags: tagsOf(r, metadataTags(req.Metadata))})
		if aerr != nil {
			b.Fatal(aerr.Message)
		}
		if a.plan.Next() == nil {
			b.Fatal("no target")
		}
		s.settle(rt, ex, a)
		ex.end()
	}
}

// BenchmarkChatHandler is one whole non-streamed request through the API handler
// (no client connection) to a canned upstream over loopback: everything the proxy
// does for a request, the upstream round trip included.
func BenchmarkChatHandler(b *testing.B) {
	s := newBenchServer(b, cannedUpstream(b))
	h := s.Handler()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, benchRequest(benchBody))
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), cannedCompletion) {
			b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkPassThrough is a full pass-through request as a client sees it: an HTTP
// client, the proxy serving on loopback, and the OpenAI fake behind it (whose own
// work, decoding the request and encoding the answer, is included).
func BenchmarkPassThrough(b *testing.B) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "openai", APIKey: "sk-upstream"})
	b.Cleanup(f.Close)
	s := newBenchServer(b, f.BaseURL())
	api, _ := net.Listen("tcp", "127.0.0.1:0")
	admin, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, api, admin) }()
	b.Cleanup(func() { cancel(); <-done })
	url := "http://" + api.Addr().String() + "/v1/chat/completions"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(benchBody))
		req.Header.Set("Authorization", "Bearer "+benchKey)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	reportCPU(b, cpu)
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

// BenchmarkRelayChunk is the relay of one pass-through SSE chunk to the client:
// framing, write and flush, as relayStream does for every chunk of a stream (one
// stream of b.N chunks: the per-stream work is spread thin). It should allocate
// nothing.
func BenchmarkRelayChunk(b *testing.B) {
	s := newBenchServer(b, "http://127.0.0.1:9/v1")
	rt := s.rt.Load()
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024",` +
		`"choices":[{"index":0,"delta":{"content":" blue"},"logprobs":null,"finish_reason":null}]}`)
	alias := rt.router.Alias("gpt-4o")
	x := &execution{reqCtx: context.Background(), s: s, rt: rt, log: s.log,
		plan: rt.router.NewPlan(alias, policy.Estimate{PromptTokens: 30}, &policy.Decision{})}
	x.dispatched.Add(1)
	p := &prepared{target: alias.Tiers[0][0], stream: &chunkStream{data: data, n: b.N},
		report: func(bool, bool) {}, release: func() {}}
	w := &flushDiscard{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	out := x.relayStream(w, p, chatSink{})
	if out.streamErr != nil || out.clientGone || out.contentChunks != b.N {
		b.Fatalf("relay: %+v", out)
	}
}
