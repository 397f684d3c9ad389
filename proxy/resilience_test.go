package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

// twoClouds: "primary" takes the traffic, "secondary" is the priority-1 standby.
// Timeouts are far above what a loaded machine takes to answer: a test that needs
// one to fire uses an upstream that never answers. open_timeout outlasts the few
// requests a test sends while a breaker must stay open.
const twoClouds = `
drain_delay: 0s
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: m
    targets:
      - {provider: primary, model: p-model}
      - {provider: secondary, model: s-model, priority: 1}
  - name: solo
    targets:
      - {provider: primary, model: p-model}
resilience:
  max_attempts: 3
  breaker: {consecutive_failures: 3, open_timeout: 2s}
  timeouts: {first_byte: 10s, total: 60s}
  max_cooldown: 1h
  retry: {base_delay: 5ms, max_delay: 20ms}
`

func chat(t *testing.T, e *env, model, prompt string) (*openai.ChatCompletion, *http.Response, error) {
	t.Helper()
	c := e.client("")
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: model, Messages: userMsg(prompt)}, option.WithResponseInto(&raw))
	return resp, raw, err
}

func servedBy(t *testing.T, e *env, model string) string {
	t.Helper()
	_, raw, err := chat(t, e, model, "hi")
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	return raw.Header.Get("X-Switchyard-Provider")
}

type targetView struct {
	ID            string  `json:"id"`
	Breaker       string  `json:"breaker"`
	CooldownUntil *string `json:"cooldown_until"`
	Available     bool    `json:"available"`
	Samples       int     `json:"samples"`
}

func (e *env) targets(t *testing.T) map[string]targetView {
	t.Helper()
	resp, err := http.Get(e.admin + "/admin/targets")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Targets []targetView `json:"targets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]targetView{}
	for _, tv := range doc.Targets {
		out[tv.ID] = tv
	}
	return out
}

func TestRateLimitedPrimaryRestsWhileSecondaryServes(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 429, RetryAfter: time.Hour, Times: 1})
	_, raw, err := chat(t, e, "m", "hi")
	if err != nil {
		t.Fatal(err)
	}
	if raw.Header.Get("X-Switchyard-Provider") != "secondary" || raw.Header.Get("X-Switchyard-Attempts") != "2" {
		t.Errorf("served by %q after %s attempts", raw.Header.Get("X-Switchyard-Provider"), raw.Header.Get("X-Switchyard-Attempts"))
	}
	// The primary rests for its Retry-After: the next requests do not touch it.
	before := len(e.clouds["primary"].Requests())
	for range 5 {
		if by := servedBy(t, e, "m"); by != "secondary" {
			t.Errorf("served by %s while primary cools down", by)
		}
	}
	if n := len(e.clouds["primary"].Requests()) - before; n != 0 {
		t.Errorf("cooling primary got %d requests", n)
	}
	tv := e.targets(t)["primary/p-model"]
	if tv.CooldownUntil == nil || tv.Available {
		t.Errorf("admin view of the resting primary: %+v", tv)
	}
}

func TestOpenBreakerAnswers503AtOnce(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 500})
	for range 3 {
		if _, _, err := chat(t, e, "solo", "hi"); err == nil {
			t.Fatal("a failing single target succeeded")
		}
	}
	if got := e.targets(t)["primary/p-model"].Breaker; got != "open" {
		t.Fatalf("breaker %s after repeated failures", got)
	}
	before := len(e.clouds["primary"].Requests())
	_, _, err := chat(t, e, "solo", "hi")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !strings.Contains(apiErr.Message, "unavailable") ||
		apiErr.Response.Header.Get("Retry-After") == "" {
		t.Fatalf("open breaker: %v", err)
	}
	if attempts := apiErr.Response.Header.Get("X-Switchyard-Attempts"); len(e.clouds["primary"].Requests()) != before || attempts != "0" {
		t.Errorf("an open breaker still called the upstream (attempts %q)", attempts)
	}
	// After open_timeout one probe goes through; its success closes the breaker.
	e.clouds["primary"].Clear()
	waitBreaker(t, e, "primary/p-model", "half-open")
	if by := servedBy(t, e, "solo"); by != "primary" {
		t.Errorf("probe served by %s", by)
	}
	if got := e.targets(t)["primary/p-model"].Breaker; got != "closed" {
		t.Errorf("breaker %s after a successful probe", got)
	}
}

// waitBreaker waits until target's breaker reads state, as open_timeout passes.
func waitBreaker(t *testing.T, e *env, target, state string) {
	t.Helper()
	eventually(t, "breaker of "+target+" "+state, func() bool { return e.targets(t)[target].Breaker == state })
}

func TestCallerErrorsNeitherFailOverNorCount(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 400, Message: "bad 'temperature'"})
	for range 5 {
		_, _, err := chat(t, e, "m", "hi")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
			t.Fatalf("caller error: %v", err)
		}
	}
	if n := len(e.clouds["secondary"].Requests()); n != 0 {
		t.Errorf("a caller's 400 failed over %d times", n)
	}
	if got := e.targets(t)["primary/p-model"].Breaker; got != "closed" {
		t.Errorf("caller errors tripped the breaker: %s", got)
	}
}

func TestContextLengthTriesLargerWindowWithoutPenalty(t *testing.T) {
	e := newEnv(t, `
drain_delay: 0s
providers:
  - {name: small, type: openai, base_url: "{{small}}"}
  - {name: large, type: openai, base_url: "{{large}}"}
models:
  - name: m
    targets:
      - {provider: small, model: s, context_window: 8000}
      - {provider: large, model: l, context_window: 200000, priority: 1}
resilience:
  breaker: {consecutive_failures: 1}
`, "small", "large")
	e.clouds["small"].Fail(fakes.Fault{Status: 400, Code: "context_length_exceeded",
		Message: "This model's maximum context length is 8000 tokens."})
	for range 3 {
		if by := servedBy(t, e, "m"); by != "large" {
			t.Errorf("served by %s", by)
		}
	}
	if got := e.targets(t)["small/s"].Breaker; got != "closed" {
		t.Errorf("a context-length error counted against the target: %s", got)
	}
	// With nowhere larger to go, the client gets OpenAI's error code.
	e.clouds["large"].Fail(fakes.Fault{Status: 400, Code: "context_length_exceeded", Message: "too long"})
	_, _, err := chat(t, e, "m", "hi")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
		t.Errorf("exhausted: %v", err)
	}
}

func TestContentFilterReturnOrFailover(t *testing.T) {
	e := newEnv(t, `
drain_delay: 0s
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: lenient
    on_content_filter: failover
    targets:
      - {provider: primary, model: p}
      - {provider: secondary, model: s, priority: 1}
  - name: strict
    targets:
      - {provider: primary, model: p}
      - {provider: secondary, model: s, priority: 1}
`, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 400, Code: "content_filter", Message: "filtered by policy"})
	if by := servedBy(t, e, "lenient"); by != "secondary" {
		t.Errorf("failover mode: served by %s", by)
	}
	before := len(e.clouds["secondary"].Requests())
	_, _, err := chat(t, e, "strict", "hi")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "content_filter" {
		t.Errorf("return mode: %v", err)
	}
	if len(e.clouds["secondary"].Requests()) != before {
		t.Error("return mode failed over")
	}
}

func TestCredentialRejectedMovesOnAndLogsLoudly(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 401, Message: "Incorrect API key provided: sk-abc***xyz"})
	_, raw, err := chat(t, e, "m", "hi")
	if err != nil || raw.Header.Get("X-Switchyard-Provider") != "secondary" {
		t.Fatalf("served by %v (%v)", raw, err)
	}
	if e.logs.FilterMessageSnippet("misconfigured").Len() == 0 {
		t.Error("no loud log about the misconfigured target")
	}
	// When nothing else serves, the client learns the upstream refused us, not the
	// upstream's message (which may quote part of our key).
	_, _, err = chat(t, e, "solo", "hi")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || strings.Contains(apiErr.Message, "sk-abc") || !strings.Contains(apiErr.Message, "credentials") {
		t.Errorf("credential error to client: %v", err)
	}
}

func TestHungUpstreamAbandonedAtFirstByte(t *testing.T) {
	// The primary never answers: its first_byte timeout, short here so that the test
	// is, fires whatever the machine's load.
	const firstByte = 500 * time.Millisecond
	e := newEnv(t, strings.Replace(twoClouds, "{provider: primary, model: p-model}",
		"{provider: primary, model: p-model, timeouts: {first_byte: 500ms}}", 1), "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Hang: true, Times: 1})
	start := time.Now()
	_, raw, err := chat(t, e, "m", "hi")
	if err != nil || raw.Header.Get("X-Switchyard-Provider") != "secondary" || raw.Header.Get("X-Switchyard-Attempts") != "2" {
		t.Fatalf("hung primary: %v, served by %q after %q attempts", err, raw.Header.Get("X-Switchyard-Provider"),
			raw.Header.Get("X-Switchyard-Attempts"))
	}
	if d := time.Since(start); d < firstByte {
		t.Errorf("failed over after %v, before first_byte (%v)", d, firstByte)
	}
	waitCanceled(t, e.clouds["primary"], 1)
	// A stream whose upstream sends headers but no content in time is abandoned too.
	e.clouds["primary"].Fail(fakes.Fault{ChunkDelay: time.Hour, Times: 1})
	c := e.client("")
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "m",
		Messages: userMsg("slow")}, option.WithResponseInto(&raw))
	var text string
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 {
			text += ch.Choices[0].Delta.Content
		}
	}
	if stream.Err() != nil || raw.Header.Get("X-Switchyard-Provider") != "secondary" || text != "secondary heard: slow" {
		t.Errorf("slow stream: %v %q %q", stream.Err(), raw.Header.Get("X-Switchyard-Provider"), text)
	}
	waitCanceled(t, e.clouds["primary"], 2)
}

// waitCanceled waits until the fake has seen n requests canceled by the proxy, and
// checks it sees no more.
func waitCanceled(t *testing.T, f *fakes.OpenAI, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d requests canceled upstream", n), func() bool { return f.Canceled() >= n })
	if f.Canceled() != n {
		t.Errorf("%d requests canceled upstream, want %d", f.Canceled(), n)
	}
}

func TestStreamFailoverBeforeFirstContentIsInvisible(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	// The primary sends its role chunk, then dies: nothing the client would see.
	e.clouds["primary"].Fail(fakes.Fault{CutAfter: 1, Times: 1})
	resp, body := e.post("/chat/completions", "", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	events := streamEvents(t, body)
	if resp.Header.Get("X-Switchyard-Provider") != "secondary" || events[len(events)-1] != "[DONE]" {
		t.Fatalf("provider %q events %q", resp.Header.Get("X-Switchyard-Provider"), events)
	}
	roles := 0
	for _, ev := range events {
		if strings.Contains(ev, `"role":"assistant"`) {
			roles++
		}
		if strings.Contains(ev, "primary") {
			t.Errorf("the failed attempt leaked into the stream: %s", ev)
		}
	}
	if roles != 1 {
		t.Errorf("%d role chunks", roles)
	}
}

func TestStreamFailureAfterFirstByteEndsWithErrorEvent(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{CutAfter: 3, Times: 1})
	c := e.client("")
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "m",
		Messages: userMsg("one two three four five")})
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "upstream") {
		t.Errorf("cut stream after content: err %v after %d chunks", err, n)
	}
	if got := len(e.clouds["secondary"].Requests()); got != 0 {
		t.Errorf("retried after the first byte: secondary got %d requests", got)
	}
}

func TestSingleTargetRetriedWithBackoff(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 503, Times: 2})
	_, raw, err := chat(t, e, "solo", "hi")
	if err != nil || raw.Header.Get("X-Switchyard-Attempts") != "3" {
		t.Errorf("retries: %v attempts=%s", err, raw.Header.Get("X-Switchyard-Attempts"))
	}
}

func TestFallbackAliasAfterEveryTargetFailed(t *testing.T) {
	e := newEnv(t, `
drain_delay: 0s
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: big
    targets: [{provider: primary, model: big-model}]
    fallbacks: [small]
  - name: small
    targets: [{provider: secondary, model: small-model}]
`, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 502})
	_, raw, err := chat(t, e, "big", "hi")
	if err != nil || raw.Header.Get("X-Switchyard-Model") != "small-model" {
		t.Errorf("fallback: %v %v", err, raw.Header)
	}
}

func TestHedgingRacesASlowTarget(t *testing.T) {
	e := newEnv(t, `
drain_delay: 0s
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: m
    hedge_after: 100ms
    targets:
      - {provider: primary, model: p}
      - {provider: secondary, model: s, priority: 1}
`, "primary", "secondary")
	// The primary never answers: only the hedge can serve, and it must cancel the
	// primary once it has.
	e.clouds["primary"].Fail(fakes.Fault{Hang: true, Times: 1})
	_, raw, err := chat(t, e, "m", "hi")
	if err != nil || raw.Header.Get("X-Switchyard-Provider") != "secondary" || raw.Header.Get("X-Switchyard-Attempts") != "2" {
		t.Fatalf("hedge: %v", err)
	}
	waitCanceled(t, e.clouds["primary"], 1)
}

func TestAdminTargetsReportsState(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	servedBy(t, e, "m")
	resp, err := http.Get(e.admin + "/admin/targets")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, field := range []string{`"breaker":"closed"`, `"latency_ms"`, `"ttft_ms"`, `"success_rate"`, `"cooldown_until":null`, `"aliases":["m","solo"]`} {
		if !strings.Contains(string(body), field) {
			t.Errorf("admin targets lacks %s: %s", field, body)
		}
	}
}

func TestErrorsCarryAttemptHeaders(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 500})
	resp, body := e.post("/chat/completions", "", `{"model":"solo","messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != 502 || resp.Header.Get("X-Switchyard-Attempts") != "3" ||
		resp.Header.Get("X-Switchyard-Provider") != "primary" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
}
