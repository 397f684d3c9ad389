package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers"
)

type nopProvider struct{}

func (nopProvider) Chat(context.Context, *providers.Call) (*providers.Response, error) {
	return nil, nil
}
func (nopProvider) ChatStream(context.Context, *providers.Call) (providers.Stream, error) {
	return nil, nil
}

func router(t *testing.T, yaml string) *Router {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	provs := map[string]providers.Provider{}
	for _, p := range cfg.Providers {
		provs[p.Name] = nopProvider{}
	}
	r, err := NewRouter(cfg, provs, health.NewPool(nil), DefaultCatalog().WithOverrides(cfg.Pricing))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const tiers = `
providers:
  - {name: a, type: openai, base_url: "http://a"}
  - {name: b, type: openai, base_url: "http://b"}
  - {name: c, type: openai, base_url: "http://c"}
  - {name: d, type: openai, base_url: "http://d"}
models:
  - name: main
    targets:
      - {provider: a, model: m, weight: 3}
      - {provider: b, model: m, weight: 1}
      - {provider: c, model: m, priority: 1}
    fallbacks: [backup]
  - name: backup
    targets:
      - {provider: d, model: m}
`

func sequence(p *Plan) string {
	var ids []string
	for t := p.Next(); t != nil; t = p.Next() {
		ids = append(ids, t.ProviderName)
	}
	return strings.Join(ids, ",")
}

func TestPlanOrdersTiersThenFallbacks(t *testing.T) {
	r := router(t, tiers)
	got := sequence(r.NewPlan(r.Alias("main"), Estimate{}, nil))
	if got != "a,b,c,d" && got != "b,a,c,d" {
		t.Errorf("plan %q: want tier 0 (a, b) then c then the fallback d", got)
	}
}

func TestWeightsSplitTraffic(t *testing.T) {
	r := router(t, tiers)
	counts := map[string]int{}
	const n = 20000
	for range n {
		counts[r.NewPlan(r.Alias("main"), Estimate{}, nil).Next().ProviderName]++
	}
	share := float64(counts["a"]) / n
	if share < 0.73 || share > 0.77 || counts["c"] != 0 {
		t.Errorf("counts %v: a should take 75%% and c (priority 1) nothing", counts)
	}
}

func TestUnavailableTargetsAreSkipped(t *testing.T) {
	r := router(t, tiers)
	a := r.Alias("main")
	for _, t0 := range a.Tiers[0] {
		t0.Health.CoolDown(60e9)
	}
	p := r.NewPlan(a, Estimate{}, nil)
	if got := sequence(p); got != "c,d" {
		t.Errorf("with tier 0 cooling down: %q", got)
	}
	if !p.SawUnavailable() || p.RetryAfter() < 59e9 {
		t.Errorf("unavailable not reported: %v %v", p.SawUnavailable(), p.RetryAfter())
	}
}

func TestTooLongSkipsSmallerWindows(t *testing.T) {
	r := router(t, `
providers:
  - {name: small, type: openai, base_url: "http://a"}
  - {name: big, type: openai, base_url: "http://b"}
  - {name: unknown, type: openai, base_url: "http://c"}
models:
  - name: m
    targets:
      - {provider: small, model: s, context_window: 8000}
      - {provider: big, model: b, context_window: 128000, priority: 2}
      - {provider: unknown, model: u, priority: 1}
`)
	p := r.NewPlan(r.Alias("m"), Estimate{}, nil)
	first := p.Next()
	p.TooLong(first)
	if got := fmt.Sprint(first.ProviderName, ",", sequence(p)); got != "small,unknown,big" {
		t.Errorf("after a context-length failure on small: %q", got)
	}
}
