package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/keyring"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/state"
	"github.com/switchyard/switchyard/telemetry"
)

// harness is one Executor serving one configuration in front of emulated OpenAI
// clouds, driven the way a dialect drives it: no HTTP server between the test and
// the executor; real providers and real HTTP between the executor and the clouds.
// Every test builds its own, so tests share no health, state or metrics.
type harness struct {
	t      *testing.T
	exe    *executor.Executor
	snap   *executor.Snapshot
	clouds map[string]*fakes.OpenAI
	logs   *observer.ObservedLogs
	states *breakerLog
	store  state.Store
}

// cloud is an emulated OpenAI server named name, reached in YAML as {{name}}.
func cloud(name string) fakes.OpenAIOptions { return fakes.OpenAIOptions{Name: name} }

// newHarness starts the clouds and compiles yaml, in which {{NAME}} is the base URL
// of cloud NAME. State lives in the test's temporary directory, with a store
// timeout a busy machine cannot miss.
func newHarness(t *testing.T, yaml string, clouds ...fakes.OpenAIOptions) *harness {
	t.Helper()
	h := &harness{t: t, clouds: map[string]*fakes.OpenAI{}, states: &breakerLog{}}
	var repl []string
	for _, opts := range clouds {
		f := fakes.NewOpenAI(opts)
		t.Cleanup(f.Close)
		h.clouds[opts.Name] = f
		repl = append(repl, "{{"+opts.Name+"}}", f.BaseURL())
	}
	yaml = strings.NewReplacer(repl...).Replace(yaml) +
		"\nstate: {path: \"" + filepath.Join(t.TempDir(), "state.db") + "\", timeout: 10s}\n"
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	store, err := state.Open(cfg.State, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h.store = store
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	tracing, err := telemetry.NewTracing(cfg.Tracing, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	h.exe = executor.New(executor.Options{Logger: zap.New(core), Metrics: telemetry.NewMetrics("test"),
		Tracing: tracing, Pool: health.NewPool(h.states), Store: store, Cache: cache.New(10, 1<<20)})
	if h.snap, err = h.exe.Compile(cfg, nil); err != nil {
		t.Fatal(err)
	}
	return h
}

// breakerLog records every breaker's state changes, as the proxy's metrics hear them.
type breakerLog struct {
	mu      sync.Mutex
	changes map[string][]string
}

func (b *breakerLog) BreakerChanged(target string, from, to health.State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changes == nil {
		b.changes = map[string][]string{}
	}
	b.changes[target] = append(b.changes[target], from.String()+" -> "+to.String())
}

// transitions are target id's breaker changes so far.
func (h *harness) transitions(id string) []string {
	h.states.mu.Lock()
	defer h.states.mu.Unlock()
	return slices.Clone(h.states.changes[id])
}

// caller is the configured key name as the proxy authenticates it: looked up by its
// secret in a keyring of the configuration.
func (h *harness) caller(name string) *executor.Caller {
	h.t.Helper()
	ring := keyring.New(keyring.Options{Store: h.store})
	ring.SetConfig(h.snap.Config, "test.yaml")
	for _, k := range h.snap.Config.Keys {
		if k.Name == name {
			id, verdict := ring.Lookup(context.Background(), k.Key.Reveal())
			if verdict != keyring.Valid {
				h.t.Fatalf("key %q: %v", name, verdict)
			}
			return id
		}
	}
	h.t.Fatalf("no key %q in the configuration", name)
	return nil
}

// health is the breaker and cooldown state of target id ("provider/model").
func (h *harness) health(id string) *health.Target {
	h.t.Helper()
	for _, t := range h.snap.Router.Targets() {
		if t.ID == id {
			return t.Health
		}
	}
	h.t.Fatalf("no target %q", id)
	return nil
}

// requests counts what cloud name received.
func (h *harness) requests(name string) int { return len(h.clouds[name].Requests()) }

// call is one client request.
type call struct {
	caller    *executor.Caller // nil: executor.Anonymous
	model     string
	prompt    string // "hello" when empty
	stream    bool
	maxTokens int
	tags      string // X-Switchyard-Tags
	// w receives the answer; nil uses an httptest.ResponseRecorder.
	w http.ResponseWriter
	// onChunk runs in the middle of a relayed stream, after each chunk.
	onChunk func()
}

// reply is what the client got and what the request left behind.
type reply struct {
	// err is the error answered, nil when the request was served.
	err      *executor.Error
	header   http.Header
	body     []byte // with a recorder only
	outcome  executor.Outcome
	sink     *sink
	attempts []string // from the access log, in order: "provider/model outcome"
}

func (r reply) provider() string { return r.header.Get("X-Switchyard-Provider") }

// served fails the test unless the request was served by provider.
func (r reply) served(t *testing.T, provider string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("want served by %s, got %d %s: %s (attempts %v)", provider, r.err.Status, r.err.Code, r.err.Message, r.attempts)
	}
	if r.provider() != provider {
		t.Fatalf("served by %q, want %q (attempts %v)", r.provider(), provider, r.attempts)
	}
}

// failed fails the test unless the request was answered status with code.
func (r reply) failed(t *testing.T, status int, code string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("want %d %s, served by %s (attempts %v)", status, code, r.provider(), r.attempts)
	}
	if r.err.Status != status || r.err.Code != code {
		t.Fatalf("answered %d %q (%s), want %d %q (attempts %v)", r.err.Status, r.err.Code, r.err.Message, status, code, r.attempts)
	}
}

// do serves one request as the OpenAI dialect does: parse, admit, run the attempts,
// respond or relay, settle, end the record.
func (h *harness) do(c call) reply {
	h.t.Helper()
	if c.prompt == "" {
		c.prompt = "hello"
	}
	body := chatBody(c)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
	if c.tags != "" {
		r.Header.Set("X-Switchyard-Tags", c.tags)
	}
	w := c.w
	recorder := httptest.NewRecorder()
	if w == nil {
		w = recorder
	}
	got := reply{sink: &sink{onChunk: c.onChunk}}
	rec := h.exe.Begin(r, h.snap, "chat", func(w http.ResponseWriter, e *executor.Error) {
		got.err = e
		w.WriteHeader(e.Status)
	})
	rec.Caller = executor.Anonymous
	if c.caller != nil {
		rec.Caller = c.caller
	}
	h.serve(w, rec, body, got.sink)
	rec.End()
	got.header, got.outcome, got.attempts = w.Header(), rec.Outcome, h.lastAttempts()
	if c.w == nil {
		got.body = recorder.Body.Bytes()
	}
	return got
}

func (h *harness) serve(w http.ResponseWriter, rec *executor.Record, body []byte, sink executor.Sink) {
	h.t.Helper()
	r, snap := rec.Request(), rec.Snapshot()
	req, err := providers.ParseChat(body)
	if err != nil {
		h.t.Fatalf("test request: %v", err)
	}
	rec.Requested, rec.Stream = req.Model, req.Stream
	a, aerr := h.exe.Admit(r.Context(), rec, executor.Info{Alias: req.Model,
		PromptTokens: snap.PromptTokens(rec.Caller, req.Messages), MaxTokens: req.MaxTokens,
		Tools: req.HasTools, Images: req.HasImages, Stream: req.Stream, Tags: executor.Tags(r, req.Tags)})
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	defer h.exe.Settle(rec, a)
	run := h.exe.NewRun(rec, a, executor.Work{Chat: req, Stream: req.Stream, Header: executor.ForwardHeaders(r)})
	defer run.Close()
	ans, aerr := run.Start()
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	if ans.Streaming() {
		run.Relay(w, ans, sink)
		return
	}
	run.Respond(w, ans)
}

func chatBody(c call) []byte {
	doc := map[string]any{"model": c.model,
		"messages": []map[string]string{{"role": "user", "content": c.prompt}}}
	if c.stream {
		doc["stream"] = true
		doc["stream_options"] = map[string]bool{"include_usage": true}
	}
	if c.maxTokens > 0 {
		doc["max_tokens"] = c.maxTokens
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // unreachable: plain maps of strings and numbers
	}
	return b
}

// lastAttempts reads the attempts of the last access-log line.
func (h *harness) lastAttempts() []string {
	lines := h.logs.FilterLoggerName("access").FilterMessage("request").All()
	if len(lines) == 0 {
		h.t.Fatal("no access-log line")
	}
	list, _ := lines[len(lines)-1].ContextMap()["attempts"].([]any)
	out := make([]string, 0, len(list))
	for _, a := range list {
		m, _ := a.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v", m["target"], m["outcome"]))
	}
	return out
}

// eventually polls cond until it holds; a minute without it fails the test. The
// bound is a safety net for a broken build, not a measure of speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !within(time.Minute, cond) {
		t.Fatalf("never happened: %s", what)
	}
}

// within polls cond until it holds or d has passed, and reports whether it held.
func within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// sink records a relayed stream and writes it as SSE data events, as the OpenAI
// dialect's sink does.
type sink struct {
	chunks [][]byte
	done   int
	fail   *providers.Error
	// onChunk, when set, runs after each chunk is recorded, in the middle of the relay.
	onChunk func()
}

var _ executor.Sink = (*sink)(nil)

func (s *sink) Chunk(w io.Writer, c providers.Chunk) error {
	s.chunks = append(s.chunks, bytes.Clone(c.Data))
	if s.onChunk != nil {
		s.onChunk()
	}
	_, err := fmt.Fprintf(w, "data: %s\n\n", c.Data)
	return err
}

func (s *sink) Done(w io.Writer) error {
	s.done++
	_, err := io.WriteString(w, "data: [DONE]\n\n")
	return err
}

func (s *sink) Fail(w io.Writer, e *providers.Error) error {
	s.fail = e
	_, err := io.WriteString(w, failEvent(e))
	return err
}

// failEvent is the event that ends a failed stream.
func failEvent(e *providers.Error) string {
	return fmt.Sprintf("data: {\"error\":{\"message\":%q}}\n\n", e.Message)
}

// content is the text the relayed chunks carried.
func (s *sink) content(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, data := range s.chunks {
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("relayed chunk %q: %v", data, err)
		}
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
	return b.String()
}
