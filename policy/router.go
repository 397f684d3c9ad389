// Package policy decides what may serve a request and in which order: model aliases
// and their targets, priority tiers, strategies, and (later in the request) rules,
// prices, budgets and rate limits. It reads target health; it never sends anything.
package policy

import (
	"fmt"
	"sort"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers"
)

// Target is one (provider, upstream model) pair behind an alias.
type Target struct {
	// ID is "provider/model", the identity health state is kept under.
	ID           string
	Provider     providers.Provider
	ProviderName string
	ProviderType string
	Region       string
	// Model is the upstream model id (Azure: the deployment name).
	Model    string
	Weight   int
	Priority int
	// Timeouts are resolved: target, then provider, then resilience.timeouts.
	Timeouts config.Timeouts
	Health   *health.Target
	// ContextWindow is the model's context window in tokens, 0 when unknown.
	ContextWindow int
	// Price is the target's price; Priced is false when neither the catalog nor
	// the configuration knows it (its cost is then unknown, never 0).
	Price  Price
	Priced bool
	// OpenTimeout is how long the target's breaker stays open.
	OpenTimeout time.Duration
}

// Alias is a model name clients send.
type Alias struct {
	Name         string
	Strategy     Strategy
	StrategyName string
	// Tiers are the targets grouped by priority, most preferred first.
	Tiers           [][]*Target
	Fallbacks       []string
	HedgeAfter      time.Duration
	OnContentFilter string
	// SLO is the p95 latency target of strategy cost_slo.
	SLO time.Duration
	// Cache is the alias's response-cache setting.
	Cache config.ModelCache
	// HideReasoning: the alias opted out of reasoning_content
	// (models[].reasoning_content: false); it reaches providers in Call.
	HideReasoning bool
}

// Router holds the aliases of one configuration.
type Router struct {
	aliases    map[string]*Alias
	names      []string
	strategies map[string]Strategy
	// Rules are the configuration's policies.
	Rules *Rules
}

// NewRouter compiles the aliases of cfg over already built providers. Health state
// comes from pool, so it survives reloads.
func NewRouter(cfg *config.Config, provs map[string]providers.Provider, pool *health.Pool, catalog *Catalog) (*Router, error) {
	r := &Router{aliases: make(map[string]*Alias, len(cfg.Models)), strategies: map[string]Strategy{},
		Rules: NewRules(cfg.Policies)}
	for _, name := range config.Strategies {
		s, err := NewStrategy(name)
		if err != nil {
			return nil, err
		}
		r.strategies[name] = s
	}
	for _, m := range cfg.Models {
		strategy, err := NewStrategy(m.Strategy)
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", m.Name, err)
		}
		a := &Alias{Name: m.Name, Strategy: strategy, StrategyName: m.Strategy, Fallbacks: m.Fallbacks,
			HedgeAfter: m.HedgeAfter, OnContentFilter: m.OnContentFilter, SLO: m.SLO, Cache: m.Cache,
			HideReasoning: m.ReasoningContent != nil && !*m.ReasoningContent}
		byPriority := map[int][]*Target{}
		for _, t := range m.Targets {
			pc := cfg.Provider(t.Provider)
			p, ok := provs[t.Provider]
			if pc == nil || !ok {
				return nil, fmt.Errorf("model %q: unknown provider %q", m.Name, t.Provider)
			}
			id := t.Provider + "/" + t.Model
			br := t.Breaker.Or(cfg.Resilience.Breaker)
			settings := health.BreakerSettings{
				ConsecutiveFailures: br.ConsecutiveFailures, FailureRatio: br.FailureRatio,
				MinRequests: br.MinRequests, Interval: br.Interval, OpenTimeout: br.OpenTimeout,
				HalfOpenProbes: br.HalfOpenProbes,
			}.WithDefaults()
			target := &Target{
				ID: id, Provider: p, ProviderName: pc.Name, ProviderType: pc.Type, Region: pc.Region,
				Model: t.Model, Weight: *t.Weight, Priority: t.Priority,
				Timeouts:      t.Timeouts.Or(pc.Timeouts).Or(cfg.Resilience.Timeouts),
				Health:        pool.Target(id, settings),
				OpenTimeout:   settings.OpenTimeout,
				ContextWindow: t.ContextWindow,
			}
			target.Price, target.Priced = catalog.Lookup(pc.Name, pc.Type, t.Model)
			if target.ContextWindow == 0 && target.Priced {
				target.ContextWindow = target.Price.ContextWindow
			}
			byPriority[t.Priority] = append(byPriority[t.Priority], target)
		}
		prios := make([]int, 0, len(byPriority))
		for p := range byPriority {
			prios = append(prios, p)
		}
		sort.Ints(prios)
		for _, p := range prios {
			a.Tiers = append(a.Tiers, byPriority[p])
		}
		r.aliases[m.Name] = a
		r.names = append(r.names, m.Name)
	}
	return r, nil
}

// Alias returns the alias named name, or nil.
func (r *Router) Alias(name string) *Alias { return r.aliases[name] }

// Names lists the aliases in configuration order.
func (r *Router) Names() []string { return r.names }

// Targets lists every target of every alias, each once.
func (r *Router) Targets() []*Target {
	seen := map[string]bool{}
	var out []*Target
	for _, name := range r.names {
		for _, tier := range r.aliases[name].Tiers {
			for _, t := range tier {
				if !seen[t.ID] {
					seen[t.ID] = true
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// chain is the alias followed by its fallbacks, breadth first, each alias once.
func (r *Router) chain(a *Alias) []*Alias {
	out := []*Alias{a}
	seen := map[string]bool{a.Name: true}
	for i := 0; i < len(out); i++ {
		for _, f := range out[i].Fallbacks {
			if fa := r.aliases[f]; fa != nil && !seen[f] {
				seen[f] = true
				out = append(out, fa)
			}
		}
	}
	return out
}
