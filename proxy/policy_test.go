package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/proxy"
)

// pricedConfig prices the fakes' models: $2 per 1M input tokens, $8 per 1M output.
const pricedConfig = `
drain_delay: 0s
keys:
  - {name: app, key: sk-app, team: search}
  - {name: small, key: sk-small, team: search, budget: {usd: 0.001, period: daily}}
  - {name: limited, key: sk-limited, team: data, limits: {rpm: 3}}
  - {name: tokens, key: sk-tokens, team: data, limits: {tpm: 200}}
  - {name: batch, key: sk-batch, team: data}
providers:
  - {name: eu, type: openai, base_url: "{{eu}}", region: westeurope}
  - {name: us, type: openai, base_url: "{{us}}", region: eastus}
pricing:
  - {provider: eu, model: "*", input: 2, output: 8}
  - {provider: us, model: "*", input: 1, output: 4}
models:
  - name: m
    targets:
      - {provider: us, model: us-model}
      - {provider: eu, model: eu-model, priority: 1}
  - name: cheap-first
    strategy: cheapest
    targets:
      - {provider: eu, model: eu-model}
      - {provider: us, model: us-model}
  - name: other
    targets:
      - {provider: eu, model: other-model}
policies:
  - name: residency
    match: {tags: [pii]}
    action: {regions: [westeurope]}
  - name: no-tools-for-batch
    match: {key: [batch], tools: true}
    action: {deny: "Batch keys may not call tools."}
  - name: reroute
    match: {alias: [m], team: [data]}
    action: {route: other, max_tokens: 5}
`

// newFrozenEnv runs pricedConfig on a clock stopped at noon on a fixed day: budget
// periods and rate-limit windows never turn during a test, whatever day it runs.
func newFrozenEnv(t *testing.T) *env {
	t.Helper()
	noon := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	return newEnvWith(t, pricedConfig, func(o *proxy.Options) { o.Clock = func() time.Time { return noon } }, "eu", "us")
}

func costOf(t *testing.T, resp *http.Response) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(resp.Header.Get("X-Switchyard-Cost-Usd"), 64)
	if err != nil {
		t.Fatalf("no cost header: %v", resp.Header)
	}
	return v
}

func TestCostIsComputedFromUsage(t *testing.T) {
	e := newEnv(t, pricedConfig, "eu", "us")
	resp, body := e.post("/chat/completions", "sk-app", `{"model":"m","messages":[{"role":"user","content":"price me"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var doc struct {
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	want := (float64(doc.Usage.PromptTokens)*1 + float64(doc.Usage.CompletionTokens)*4) / 1e6
	if got := costOf(t, resp); math.Abs(got-want) > 1e-12 {
		t.Errorf("cost %v, want %v from usage %+v", got, want, doc.Usage)
	}
	line := e.logs.FilterMessage("request").All()
	if c, ok := line[len(line)-1].ContextMap()["cost_usd"]; !ok || c.(float64) != want {
		t.Errorf("access log cost %v", c)
	}
}

func TestBudgetHoldsUnderConcurrency(t *testing.T) {
	e := newFrozenEnv(t)
	var mu sync.Mutex
	var spent float64
	var ok, refused int
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"request number %d asks for an answer"}]}`, i)
			resp, data := e.post("/chat/completions", "sk-small", body)
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case 200:
				ok++
				spent += costOf(t, resp)
			case 429:
				refused++
				_, code, msg := errorCode(t, data)
				if code != "insufficient_quota" || !strings.Contains(msg, `key budget "small"`) ||
					!strings.Contains(msg, "it resets at 2026-06-16T00:00:00Z") {
					t.Errorf("refusal: %s %s", code, msg)
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, data)
			}
		}()
	}
	wg.Wait()
	t.Logf("200 concurrent requests on a $0.001 budget: %d served for $%.6f, %d refused", ok, spent, refused)
	if spent > 0.001+1e-12 {
		t.Errorf("spent $%.6f over a $0.001 budget", spent)
	}
	if ok == 0 || refused == 0 {
		t.Errorf("served %d, refused %d: the budget did not bind", ok, refused)
	}
	// The store recorded exactly what the responses cost. The gauge shows the spend
	// as the last request to set it read it, and a refusal that read the store before
	// the others settled may set it last: a request that cannot fit (its worst case
	// is $0.80) reads the store again and sets the gauge from what it finds.
	eventually(t, fmt.Sprintf("recorded spend equal to the sum of costs $%.9f", spent), func() bool {
		if resp, body := e.post("/chat/completions", "sk-small",
			`{"model":"m","max_tokens":100000,"messages":[{"role":"user","content":"too dear"}]}`); resp.StatusCode != 429 {
			t.Fatalf("a request over the budget: %d %s", resp.StatusCode, body)
		}
		recorded, _ := strconv.ParseFloat(metricValue(t, e, `switchyard_budget_spend_usd{name="small",period="daily",scope="key"}`), 64)
		return math.Abs(recorded-spent) <= 1e-9
	})
}

// metricValue reads one series of /metrics.
func metricValue(t *testing.T, e *env, series string) string {
	t.Helper()
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	t.Fatalf("series %s not found", series)
	return ""
}

func TestRateLimitsPerKey(t *testing.T) {
	e := newFrozenEnv(t)
	req := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for i := range 3 {
		resp, body := e.post("/chat/completions", "sk-limited", req)
		if resp.StatusCode != 200 || resp.Header.Get("X-Ratelimit-Limit-Requests") != "3" ||
			resp.Header.Get("X-Ratelimit-Remaining-Requests") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v %s", i, resp.StatusCode, resp.Header, body)
		}
	}
	resp, body := e.post("/chat/completions", "sk-limited", req)
	_, code, _ := errorCode(t, body)
	// The clock stands at the start of a minute: the window resets in 60 s.
	if resp.StatusCode != 429 || code != "rate_limit_exceeded" || resp.Header.Get("Retry-After") != "60" ||
		resp.Header.Get("X-Ratelimit-Remaining-Requests") != "0" {
		t.Errorf("4th request: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	// Another key is not affected.
	if resp, _ := e.post("/chat/completions", "sk-app", req); resp.StatusCode != 200 {
		t.Errorf("other key: %d", resp.StatusCode)
	}
	// Tokens per minute: a prompt of ~150 estimated tokens fits once in 200.
	long := fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":%q}]}`, strings.Repeat("word ", 140))
	first, _ := e.post("/chat/completions", "sk-tokens", long)
	second, body := e.post("/chat/completions", "sk-tokens", long)
	if first.StatusCode != 200 || second.StatusCode != 429 || second.Header.Get("X-Ratelimit-Limit-Tokens") != "200" {
		t.Errorf("tpm: %d then %d %s", first.StatusCode, second.StatusCode, body)
	}
}

func TestPolicies(t *testing.T) {
	e := newEnv(t, pricedConfig, "eu", "us")
	// Data residency by tag: only the EU target may serve.
	req, _ := http.NewRequest(http.MethodPost, e.base+"/chat/completions",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"secret"}]}`))
	req.Header.Set("Authorization", "Bearer sk-app")
	req.Header.Set("X-Switchyard-Tags", "pii")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Switchyard-Provider") != "eu" {
		t.Errorf("pii request served by %q", resp.Header.Get("X-Switchyard-Provider"))
	}
	// Tags from metadata work the same way.
	resp, _ = e.post("/chat/completions", "sk-app", `{"model":"m","metadata":{"tags":"pii"},"messages":[{"role":"user","content":"x"}]}`)
	if resp.Header.Get("X-Switchyard-Provider") != "eu" {
		t.Errorf("metadata-tagged request served by %q", resp.Header.Get("X-Switchyard-Provider"))
	}
	// Deny with the rule's message.
	resp, body := e.post("/chat/completions", "sk-batch",
		`{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`)
	_, code, msg := errorCode(t, body)
	if resp.StatusCode != 403 || code != "policy_violation" || !strings.Contains(msg, "Batch keys may not call tools.") {
		t.Errorf("deny: %d %s", resp.StatusCode, body)
	}
	// Route to another alias and cap max_tokens: the upstream sees both.
	e.clouds["eu"].ResetRecords()
	resp, _ = e.post("/chat/completions", "sk-batch", `{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`)
	rec := e.clouds["eu"].Requests()
	if resp.Header.Get("X-Switchyard-Model") != "other-model" || len(rec) != 1 || !strings.Contains(string(rec[0].Body), `"max_tokens":5`) {
		t.Errorf("route+cap: model %q, upstream %d requests", resp.Header.Get("X-Switchyard-Model"), len(rec))
	}
	// Cheapest: us costs half of eu.
	for range 5 {
		resp, _ = e.post("/chat/completions", "sk-app", `{"model":"cheap-first","messages":[{"role":"user","content":"x"}]}`)
		if resp.Header.Get("X-Switchyard-Provider") != "us" {
			t.Errorf("cheapest served by %q", resp.Header.Get("X-Switchyard-Provider"))
		}
	}
}

func TestStateUnreachableFailsClosedOrOpen(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		yaml := pricedConfig + fmt.Sprintf("state: {driver: redis, url: \"redis://127.0.0.1:1\", timeout: 100ms, fail_open: %t}\n", failOpen)
		e := newEnv(t, yaml, "eu", "us")
		resp, body := e.post("/chat/completions", "sk-small", `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
		want := 503
		if failOpen {
			want = 200
		}
		if resp.StatusCode != want {
			t.Errorf("fail_open=%t: %d %s", failOpen, resp.StatusCode, body)
		}
		if e.logs.FilterMessage("shared state unavailable").Len() == 0 {
			t.Errorf("fail_open=%t: not logged", failOpen)
		}
	}
}
