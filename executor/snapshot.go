package executor

import (
	"reflect"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/registry"
	"github.com/switchyard/switchyard/responses"
)

// Snapshot is one configuration compiled for serving. A request loads it once and
// uses it to the end, so a reload never changes a request in flight.
type Snapshot struct {
	Config    *config.Config
	Router    *policy.Router
	Providers map[string]providers.Provider
	Budgets   *policy.Budgets
	Limiter   *policy.RateLimiter
	Responses *responses.Store
	LoadedAt  time.Time
	// tokensMatter is set when something reads the prompt-token estimate beyond
	// budgets and limits (rules, cost strategies): it is computed for every request.
	tokensMatter bool
}

// Compile builds a Snapshot of cfg, reusing the providers of prev (may be nil) whose
// settings did not change, so that a reload keeps their warm connections.
func (e *Executor) Compile(cfg *config.Config, prev *Snapshot) (*Snapshot, error) {
	provs, err := e.providers(cfg, prev)
	if err != nil {
		return nil, err
	}
	catalog := policy.DefaultCatalog().WithOverrides(cfg.Pricing)
	router, err := policy.NewRouter(cfg, provs, e.pool, catalog)
	if err != nil {
		return nil, err
	}
	rs, err := responses.NewStore(e.store, responses.Options{Retention: cfg.Responses.Retention,
		MaxChainItems: cfg.Responses.MaxChainItems, MaxChainBytes: cfg.Responses.MaxChainBytes,
		CacheSize: cfg.Responses.CacheSize, ShareTeam: cfg.Responses.ShareTeam})
	if err != nil {
		return nil, err
	}
	return &Snapshot{Config: cfg, Router: router, Providers: provs, LoadedAt: time.Now(), Responses: rs,
		Budgets: policy.NewBudgets(e.store, cfg, e.clock), Limiter: policy.NewRateLimiter(e.store),
		tokensMatter: tokensMatter(cfg)}, nil
}

func (e *Executor) providers(cfg *config.Config, prev *Snapshot) (map[string]providers.Provider, error) {
	out := make(map[string]providers.Provider, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		if prev != nil && prev.Config.Resilience.Timeouts == cfg.Resilience.Timeouts {
			if old := prev.Config.Provider(pc.Name); old != nil && reflect.DeepEqual(*old, pc) {
				out[pc.Name] = prev.Providers[pc.Name]
				continue
			}
		}
		p, err := registry.New(pc, cfg.Resilience.Timeouts, e.registry)
		if err != nil {
			return nil, err
		}
		out[pc.Name] = p
	}
	return out, nil
}

// tokensMatter reports whether rules or strategies read prompt tokens.
func tokensMatter(cfg *config.Config) bool {
	for _, m := range cfg.Models {
		if m.Strategy == "cheapest" || m.Strategy == "cost_slo" {
			return true
		}
	}
	for _, p := range cfg.Policies {
		if p.Match.PromptTokens.GT != nil || p.Match.PromptTokens.LT != nil ||
			p.Action.Strategy == "cheapest" || p.Action.Strategy == "cost_slo" {
			return true
		}
	}
	return false
}

// NeedsTokens reports whether anything will read a request's prompt-token estimate
// (a rule, a cost strategy, a budget or a token limit). Estimating costs ~8 µs per
// KB; without a reader a bytes/4 guess stands in.
func (s *Snapshot) NeedsTokens(c *Caller) bool {
	return s.tokensMatter || s.Config.Budget != nil || c.CountsTokens()
}

// PromptTokens estimates the prompt tokens of an OpenAI-shaped messages array, when
// something needs them (NeedsTokens).
func (s *Snapshot) PromptTokens(c *Caller, messages []byte) int {
	if s.NeedsTokens(c) {
		return policy.EstimatePromptTokens(messages)
	}
	return len(messages) / 4
}

// defaultMaxOutput stands for the output of a request without max_tokens on a model
// whose maximum output is unknown, when reserving budget for its worst case.
const defaultMaxOutput = 4096

// maxCost is the most a plan's request could cost on its most expensive eligible
// target: the budget reservation. ok is false when no eligible target has a price.
func maxCost(p *policy.Plan) (float64, bool) {
	worst, ok := 0.0, false
	p.EachEligible(func(t *policy.Target) {
		if !t.Priced {
			return
		}
		out := p.Estimate.MaxTokens
		if out == 0 {
			out = t.Price.MaxOutput
		}
		if out == 0 {
			out = defaultMaxOutput
		}
		cost := t.Price.Cost(providers.Usage{PromptTokens: p.Estimate.PromptTokens, CompletionTokens: out})
		worst, ok = max(worst, cost), true
	})
	return worst, ok
}
