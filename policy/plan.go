package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Plan is the ordered set of candidates of one request: the alias's tiers, then its
// fallback aliases' tiers. The executor asks it for the next target after each
// failed attempt; the plan never hands out a target twice unless told to retry it.
type Plan struct {
	Alias *Alias
	chain []*Alias
	tried []*Target
	// minContext, set after a context-length failure, skips targets whose known
	// context window is not larger than the one that failed.
	minContext int
	// Estimate is what strategies know of the request.
	Estimate Estimate
	// decision restricts targets and may replace the strategy (nil: no rules).
	decision *Decision
	strategy Strategy
	// preferFit picks, within a tier, targets whose known context window holds the
	// estimated prompt, when there are any.
	preferFit bool

	sawUnavailable bool
}

// Estimate is what routing knows of a request before sending it.
type Estimate struct {
	PromptTokens int
	// MaxTokens is the request's max tokens (after rules' caps), 0 when unset.
	MaxTokens int
	// SLO is the alias's latency target (strategy cost_slo); set by the plan.
	SLO time.Duration
}

// defaultOutputTokens stands for the output of a request without max_tokens when
// estimating its cost for routing (not for budgets, which take the worst case).
const defaultOutputTokens = 256

// OutputTokens is the output size routing assumes: max tokens, or a typical answer.
func (e Estimate) OutputTokens() int {
	if e.MaxTokens > 0 {
		return e.MaxTokens
	}
	return defaultOutputTokens
}

// NewPlan starts a plan for alias under the rules' decision d (nil for none).
func (r *Router) NewPlan(a *Alias, est Estimate, d *Decision) *Plan {
	est.SLO = a.SLO
	p := &Plan{Alias: a, chain: r.chain(a), Estimate: est, decision: d}
	if d != nil && d.Strategy != "" {
		p.strategy = r.strategies[d.Strategy]
	}
	return p
}

// Eligible reports whether any target of the plan satisfies the rules'
// restrictions, whatever its health.
func (p *Plan) Eligible() bool {
	for _, a := range p.chain {
		for _, tier := range a.Tiers {
			for _, t := range tier {
				if p.allowed(t) {
					return true
				}
			}
		}
	}
	return false
}

// KeepAliases drops the fallback aliases allowed refuses, so that a key's
// allow-list binds every alias a request may be served by, not only the one it
// named (which the caller has checked).
func (p *Plan) KeepAliases(allowed func(alias string) bool) {
	kept := p.chain[:1]
	for _, a := range p.chain[1:] {
		if allowed(a.Name) {
			kept = append(kept, a)
		}
	}
	p.chain = kept
}

// PreferFit makes the plan prefer targets whose context window holds the estimated
// prompt (long Responses API conversations).
func (p *Plan) PreferFit() { p.preferFit = true }

// fitting keeps the candidates whose window is unknown or large enough, unless none
// is: then all stay, and the request finds out (or truncates).
func fitting(cands []*Target, tokens int) []*Target {
	n := 0
	for _, t := range cands {
		if t.ContextWindow == 0 || tokens <= t.ContextWindow {
			n++
		}
	}
	if n == 0 || n == len(cands) {
		return cands
	}
	out := make([]*Target, 0, n)
	for _, t := range cands {
		if t.ContextWindow == 0 || tokens <= t.ContextWindow {
			out = append(out, t)
		}
	}
	return out
}

// EachEligible calls fn for every target the rules allow, whatever its health.
func (p *Plan) EachEligible(fn func(*Target)) {
	for _, a := range p.chain {
		for _, tier := range a.Tiers {
			for _, t := range tier {
				if p.allowed(t) {
					fn(t)
				}
			}
		}
	}
}

func (p *Plan) allowed(t *Target) bool {
	return t.Weight > 0 && (p.decision == nil || p.decision.Allows(t)) &&
		(p.minContext == 0 || t.ContextWindow == 0 || t.ContextWindow >= p.minContext)
}

// Next returns the next target to try, or nil when the plan is exhausted. Within a
// tier the alias's strategy chooses among available, untried targets; a later tier
// (then a fallback alias) is reached only when every target of the earlier ones is
// unavailable or has failed this request.
func (p *Plan) Next() *Target {
	var cands []*Target
	for _, a := range p.chain {
		for _, tier := range a.Tiers {
			cands = cands[:0]
			for _, t := range tier {
				if !p.allowed(t) || p.wasTried(t) {
					continue
				}
				if !t.Health.Available() {
					p.sawUnavailable = true
					continue
				}
				cands = append(cands, t)
			}
			if p.preferFit {
				cands = fitting(cands, p.Estimate.PromptTokens)
			}
			if len(cands) > 0 {
				strategy := a.Strategy
				if p.strategy != nil {
					strategy = p.strategy
				}
				t := strategy.Pick(cands, p.Estimate)
				p.tried = append(p.tried, t)
				return t
			}
		}
	}
	return nil
}

// Retry makes t eligible again, for a retry of the same target when nothing else is
// left.
func (p *Plan) Retry(t *Target) {
	for i, x := range p.tried {
		if x == t {
			p.tried = append(p.tried[:i], p.tried[i+1:]...)
			return
		}
	}
}

// SawUnavailable reports whether some target was skipped because its breaker was
// open or it was cooling down.
func (p *Plan) SawUnavailable() bool { return p.sawUnavailable }

func (p *Plan) wasTried(t *Target) bool {
	for _, x := range p.tried {
		if x == t || x.ID == t.ID {
			return true
		}
	}
	return false
}

// Available reports whether any target of the plan could be tried now.
func (p *Plan) Available() bool {
	for _, a := range p.chain {
		for _, tier := range a.Tiers {
			for _, t := range tier {
				if p.allowed(t) && t.Health.Available() {
					return true
				}
			}
		}
	}
	return false
}

// TooLong records that the request did not fit t's context window: from now on only
// targets with a larger (or unknown) window are tried.
func (p *Plan) TooLong(t *Target) {
	if t.ContextWindow > 0 {
		p.minContext = max(p.minContext, t.ContextWindow+1)
	}
}

// RetryAfter estimates when a target of the plan may be available again: the
// earliest end of a cooldown, or an open breaker's timeout; at least one second.
func (p *Plan) RetryAfter() time.Duration {
	best := time.Duration(0)
	for _, a := range p.chain {
		for _, tier := range a.Tiers {
			for _, t := range tier {
				var d time.Duration
				if until := t.Health.CooldownUntil(); !until.IsZero() {
					d = time.Until(until)
				} else if !t.Health.Available() {
					d = t.OpenTimeout
				} else {
					continue
				}
				if best == 0 || d < best {
					best = d
				}
			}
		}
	}
	return max(best, time.Second)
}

// Candidate is one target of a plan as `switchyard route` explains it.
type Candidate struct {
	Alias  string
	Tier   int
	Target *Target
	// Cost is the request's estimated cost on the target; Priced is false when the
	// target has no price.
	Cost   float64
	Priced bool
	Kept   bool
	Why    string
}

// Explain lists every target the plan could reach, in the order it would try
// them while all are healthy, with why each is kept or dropped. It sends nothing.
func (p *Plan) Explain() []Candidate {
	var out []Candidate
	for _, a := range p.chain {
		strategy := a.Strategy
		if p.strategy != nil {
			strategy = p.strategy
		}
		for i, tier := range a.Tiers {
			ordered := preference(strategy, tier, p.Estimate)
			for _, t := range ordered {
				c := Candidate{Alias: a.Name, Tier: i, Target: t, Kept: true}
				c.Cost, c.Priced = EstimatedCost(t, p.Estimate)
				switch {
				case t.Weight <= 0:
					c.Kept, c.Why = false, "weight 0 (disabled)"
				case p.decision != nil && p.decision.Providers != nil && !p.decision.Providers[t.ProviderName]:
					c.Kept, c.Why = false, "provider "+t.ProviderName+" not allowed by rules "+joinNames(p.decision.Restrictions)
				case p.decision != nil && p.decision.Regions != nil && !p.decision.Regions[t.Region]:
					c.Kept, c.Why = false, "region "+quoteOrNone(t.Region)+" not allowed by rules "+joinNames(p.decision.Restrictions)
				case !t.Health.Available():
					c.Kept, c.Why = false, "unavailable: breaker "+t.Health.State().String()+" or cooling down"
				case p.Estimate.PromptTokens > 0 && t.ContextWindow > 0 && p.Estimate.PromptTokens > t.ContextWindow:
					c.Kept, c.Why = false, "prompt larger than the context window"
				default:
					c.Why = keptReason(strategy, t, c, i)
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// preference orders a tier as the strategy would prefer it with every target healthy.
func preference(s Strategy, tier []*Target, est Estimate) []*Target {
	out := append([]*Target(nil), tier...)
	switch s.(type) {
	case Cheapest, CostSLO:
		sort.SliceStable(out, func(i, j int) bool {
			ci, oki := EstimatedCost(out[i], est)
			cj, okj := EstimatedCost(out[j], est)
			return oki && (!okj || ci < cj)
		})
	case Fastest:
		sort.SliceStable(out, func(i, j int) bool { return out[i].Health.Latency() < out[j].Health.Latency() })
	default:
		sort.SliceStable(out, func(i, j int) bool { return out[i].Weight > out[j].Weight })
	}
	return out
}

func keptReason(s Strategy, t *Target, c Candidate, tier int) string {
	prefix := "kept"
	if tier > 0 {
		prefix = fmt.Sprintf("kept, tier %d: used only when earlier tiers are unavailable", tier)
	}
	switch s.(type) {
	case Cheapest, CostSLO:
		if !c.Priced {
			return prefix + " (no price: tried after priced targets)"
		}
		return prefix + " (by estimated cost)"
	case Fastest:
		return prefix + " (by recent latency)"
	}
	return fmt.Sprintf("%s (weight %d)", prefix, t.Weight)
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
