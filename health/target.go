// Package health keeps the runtime state of each upstream target: its circuit breaker,
// its rate-limit cooldown and recent latency figures. Policy reads it to choose
// targets, the executor writes it after every attempt. State lives in a Pool keyed by
// target identity, so it survives configuration reloads for targets that remain.
package health

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerSettings configure one target's circuit breaker.
type BreakerSettings struct {
	// ConsecutiveFailures trips the breaker. Default 5.
	ConsecutiveFailures uint32
	// FailureRatio trips the breaker when at least MinRequests were counted in the
	// current Interval and this share failed. 0 disables the ratio rule.
	FailureRatio float64
	// MinRequests before FailureRatio applies. Default 20.
	MinRequests uint32
	// Interval is the window over which closed-state counts accumulate. Default 60s.
	Interval time.Duration
	// OpenTimeout is how long the breaker stays open before probing. Default 30s.
	OpenTimeout time.Duration
	// HalfOpenProbes are let through while half-open; that many successes close it.
	// Default 1.
	HalfOpenProbes uint32
}

// State of a breaker as exported in metrics: 0 closed, 1 half-open, 2 open.
type State int

// Breaker states.
const (
	Closed   State = 0
	HalfOpen State = 1
	Open     State = 2
)

func (s State) String() string {
	switch s {
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "closed"
}

// Observer hears a target's state changes. Calls happen under the breaker's lock:
// update a gauge or log, nothing more.
type Observer interface {
	BreakerChanged(target string, from, to State)
}

// Outcomes reported to the breaker: a failure counts against the target; an excluded
// outcome (the client canceled, the caller's own mistake) counts neither way.
var (
	errHealthFailure = errors.New("target failure")
	errExcluded      = errors.New("outcome says nothing about the target")
)

// Target is the health of one (provider, upstream model) pair.
type Target struct {
	id       string
	settings BreakerSettings
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	now      func() time.Time

	cooldownUntil atomic.Int64 // unix nanoseconds
	stats         stats
}

func newTarget(id string, s BreakerSettings, obs Observer, now func() time.Time) *Target {
	t := &Target{id: id, settings: s, now: now}
	t.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        id,
		MaxRequests: s.HalfOpenProbes,
		Interval:    s.Interval,
		Timeout:     s.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= s.ConsecutiveFailures {
				return true
			}
			return s.FailureRatio > 0 && c.Requests >= s.MinRequests &&
				float64(c.TotalFailures)/float64(c.Requests) >= s.FailureRatio
		},
		IsExcluded: func(err error) bool { return err == errExcluded },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if obs != nil {
				obs.BreakerChanged(name, fromGobreaker(from), fromGobreaker(to))
			}
		},
	})
	t.stats.init()
	return t
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return HalfOpen
	case gobreaker.StateOpen:
		return Open
	}
	return Closed
}

// ID is "provider/model".
func (t *Target) ID() string { return t.id }

// State is the breaker's state now (an open breaker past its timeout reads half-open).
func (t *Target) State() State { return fromGobreaker(t.cb.State()) }

// CooldownUntil is when a rate-limit cooldown ends (zero when none is running).
func (t *Target) CooldownUntil() time.Time {
	n := t.cooldownUntil.Load()
	if n == 0 || t.now().UnixNano() >= n {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Available is the one predicate every selection uses: the breaker is not open and
// no cooldown is running. A half-open breaker is available; Allow admits its probes.
func (t *Target) Available() bool {
	if n := t.cooldownUntil.Load(); n != 0 && t.now().UnixNano() < n {
		return false
	}
	return t.State() != Open
}

// CoolDown keeps the target out of rotation for d (the upstream's Retry-After).
// A longer running cooldown is kept.
func (t *Target) CoolDown(d time.Duration) {
	until := t.now().Add(d).UnixNano()
	for {
		cur := t.cooldownUntil.Load()
		if cur >= until || t.cooldownUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// ErrOpen is returned by Allow when the breaker refuses the attempt.
var ErrOpen = errors.New("circuit breaker open")

// Allow admits one attempt. done reports its outcome exactly once: failure true when
// the outcome speaks of the target's health; ignore true when it says nothing at all
// (the client canceled, the caller's own mistake).
func (t *Target) Allow() (done func(failure, ignore bool), err error) {
	report, err := t.cb.Allow()
	if err != nil {
		return nil, ErrOpen
	}
	return func(failure, ignore bool) {
		switch {
		case failure:
			report(errHealthFailure)
		case ignore:
			report(errExcluded)
		default:
			report(nil)
		}
	}, nil
}

// Observe records a finished attempt for the latency and success figures.
func (t *Target) Observe(ok bool, latency, ttft time.Duration) {
	t.stats.observe(ok, latency, ttft)
}

// Snapshot is a target's state for /admin/targets and for strategies.
type Snapshot struct {
	ID            string    `json:"id"`
	State         string    `json:"breaker"`
	CooldownUntil time.Time `json:"cooldown_until,omitzero"`
	SuccessRate   float64   `json:"success_rate"`
	LatencyMs     float64   `json:"latency_ms"`
	LatencyP95Ms  float64   `json:"latency_p95_ms"`
	TTFTMs        float64   `json:"ttft_ms"`
	Samples       int64     `json:"samples"`
}

// Snapshot returns the target's state now.
func (t *Target) Snapshot() Snapshot {
	lat, ttft, rate, n := t.stats.estimates()
	return Snapshot{
		ID: t.id, State: t.State().String(), CooldownUntil: t.CooldownUntil(),
		SuccessRate: rate, LatencyMs: ms(lat), LatencyP95Ms: ms(t.stats.p95()), TTFTMs: ms(ttft), Samples: n,
	}
}

// Latency is the recent typical latency: time to first token for streams, the full
// response otherwise; 0 when nothing was measured yet.
func (t *Target) Latency() time.Duration {
	lat, ttft, _, _ := t.stats.estimates()
	if ttft > 0 {
		return ttft
	}
	return lat
}

// LatencyP95 is the 95th percentile of recent latencies (0 when unknown).
func (t *Target) LatencyP95() time.Duration { return t.stats.p95() }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
