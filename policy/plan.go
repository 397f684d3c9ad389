package policy

import "time"

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

	sawUnavailable bool
}

// Estimate is what routing knows of a request before sending it.
type Estimate struct {
	PromptTokens int
	MaxTokens    int
}

// NewPlan starts a plan for alias.
func (r *Router) NewPlan(a *Alias, est Estimate) *Plan {
	return &Plan{Alias: a, chain: r.chain(a), Estimate: est}
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
				if t.Weight <= 0 || p.wasTried(t) || (p.minContext > 0 && t.ContextWindow > 0 && t.ContextWindow < p.minContext) {
					continue
				}
				if !t.Health.Available() {
					p.sawUnavailable = true
					continue
				}
				cands = append(cands, t)
			}
			if len(cands) > 0 {
				t := a.Strategy.Pick(cands, p.Estimate)
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
				if t.Weight > 0 && t.Health.Available() {
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
