package executor_test

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/providers/fakes"
)

// admission: priced aliases behind keys with limits, budgets and rules. At $1,000
// per 1M tokens (a tenth of a cent per token) a request costs cents, so a budget
// of a few cents runs out in a few requests.
const admission = `
keys:
  - {name: open, key: sk-open}
  - {name: slow, key: sk-slow, limits: {rpm: 1}}
  - {name: thrifty, key: sk-thrifty, budget: {usd: 0.05, period: total}}
  - {name: roomy, key: sk-roomy, budget: {usd: 1, period: total}}
  - {name: intern, key: sk-intern}
  - {name: basic, key: sk-basic, models: [m]}
providers:
  - {name: up, type: openai, base_url: "{{up}}"}
models:
  - name: m
    targets: [{provider: up, model: u}]
  - name: premium
    targets: [{provider: up, model: u-premium}]
pricing:
  - {provider: up, model: u, input: 1000, output: 1000}
  - {provider: up, model: u-premium, input: 1000, output: 1000}
policies:
  - name: no-interns
    match: {key: [intern]}
    action: {deny: "Interns may not call models."}
  - name: vip-goes-premium
    match: {tags: [vip]}
    action: {route: premium}
`

func TestRateLimitedCallerGets429WithItsRate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, admission, cloud("up"))
	slow := h.caller("slow")

	h.do(call{model: "m", caller: slow}).served(t, "up")
	r := h.do(call{model: "m", caller: slow})
	r.failed(t, http.StatusTooManyRequests, "rate_limit_exceeded")
	if r.err.Rate == nil || r.err.Rate.Limit != "rpm" || r.err.Rate.WindowLimit() != 1 {
		t.Errorf("Rate %+v, want the exhausted rpm window of 1", r.err.Rate)
	}
	if r.err.RetryAfter <= 0 {
		t.Errorf("RetryAfter %v", r.err.RetryAfter)
	}
	if n := h.requests("up"); n != 1 {
		t.Errorf("upstream got %d requests; the refused one must not be sent", n)
	}
}

func TestExhaustedBudgetGets429InsufficientQuota(t *testing.T) {
	t.Parallel()
	h := newHarness(t, admission, cloud("up"))
	thrifty := h.caller("thrifty")

	served := 0
	var refused reply
	for range 50 {
		r := h.do(call{model: "m", caller: thrifty, maxTokens: 16})
		if r.err != nil {
			refused = r
			break
		}
		served++
	}
	if served == 0 || refused.err == nil {
		t.Fatalf("served %d requests and none was refused", served)
	}
	refused.failed(t, http.StatusTooManyRequests, "insufficient_quota")
	if refused.err.Type != "insufficient_quota" || !strings.Contains(refused.err.Message, `"thrifty"`) {
		t.Errorf("refusal %+v, want it to name the key's budget", refused.err)
	}
	if n := h.requests("up"); n != served {
		t.Errorf("upstream got %d requests for %d served", n, served)
	}
}

func TestSettleReplacesTheHoldWithTheActualCost(t *testing.T) {
	t.Parallel()
	h := newHarness(t, admission, cloud("up"))
	roomy := h.caller("roomy")

	r := h.do(call{model: "m", caller: roomy, maxTokens: 64})
	r.served(t, "up")
	if !r.outcome.Priced || r.outcome.Cost <= 0 {
		t.Fatalf("outcome %+v: want a priced answer", r.outcome)
	}
	if spent := h.spentWithNothingHeld(roomy); math.Abs(spent-r.outcome.Cost) > 2e-9 { // whole nano-dollars
		t.Errorf("spent $%v, want the answer's cost $%v", spent, r.outcome.Cost)
	}
}

func TestFailedRequestReleasesItsHold(t *testing.T) {
	t.Parallel()
	h := newHarness(t, admission, cloud("up"))
	roomy := h.caller("roomy")
	h.clouds["up"].Fail(fakes.Fault{Status: http.StatusInternalServerError})

	h.do(call{model: "m", caller: roomy, maxTokens: 64}).failed(t, http.StatusBadGateway, "upstream_error")
	if spent := h.spentWithNothingHeld(roomy); spent != 0 {
		t.Errorf("a request that was not served spent $%v", spent)
	}
}

// spentWithNothingHeld is what c's budget has spent, checked to hold no reservation:
// the rest of the budget can be reserved to the nano-dollar.
func (h *harness) spentWithNothingHeld(c *executor.Caller) float64 {
	h.t.Helper()
	ctx := context.Background()
	budgets := h.snap.Budgets
	scopes := budgets.Scopes(c.Name, c.Team, c.Budget, c.TeamBudget)
	if len(scopes) != 1 {
		h.t.Fatalf("scopes %+v, want the key's budget", scopes)
	}
	spent, err := budgets.Spent(ctx, scopes[0])
	if err != nil {
		h.t.Fatal(err)
	}
	hold, exceeded, err := budgets.Reserve(ctx, "probe", scopes, c.Budget.USD-spent-2e-9)
	if err != nil || exceeded != nil {
		h.t.Fatalf("reserving what is left: %v %+v: the request's hold outlived it", err, exceeded)
	}
	if _, err := budgets.Settle(ctx, hold, 0); err != nil {
		h.t.Fatal(err)
	}
	return spent
}

func TestPolicyDenyGets403(t *testing.T) {
	t.Parallel()
	h := newHarness(t, admission, cloud("up"))

	r := h.do(call{model: "m", caller: h.caller("intern")})
	r.failed(t, http.StatusForbidden, "policy_violation")
	if !strings.Contains(r.err.Message, "Interns may not call models.") || !strings.Contains(r.err.Message, "no-interns") {
		t.Errorf("message %q, want the rule's message and name", r.err.Message)
	}
	if n := h.requests("up"); n != 0 {
		t.Errorf("a denied request reached upstream (%d)", n)
	}
}

func TestRuleCannotRouteToAnAliasTheCallerMayNotUse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, admission, cloud("up"))

	// The rule works for a key allowed both aliases...
	r := h.do(call{model: "m", caller: h.caller("open"), tags: "vip"})
	r.served(t, "up")
	if got := r.header.Get("X-Switchyard-Model"); got != "u-premium" {
		t.Fatalf("the vip rule routed to %q", got)
	}
	// ...and is no way around a key's allow-list.
	r = h.do(call{model: "m", caller: h.caller("basic"), tags: "vip"})
	r.failed(t, http.StatusNotFound, "model_not_found")
	if !strings.Contains(r.err.Message, "premium") {
		t.Errorf("message %q", r.err.Message)
	}
	if n := h.requests("up"); n != 1 {
		t.Errorf("upstream got %d requests, want only the allowed one", n)
	}
}
