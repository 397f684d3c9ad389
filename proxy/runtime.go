package proxy

import (
	"fmt"
	"reflect"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/registry"
	"github.com/switchyard/switchyard/responses"
)

// runtime is one configuration compiled for serving. A request loads it once and uses
// it to the end, so a reload never changes a request in flight.
type runtime struct {
	cfg       *config.Config
	keys      *keyring
	router    *policy.Router
	providers map[string]providers.Provider
	budgets   *policy.Budgets
	limiter   *policy.RateLimiter
	responses *responses.Store
	loadedAt  time.Time
	// tokensMatter is set when something reads the prompt-token estimate beyond
	// budgets and limits (rules, cost strategies): it is computed for every request.
	tokensMatter bool
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

// promptTokens estimates a request's prompt tokens when something will read them
// (~8 µs per KB: skipped when no rule, strategy, budget or token limit needs them).
func (rt *runtime) promptTokens(key *clientKey, req *providers.Request) int {
	if rt.tokensMatter || rt.cfg.Budget != nil || len(rt.cfg.Teams) > 0 ||
		(key.cfg != nil && (key.cfg.Budget != nil || key.cfg.Limits.TPM > 0)) {
		return policy.EstimatePromptTokens(req.Messages)
	}
	return req.PromptBytes / 4
}

func (s *Server) compile(cfg *config.Config) (*runtime, error) {
	provs, err := s.providers(cfg)
	if err != nil {
		return nil, err
	}
	catalog := policy.DefaultCatalog().WithOverrides(cfg.Pricing)
	router, err := policy.NewRouter(cfg, provs, s.pool, catalog)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	rs, err := responses.NewStore(s.store, responses.Options{Retention: cfg.Responses.Retention,
		MaxChainItems: cfg.Responses.MaxChainItems, MaxChainBytes: cfg.Responses.MaxChainBytes,
		CacheSize: cfg.Responses.CacheSize, ShareTeam: cfg.Responses.ShareTeam})
	if err != nil {
		return nil, err
	}
	return &runtime{cfg: cfg, keys: keys, router: router, providers: provs, loadedAt: time.Now(), responses: rs,
		budgets: policy.NewBudgets(s.store, cfg), limiter: policy.NewRateLimiter(s.store),
		tokensMatter: tokensMatter(cfg)}, nil
}

// providers builds the providers of cfg, reusing those of the running configuration
// whose settings did not change, so that a reload keeps their warm connections.
func (s *Server) providers(cfg *config.Config) (map[string]providers.Provider, error) {
	prev := s.rt.Load()
	out := make(map[string]providers.Provider, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		if prev != nil && prev.cfg.Resilience.Timeouts == cfg.Resilience.Timeouts {
			if old := prev.cfg.Provider(pc.Name); old != nil && reflect.DeepEqual(*old, pc) {
				out[pc.Name] = prev.providers[pc.Name]
				continue
			}
		}
		p, err := registry.New(pc, cfg.Resilience.Timeouts, s.registryOptions)
		if err != nil {
			return nil, err
		}
		out[pc.Name] = p
	}
	return out, nil
}

// defaultMaxOutput stands for the output of a request without max_tokens on a model
// whose maximum output is unknown, when reserving budget for its worst case.
const defaultMaxOutput = 4096

// maxCost is the most a plan's request could cost on its most expensive eligible
// target: the budget reservation. ok is false when no eligible target has a price.
func (rt *runtime) maxCost(p *policy.Plan) (float64, bool) {
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
