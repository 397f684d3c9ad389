package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// narrowConfig gives one key an allow-list of one alias, whose fallback and a
// rule's route lead to an alias the key may not use.
const narrowConfig = `
drain_delay: 0s
keys:
  - {name: narrow, key: sk-narrow, team: t, models: [cheap]}
  - {name: wide, key: sk-wide, team: t}
  - {name: budgeted, key: sk-budgeted, team: t, models: [solo], budget: {usd: 0.006, period: daily}}
providers:
  - {name: cheapcloud, type: openai, base_url: "{{cheapcloud}}"}
  - {name: pricey, type: openai, base_url: "{{pricey}}"}
pricing:
  - {provider: cheapcloud, model: "*", input: 1, output: 4}
  - {provider: pricey, model: "*", input: 30, output: 60}
models:
  - name: cheap
    targets: [{provider: cheapcloud, model: cheap-model}]
    fallbacks: [expensive]
  - name: expensive
    targets: [{provider: pricey, model: expensive-model}]
  - name: solo
    targets: [{provider: cheapcloud, model: cheap-model}]
policies:
  - name: upsell
    match: {tags: [vip]}
    action: {route: expensive}
resilience:
  max_attempts: 2
  retry: {base_delay: 1ms, max_delay: 2ms}
  timeouts: {first_byte: 10s, total: 20s}
`

func postWith(t *testing.T, e *env, key string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A key's allow-list binds the alias that finally serves: a rule that routes the
// request elsewhere, or a fallback, never serves an alias the key may not name.
func TestAllowListBindsRoutesAndFallbacks(t *testing.T) {
	e := newEnv(t, narrowConfig, "cheapcloud", "pricey")
	pricey := e.clouds["pricey"]
	const body = `{"model":"cheap","messages":[{"role":"user","content":"hi"}]}`
	vip := map[string]string{"X-Switchyard-Tags": "vip"}

	// The wide key shows what the rule and the fallback do.
	if resp, b := postWith(t, e, "sk-wide", vip, body); resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Provider") != "pricey" {
		t.Fatalf("wide key, routed: %d %s by %q", resp.StatusCode, b, resp.Header.Get("X-Switchyard-Provider"))
	}
	resp, b := postWith(t, e, "sk-narrow", vip, body)
	if resp.StatusCode != 404 {
		t.Errorf("narrow key routed by a rule to an alias it may not use: %d %s", resp.StatusCode, b)
	} else if _, code, _ := errorCode(t, b); code != "model_not_found" {
		t.Errorf("routed refusal code %q", code)
	}

	e.clouds["cheapcloud"].Fail(fakes.Fault{Status: 500})
	if resp, b := postWith(t, e, "sk-wide", nil, body); resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Provider") != "pricey" {
		t.Fatalf("wide key, fallback: %d %s by %q", resp.StatusCode, b, resp.Header.Get("X-Switchyard-Provider"))
	}
	pricey.ResetRecords()
	resp, b = postWith(t, e, "sk-narrow", nil, body)
	if resp.StatusCode == 200 {
		t.Errorf("narrow key served through a fallback it may not use, by %q", resp.Header.Get("X-Switchyard-Provider"))
	}
	if n := len(pricey.Requests()); n != 0 {
		t.Errorf("the fallback the key may not use received %d requests", n)
	}
}

// A model the key may not use gets the same answer as one that does not exist.
func TestRefusalsDoNotEnumerateModels(t *testing.T) {
	e := newEnv(t, narrowConfig, "cheapcloud", "pricey")
	answer := func(model string) (int, string, string, string) {
		resp, b := postWith(t, e, "sk-narrow", nil, `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		typ, code, msg := errorCode(t, b)
		return resp.StatusCode, typ, code, strings.ReplaceAll(msg, model, "<model>")
	}
	s1, t1, c1, m1 := answer("expensive")
	s2, t2, c2, m2 := answer("no-such-model")
	if s1 != s2 || t1 != t2 || c1 != c2 || m1 != m2 {
		t.Errorf("existing but forbidden: %d %s %s %q; nonexistent: %d %s %s %q", s1, t1, c1, m1, s2, t2, c2, m2)
	}
	for _, id := range []string{"expensive", "no-such-model"} {
		resp, err := http.NewRequest(http.MethodGet, e.base+"/models/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Header.Set("Authorization", "Bearer sk-narrow")
		r, err := http.DefaultClient.Do(resp)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 404 {
			t.Errorf("GET /v1/models/%s: %d, want 404", id, r.StatusCode)
		}
	}
}

// Budget holds belong to the proxy's own request ids: concurrent requests that
// share a client's X-Request-Id hold the budget once each, and the budget binds.
func TestBudgetHoldsIgnoreClientRequestID(t *testing.T) {
	e := newEnv(t, narrowConfig, "cheapcloud", "pricey")
	up := e.clouds["cheapcloud"]
	release := make(chan struct{})
	var arrived atomic.Int32
	up.Respond(func(p *fakes.Prompt) fakes.Reply {
		arrived.Add(1)
		<-release
		return fakes.Reply{Content: "ok", PromptTokens: 10, CompletionTokens: 10}
	})
	// Each request may cost up to 1000 output tokens at $4/1M: a $0.004 hold, so the
	// $0.006 budget holds one request in flight, not two.
	const body = `{"model":"solo","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`
	const n = 8
	var refused atomic.Int32
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := postWith(t, e, "sk-budgeted", map[string]string{"X-Request-Id": "same-id-for-all"}, body)
			if resp.StatusCode == 429 {
				refused.Add(1)
			}
			statuses <- resp.StatusCode
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for int(arrived.Load()+refused.Load()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := arrived.Load()
	close(release)
	wg.Wait()
	close(statuses)
	if got != 1 || refused.Load() != n-1 {
		var all []int
		for s := range statuses {
			all = append(all, s)
		}
		t.Errorf("%d concurrent requests sharing an X-Request-Id on a budget that holds one: %d reached the upstream, %d refused (statuses %v)",
			n, got, refused.Load(), all)
	}
}

// Metric labels come from the configuration: a client naming thousands of models
// that do not exist adds no series.
func TestUnknownModelsMintNoLabels(t *testing.T) {
	e := newEnv(t, narrowConfig, "cheapcloud", "pricey")
	for i := range 50 {
		postWith(t, e, "sk-wide", nil, fmt.Sprintf(`{"model":"junk-%d","messages":[{"role":"user","content":"hi"}]}`, i))
	}
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(metrics), "junk-") {
		t.Errorf("a client-chosen model name became a label value")
	}
	if got := metricValue(t, e, `switchyard_requests_total{alias="-",api="chat",provider="",status_class="4xx",team="t"}`); got != "50" {
		t.Errorf("unknown-model requests counted under alias \"-\": %s, want 50", got)
	}
}

// A rule's max_tokens cap binds what the upstream reads on the Responses API too,
// whatever the target's context window (known or not).
func TestResponsesRuleCapReachesUpstream(t *testing.T) {
	e := newEnv(t, `
drain_delay: 0s
keys: [{name: app, key: sk-app, team: t}]
providers: [{name: up, type: openai, base_url: "{{up}}"}]
models:
  - name: m
    targets: [{provider: up, model: m-upstream}]
policies:
  - name: short-answers
    match: {alias: [m]}
    action: {max_tokens: 5}
resilience: {timeouts: {first_byte: 20s, total: 60s}}
`, "up")
	resp, body := e.post("/responses", "sk-app", `{"model":"m","input":"hello","max_output_tokens":1000}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	reqs := e.clouds["up"].Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	var sent struct {
		MaxTokens           *int `json:"max_tokens"`
		MaxCompletionTokens *int `json:"max_completion_tokens"`
	}
	if err := json.Unmarshal(reqs[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*int{sent.MaxTokens, sent.MaxCompletionTokens} {
		if v != nil && *v > 5 {
			t.Errorf("upstream read max tokens %d past the rule's cap of 5: %s", *v, reqs[0].Body)
		}
	}
	if sent.MaxTokens == nil && sent.MaxCompletionTokens == nil {
		t.Errorf("no max tokens sent upstream: %s", reqs[0].Body)
	}
}
