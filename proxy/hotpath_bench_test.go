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
	"github.com/switchyard/switchyard/providers/fakes"
)

// The hot-path benchmarks of a whole request. The harness (bench/, `go run
// ./bench/cmd/harness`) measures the proxy as a process against a bare ReverseProxy;
// these say where its CPU and allocations go, one request at a time (the executor's
// own benchmarks measure admission and the relay of one chunk). Run with
//
//	go test -run '^$' -bench . -benchmem ./proxy/ ./executor/

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
