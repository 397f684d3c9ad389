package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The chaos suite: three clouds behind one alias, two of them failing in mixed ways,
// and a standby tier. It asserts what the issue promises, in order and outcome (who
// served, whole answers, attempts, breaker states), never how fast: the timeouts are
// far above what a loaded 2-core machine under -race takes to answer, and the
// faults that must end in a timeout (Hang) never answer at all.
const chaosConfig = `
drain_delay: 0s
providers:
  - {name: steady, type: openai, base_url: "{{steady}}"}
  - {name: flaky, type: openai, base_url: "{{flaky}}"}
  - {name: doomed, type: openai, base_url: "{{doomed}}"}
  - {name: standby, type: openai, base_url: "{{standby}}"}
models:
  - name: m
    targets:
      - {provider: steady, model: s, weight: 2}
      - {provider: flaky, model: f, weight: 1}
      - {provider: doomed, model: d, weight: 1}
      - {provider: standby, model: b, priority: 1}
resilience:
  max_attempts: 4
  breaker: {consecutive_failures: 5, open_timeout: 1s, half_open_probes: 1}
  timeouts: {first_byte: 10s, total: 60s}
  max_cooldown: 1s
  retry: {base_delay: 5ms, max_delay: 50ms}
`

const (
	chaosThreshold   = 5
	chaosOpenTimeout = time.Second
	chaosConcurrency = 32
	chaosMaxAttempts = 4
)

type loadResult struct {
	ok, failed int
	byProvider map[string]int
	// attempts counts answers by X-Switchyard-Attempts.
	attempts  map[int]int
	latencies []time.Duration
	errors    []string
}

// load sends n requests (a third of them streamed) at the given concurrency, as
// an application's HTTP client would, and checks each complete answer.
func load(t *testing.T, e *env, n, concurrency int) loadResult {
	t.Helper()
	var mu sync.Mutex
	res := loadResult{byProvider: map[string]int{}, attempts: map[int]int{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				stream := i%3 == 0
				prompt := fmt.Sprintf("request %d", i)
				body := fmt.Sprintf(`{"model":"m","stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, prompt)
				start := time.Now()
				provider, attempts, err := send(client, e.base, body, stream, prompt)
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					res.failed++
					if len(res.errors) < 5 {
						res.errors = append(res.errors, err.Error())
					}
				} else {
					res.ok++
					res.byProvider[provider]++
					res.attempts[attempts]++
					res.latencies = append(res.latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

// send makes one request and verifies the answer is whole: the complete text for a
// non-streamed reply, every chunk and [DONE] for a stream. It returns the provider
// that served and the attempts the proxy made.
func send(client *http.Client, base, body string, stream bool, prompt string) (string, int, error) {
	resp, err := client.Post(base+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	provider := resp.Header.Get("X-Switchyard-Provider")
	if resp.StatusCode != 200 {
		return "", 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, data)
	}
	attempts, err := strconv.Atoi(resp.Header.Get("X-Switchyard-Attempts"))
	if err != nil {
		return "", 0, fmt.Errorf("X-Switchyard-Attempts: %v", err)
	}
	want := provider + " heard: " + prompt
	if !stream {
		if !bytes.Contains(data, []byte(`"content":"`+want+`"`)) {
			return "", 0, fmt.Errorf("corrupted answer from %s: %s", provider, data)
		}
		return provider, attempts, nil
	}
	var text strings.Builder
	events := strings.Split(strings.TrimSpace(string(data)), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		return "", 0, fmt.Errorf("stream from %s cut: %q", provider, events[len(events)-1])
	}
	for _, ev := range events {
		if i := strings.Index(ev, `"content":"`); i >= 0 {
			rest := ev[i+len(`"content":"`):]
			text.WriteString(rest[:strings.IndexByte(rest, '"')])
		}
		if strings.Contains(ev, `"error"`) {
			return "", 0, fmt.Errorf("stream error: %s", ev)
		}
	}
	if text.String() != want {
		return "", 0, fmt.Errorf("stream text %q, want %q", text.String(), want)
	}
	return provider, attempts, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// flakyFaults is a seeded random mix: random 500s, 429s with Retry-After, resets,
// hangs, streams cut before their first event, and successes.
func flakyFaults(n int) []fakes.Fault {
	rng := rand.New(rand.NewPCG(42, 7))
	out := make([]fakes.Fault, n)
	for i := range out {
		switch r := rng.Float64(); {
		case r < 0.10:
			out[i] = fakes.Fault{Status: 500, Times: 1}
		case r < 0.18:
			out[i] = fakes.Fault{Status: 429, RetryAfter: 50 * time.Millisecond, Times: 1}
		case r < 0.25:
			out[i] = fakes.Fault{Reset: true, Times: 1}
		case r < 0.30:
			out[i] = fakes.Fault{Hang: true, Times: 1}
		case r < 0.38:
			out[i] = fakes.Fault{CutAfter: -1, Times: 1} // streams only; others succeed
		default:
			out[i] = fakes.Fault{Latency: 20 * time.Millisecond, Times: 1}
		}
	}
	return out
}

// breakerTransitions lists the logged breaker changes of target, in order.
func breakerTransitions(e *env, target string) []string {
	var out []string
	for _, tr := range e.logs.FilterMessage("circuit breaker changed").All() {
		if m := tr.ContextMap(); m["target"] == target {
			out = append(out, fmt.Sprintf("%v>%v", m["from"], m["to"]))
		}
	}
	return out
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos suite skipped in -short mode")
	}
	e := newEnv(t, chaosConfig, "steady", "flaky", "doomed", "standby")
	steady, flaky, doomed, standby := e.clouds["steady"], e.clouds["flaky"], e.clouds["doomed"], e.clouds["standby"]

	// Clouds answer in tens of milliseconds, as LLM endpoints do at best.
	for _, f := range []*fakes.OpenAI{steady, flaky, doomed, standby} {
		f.Fail(fakes.Fault{Latency: 20 * time.Millisecond})
	}

	// Phase 1: every target healthy. Each request is served at its first attempt,
	// weights hold, the standby tier serves nothing.
	start := time.Now()
	healthy := load(t, e, 2000, chaosConcurrency)
	t.Logf("healthy: %d ok, %d failed in %v; by provider %v; attempts %v; p50 %v p99 %v", healthy.ok, healthy.failed,
		time.Since(start).Round(time.Millisecond), healthy.byProvider, healthy.attempts,
		percentile(healthy.latencies, .5), percentile(healthy.latencies, .99))
	if healthy.failed != 0 {
		t.Fatalf("%d failures among healthy targets: %v", healthy.failed, healthy.errors)
	}
	if healthy.attempts[1] != healthy.ok {
		t.Errorf("healthy targets needed retries or failovers: answers by attempts %v", healthy.attempts)
	}
	// 2000 draws: ±5 points is over 4 standard deviations for each share.
	for name, want := range map[string]float64{"steady": 0.50, "flaky": 0.25, "doomed": 0.25} {
		share := float64(healthy.byProvider[name]) / float64(healthy.ok)
		t.Logf("weight check: %s served %.1f%% (configured %.0f%%)", name, 100*share, 100*want)
		if share < want-0.05 || share > want+0.05 {
			t.Errorf("%s served %.1f%%, want %.0f%% ± 5", name, 100*share, 100*want)
		}
	}
	if standby.Served() != 0 {
		t.Errorf("the priority-1 standby served %d requests while priority 0 was healthy", standby.Served())
	}

	// Phase 2: "flaky" fails in mixed ways, "doomed" is down. Every request is served,
	// whole, by a healthy target, within max_attempts; "steady" is always there to
	// take over, so the standby tier is never needed.
	flaky.Clear()
	for _, f := range flakyFaults(6000) {
		flaky.Fail(f)
	}
	doomed.Clear()
	doomed.Fail(fakes.Fault{Status: 503})
	doomedBefore := len(doomed.Requests())
	death := time.Now()
	chaos := load(t, e, 2000, chaosConcurrency)
	outage := time.Since(death)
	doomedGot := len(doomed.Requests()) - doomedBefore
	t.Logf("chaos: %d ok, %d failed in %v; by provider %v; attempts %v; p50 %v p99 %v", chaos.ok, chaos.failed,
		outage.Round(time.Millisecond), chaos.byProvider, chaos.attempts,
		percentile(chaos.latencies, .5), percentile(chaos.latencies, .99))
	if chaos.failed != 0 {
		t.Errorf("%d client-visible failures: %v", chaos.failed, chaos.errors)
	}
	if chaos.byProvider["doomed"] != 0 || chaos.byProvider["standby"] != 0 {
		t.Errorf("served by the dead target or the standby: %v", chaos.byProvider)
	}
	for n := range chaos.attempts {
		if n < 1 || n > chaosMaxAttempts {
			t.Errorf("answers after %d attempts (max_attempts %d): %v", n, chaosMaxAttempts, chaos.attempts)
		}
	}
	if chaos.attempts[1] == chaos.ok {
		t.Error("no request failed over: the faults did not bite")
	}
	// What reaches a dead target is bounded by its breaker, not by the load: the
	// attempts admitted before it opened (the failures that tripped it, plus at most
	// one in flight per concurrent client) and one probe per open_timeout after.
	probes := int(outage/chaosOpenTimeout) + 1
	bound := chaosThreshold + chaosConcurrency + probes
	t.Logf("dead target received %d of %d requests' attempts during the outage (bound: threshold %d + concurrency %d + %d probes)",
		doomedGot, chaos.ok, chaosThreshold, chaosConcurrency, probes)
	if doomedGot > bound {
		t.Errorf("dead target received %d requests, bound %d", doomedGot, bound)
	}
	if got := e.targets(t)["doomed/d"].Breaker; got == "closed" {
		t.Errorf("dead target's breaker %s after the outage", got)
	}
	if tr := breakerTransitions(e, "doomed/d"); len(tr) == 0 || tr[0] != "closed>open" {
		t.Errorf("dead target's breaker transitions %v, want closed>open first", tr)
	}
	if tr := breakerTransitions(e, "steady/s"); len(tr) != 0 {
		t.Errorf("steady's breaker changed: %v", tr)
	}

	// Phase 3: "doomed" recovers. Once open_timeout has passed, its breaker lets a
	// probe through; the probe's success closes it and doomed serves again.
	flaky.Clear()
	doomed.Clear()
	doomed.Fail(fakes.Fault{Latency: 20 * time.Millisecond})
	servedBefore := doomed.Served()
	waitBreaker(t, e, "doomed/d", "half-open")
	sent := 0
	for doomed.Served() == servedBefore && sent < 400 {
		if res := load(t, e, 20, 4); res.failed != 0 {
			t.Fatalf("after recovery: %v", res.errors)
		}
		sent += 20
	}
	// Doomed is drawn with weight 1/4: missing it 400 times has odds below 1e-49.
	if doomed.Served() == servedBefore {
		t.Fatalf("recovered target not served again in %d requests after open_timeout", sent)
	}
	t.Logf("recovered target served again within %d requests after its breaker half-opened", sent)
	if got := e.targets(t)["doomed/d"].Breaker; got != "closed" {
		t.Errorf("recovered target's breaker %s after a successful probe", got)
	}
	if tr := breakerTransitions(e, "doomed/d"); len(tr) == 0 || tr[len(tr)-1] != "half-open>closed" {
		t.Errorf("dead target's breaker transitions %v, want half-open>closed last", tr)
	}
	if standby.Served() != 0 {
		t.Errorf("standby served %d while steady (priority 0) stayed healthy", standby.Served())
	}
	t.Logf("breaker transitions of doomed: %v", breakerTransitions(e, "doomed/d"))
	t.Logf("attempt outcomes: %s", strings.Join(attemptOutcomes(t, e), ", "))
	t.Logf("requests received: steady %d, flaky %d, doomed %d, standby %d",
		len(steady.Requests()), len(flaky.Requests()), len(doomed.Requests()), len(standby.Requests()))
}

// attemptOutcomes reads switchyard_upstream_attempts_total from /metrics as a user's
// Prometheus would.
func attemptOutcomes(t *testing.T, e *env) []string {
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "switchyard_upstream_attempts_total{") {
			continue
		}
		target := between(line, `target="`, `"`)
		outcome := between(line, `outcome="`, `"`)
		out = append(out, target+" "+outcome+"="+line[strings.LastIndexByte(line, ' ')+1:])
	}
	sort.Strings(out)
	return out
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	return s[:strings.Index(s, end)]
}
