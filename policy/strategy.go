package policy

import (
	"fmt"
	"math/rand/v2"

	"github.com/switchyard/switchyard/providers"
)

// Strategy chooses one target among the available candidates of a tier. Every
// candidate is already available (health.Target.Available) and allowed by rules.
type Strategy interface {
	Pick(cands []*Target, est Estimate) *Target
}

// NewStrategy returns the strategy named in the configuration.
func NewStrategy(name string) (Strategy, error) {
	switch name {
	case "", "weighted":
		return Weighted{}, nil
	case "cheapest":
		return Cheapest{}, nil
	case "fastest":
		return Fastest{}, nil
	case "cost_slo":
		return CostSLO{}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q", name)
}

var (
	_ Strategy = Weighted{}
	_ Strategy = Cheapest{}
	_ Strategy = Fastest{}
	_ Strategy = CostSLO{}
)

// Weighted splits traffic by weight (random, proportional).
type Weighted struct{}

// Pick draws a candidate with probability weight / total weight.
func (Weighted) Pick(cands []*Target, _ Estimate) *Target {
	if len(cands) == 1 {
		return cands[0]
	}
	total := 0
	for _, t := range cands {
		total += t.Weight
	}
	n := rand.IntN(total)
	for _, t := range cands {
		if n < t.Weight {
			return t
		}
		n -= t.Weight
	}
	return cands[len(cands)-1]
}

// Cheapest picks the lowest estimated cost of this request (its estimated prompt
// and output tokens at each target's price). Unpriced targets come last; ties split
// by weight.
type Cheapest struct{}

// Pick returns the cheapest candidate.
func (Cheapest) Pick(cands []*Target, est Estimate) *Target {
	return pickMin(cands, func(t *Target) (float64, bool) { return EstimatedCost(t, est) })
}

// EstimatedCost is the cost of the estimated request on t; ok is false when t has
// no price.
func EstimatedCost(t *Target, est Estimate) (float64, bool) {
	if !t.Priced {
		return 0, false
	}
	return t.Price.Cost(providers.Usage{PromptTokens: est.PromptTokens, CompletionTokens: est.OutputTokens()}), true
}

// Fastest picks the lowest recent latency (time to first token for streams, the
// whole response otherwise). A target never measured counts as fastest, so that it
// gets measured.
type Fastest struct{}

// Pick returns the fastest candidate.
func (Fastest) Pick(cands []*Target, _ Estimate) *Target {
	return pickMin(cands, func(t *Target) (float64, bool) { return float64(t.Health.Latency()), true })
}

// CostSLO picks the cheapest candidate whose recent p95 latency meets the alias's
// SLO (a target not yet measured is given the benefit of the doubt); when none
// meets it, the fastest.
type CostSLO struct{}

// Pick returns the cheapest candidate within the SLO, else the fastest.
func (CostSLO) Pick(cands []*Target, est Estimate) *Target {
	var within []*Target
	for _, t := range cands {
		if p95 := t.Health.LatencyP95(); p95 == 0 || est.SLO == 0 || p95 <= est.SLO {
			within = append(within, t)
		}
	}
	if len(within) == 0 {
		return Fastest{}.Pick(cands, est)
	}
	return Cheapest{}.Pick(within, est)
}

// pickMin returns the candidate with the smallest score; unscored ones come after
// every scored one, and ties are broken by weight.
func pickMin(cands []*Target, score func(*Target) (float64, bool)) *Target {
	var best []*Target
	var bestScore float64
	bestScored := false
	for _, t := range cands {
		v, ok := score(t)
		switch {
		case len(best) == 0, ok && !bestScored, ok == bestScored && v < bestScore:
			best, bestScore, bestScored = append(best[:0], t), v, ok
		case ok == bestScored && v == bestScore:
			best = append(best, t)
		}
	}
	return Weighted{}.Pick(best, Estimate{})
}
