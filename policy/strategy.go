package policy

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Strategy chooses one target among the available candidates of a tier.
type Strategy interface {
	Pick(cands []*Target, est Estimate) *Target
}

// NewStrategy returns the strategy named in the configuration; slo is cost_slo's
// latency target.
func NewStrategy(name string, slo time.Duration) (Strategy, error) {
	switch name {
	case "", "weighted":
		return Weighted{}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q", name)
}

// Weighted splits traffic by weight (random, proportional).
type Weighted struct{}

var _ Strategy = Weighted{}

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
