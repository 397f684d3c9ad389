package bench

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchyard/switchyard/bench/internal/floor"
	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/proxy"
)

// The agent-sized request (~400 KB, agent.go) through Switchyard's API handler in
// this process, against the harness's upstream on loopback, beside the floor
// (bench/internal/floor) doing the same: where the CPU and the allocations of a
// 400 KB request go, without the harness's processes.
//
//	go test -run '^$' -bench Agent -benchmem -cpuprofile cpu.out ./bench/
//	go tool pprof -top -cum cpu.out
//
// The profile holds the upstream's work too (reading the body, answering): it is
// the same for every benchmark, and the floor's profile shows how much it is.
// cpu-ns/op is the CPU time of the whole process per request.

func BenchmarkAgentFloor(b *testing.B) {
	runAgent(b, floorHandler(b), agentConversation(), formatChat, "bench-model", "")
}

func BenchmarkAgentPassThrough(b *testing.B) {
	runAgent(b, switchyardHandler(b), agentConversation(), formatChat, "bench-openai", benchKey)
}

func BenchmarkAgentBedrock(b *testing.B) {
	runAgent(b, switchyardHandler(b), agentConversation(), formatChat, "bench-bedrock", benchKey)
}

// BenchmarkAgentMessages is the same conversation in Anthropic's format to an
// Anthropic provider: the native pass-through, which must cost no more CPU per
// request than BenchmarkAgentPassThrough (the OpenAI pass-through).
func BenchmarkAgentMessages(b *testing.B) {
	runAgent(b, switchyardHandler(b), agentConversation(), formatMessages, "bench-anthropic", benchKey)
}

// BenchmarkAgentMessagesBedrock is the Anthropic-format conversation translated
// to Bedrock Converse: the Messages dialect decoded into the canonical request,
// then encoded for Converse.
func BenchmarkAgentMessagesBedrock(b *testing.B) {
	runAgent(b, switchyardHandler(b), agentConversation(), formatMessages, "bench-bedrock", benchKey)
}

// BenchmarkSmallPassThrough and BenchmarkSmallMessages are a 1 KB request (a
// system prompt, one tool, one question) in each format on its pass-through
// path: the fixed cost of a request, where the agent-sized ones show the cost
// per byte.
func BenchmarkSmallFloor(b *testing.B) {
	runAgent(b, floorHandler(b), smallConversation(), formatChat, "bench-model", "")
}

func BenchmarkSmallPassThrough(b *testing.B) {
	runAgent(b, switchyardHandler(b), smallConversation(), formatChat, "bench-openai", benchKey)
}

func BenchmarkSmallMessages(b *testing.B) {
	runAgent(b, switchyardHandler(b), smallConversation(), formatMessages, "bench-anthropic", benchKey)
}

// BenchmarkAgentPassThroughTPM and BenchmarkAgentMessagesTPM are the
// agent-sized request for a key with a tokens-per-minute limit: each request's
// prompt tokens are estimated before it is admitted.
func BenchmarkAgentPassThroughTPM(b *testing.B) {
	runAgent(b, switchyardHandler(b, withTPM), agentConversation(), formatChat, "bench-openai", benchKey)
}

func BenchmarkAgentMessagesTPM(b *testing.B) {
	runAgent(b, switchyardHandler(b, withTPM), agentConversation(), formatMessages, "bench-anthropic", benchKey)
}

// withTPM gives the harness's key a tokens-per-minute limit no request reaches.
func withTPM(cfg string) string {
	return strings.Replace(cfg, "team: bench}", "team: bench, limits: {tpm: 1000000000000}}", 1)
}

// smallConversation is about 1 KB in either format.
func smallConversation() conversation {
	g := &gen{r: rand.New(rand.NewPCG(17, 1))}
	return conversation{system: g.sentence(20, 30), tools: agentTools()[:1],
		turns: []turn{{role: "user", text: g.task() + " " + markerSlot}}}
}

// runAgent sends convo rendered in format through h, answered with 1 KiB.
func runAgent(b *testing.B, h http.Handler, convo conversation, format, model, key string) {
	body := newAgentBody(convo.render(format), model).with(nextSpec(Spec{Size: 1024}).Marker())
	t := &target{name: "bench", key: key}
	send := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, formatPath(format), bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("X-Api-Key", key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	spec, _ := parseSpec(body)
	w := send()
	check := t.checkCompletion
	if format == formatMessages {
		check = t.checkMessage
	}
	if o := check(w.Body.Bytes(), spec); w.Code != http.StatusOK || o.kind != okOutcome {
		b.Fatalf("HTTP %d: %v: %.300s", w.Code, o.err, w.Body.Bytes())
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if w := send(); w.Code != http.StatusOK {
			b.Fatalf("HTTP %d: %.300s", w.Code, w.Body.Bytes())
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// floorHandler is the floor in front of the harness's upstream.
func floorHandler(b *testing.B) http.Handler {
	u, err := url.Parse(benchUpstream(b).URL())
	if err != nil {
		b.Fatal(err)
	}
	return floor.New(u)
}

// benchUpstream is the harness's upstream, for the length of the benchmark.
func benchUpstream(b *testing.B) *Upstream {
	up, err := StartUpstream()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(up.Close)
	return up
}

// switchyardHandler is Switchyard's API as `switchyard serve` builds it from the
// harness's configuration (agent.go's aliases on the harness's upstream), each
// edit applied to its text, its access log encoded as in production and written
// to io.Discard.
func switchyardHandler(b *testing.B, edits ...func(string) string) http.Handler {
	up := benchUpstream(b)
	path, err := writeSwitchyardConfig(b.TempDir(), "switchyard", up.URL())
	if err != nil {
		b.Fatal(err)
	}
	if len(edits) > 0 {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		text := string(raw)
		for _, edit := range edits {
			text = edit(text)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	srv, err := proxy.New(proxy.Options{Config: cfg, Logger: log, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	// Serve owns the server's lifecycle (its state store closes when it ends); the
	// benchmark calls the handler itself.
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, api, admin) }()
	b.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			b.Error("Switchyard did not stop")
		}
	})
	return srv.Handler()
}

// processCPU is the CPU time (user and system) this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
