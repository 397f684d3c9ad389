package health

import (
	"sync"
	"time"
)

// Defaults of BreakerSettings.
const (
	DefaultConsecutiveFailures = 5
	DefaultMinRequests         = 20
	DefaultInterval            = 60 * time.Second
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenProbes      = 1
)

// WithDefaults fills zero fields.
func (s BreakerSettings) WithDefaults() BreakerSettings {
	if s.ConsecutiveFailures == 0 {
		s.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if s.MinRequests == 0 {
		s.MinRequests = DefaultMinRequests
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = DefaultOpenTimeout
	}
	if s.HalfOpenProbes == 0 {
		s.HalfOpenProbes = DefaultHalfOpenProbes
	}
	return s
}

// Pool holds every target's state across configuration reloads.
type Pool struct {
	obs Observer
	now func() time.Time

	mu      sync.Mutex
	targets map[string]*Target
}

// NewPool returns an empty pool; obs may be nil.
func NewPool(obs Observer) *Pool {
	return &Pool{obs: obs, now: time.Now, targets: map[string]*Target{}}
}

// Target returns the state of id, created on first use. A target whose breaker
// settings changed starts a fresh breaker but keeps its cooldown and figures.
func (p *Pool) Target(id string, s BreakerSettings) *Target {
	s = s.WithDefaults()
	p.mu.Lock()
	defer p.mu.Unlock()
	old, ok := p.targets[id]
	if ok && old.settings == s {
		return old
	}
	t := newTarget(id, s, p.obs, p.now)
	if ok {
		t.cooldownUntil.Store(old.cooldownUntil.Load())
		t.stats.copyFrom(&old.stats)
	}
	p.targets[id] = t
	return t
}

// Retain forgets every target not in ids, after a reload removed them.
func (p *Pool) Retain(ids map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.targets {
		if !ids[id] {
			delete(p.targets, id)
		}
	}
}
