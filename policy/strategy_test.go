package policy

import (
	"testing"
	"time"
)

const priced = `
providers:
  - {name: cheap, type: openai, base_url: "http://a"}
  - {name: dear, type: openai, base_url: "http://b"}
  - {name: mystery, type: openai, base_url: "http://c"}
pricing:
  - {provider: cheap, model: m, input: 0.15, output: 0.60}
  - {provider: dear, model: m, input: 2.50, output: 10.00}
models:
  - name: by-price
    strategy: cheapest
    targets:
      - {provider: dear, model: m}
      - {provider: cheap, model: m}
      - {provider: mystery, model: m}
  - name: by-speed
    strategy: fastest
    targets:
      - {provider: dear, model: m}
      - {provider: cheap, model: m}
  - name: slo
    strategy: cost_slo
    slo: 500ms
    targets:
      - {provider: dear, model: m}
      - {provider: cheap, model: m}
`

func TestCheapestPicksLowestEstimatedCost(t *testing.T) {
	r := router(t, priced)
	est := Estimate{PromptTokens: 1000, MaxTokens: 100}
	for range 20 {
		if got := r.NewPlan(r.Alias("by-price"), est, nil).Next().ProviderName; got != "cheap" {
			t.Fatalf("cheapest picked %s", got)
		}
	}
	p := r.NewPlan(r.Alias("by-price"), est, nil)
	if got := sequence(p); got != "cheap,dear,mystery" {
		t.Errorf("order by cost, unpriced last: %q", got)
	}
	c, ok := EstimatedCost(r.Alias("by-price").Tiers[0][1], est)
	if !ok || c != (1000*0.15+100*0.60)/1e6 {
		t.Errorf("estimated cost %v %v", c, ok)
	}
}

func TestFastestAndCostSLO(t *testing.T) {
	r := router(t, priced)
	dear, cheap := r.Alias("by-speed").Tiers[0][0], r.Alias("by-speed").Tiers[0][1]
	for range 30 {
		dear.Health.Observe(true, 100*time.Millisecond, 0)
		cheap.Health.Observe(true, 900*time.Millisecond, 0)
	}
	if got := r.NewPlan(r.Alias("by-speed"), Estimate{}, nil).Next().ProviderName; got != "dear" {
		t.Errorf("fastest picked %s", got)
	}
	// cheap misses the 500ms SLO: cost_slo pays for dear.
	if got := r.NewPlan(r.Alias("slo"), Estimate{}, nil).Next().ProviderName; got != "dear" {
		t.Errorf("cost_slo with cheap too slow picked %s", got)
	}
	for range 200 {
		cheap.Health.Observe(true, 200*time.Millisecond, 0)
	}
	if got := r.NewPlan(r.Alias("slo"), Estimate{}, nil).Next().ProviderName; got != "cheap" {
		t.Errorf("cost_slo with both within SLO picked %s", got)
	}
}
