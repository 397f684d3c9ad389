package policy

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

// rateWindow is the window of rpm and tpm limits.
const rateWindow = time.Minute

// RateLimiter enforces requests and tokens per minute of keys and teams in the
// shared store, so that every replica counts against one limit.
type RateLimiter struct {
	store state.Store
}

// NewRateLimiter counts in store.
func NewRateLimiter(store state.Store) *RateLimiter { return &RateLimiter{store: store} }

// RateScope is one subject of rate limits: a key, or a team (whose limits every key
// of the team counts against together).
type RateScope struct {
	Kind   string // key or team
	Name   string
	Limits config.Limits
}

// window names the counter of one limit (rpm or tpm). Keys keep the names they
// always had; team counters live apart, so that a key and a team of one name never
// share a window.
func (s RateScope) window(limit string) string {
	if s.Kind == "team" {
		return "team:" + limit + ":" + s.Name
	}
	return limit + ":" + s.Name
}

// RateVerdict is the outcome of an admission.
type RateVerdict struct {
	Allowed bool
	// Limit names the exhausted limit (rpm or tpm) when not allowed; Kind and Name
	// its scope.
	Limit      string
	Kind, Name string
	// Requests and Tokens are the windows after admission with the least left, or
	// the exhausted one (zero when unlimited).
	Requests, Tokens state.Admission
	// RetryAfter is when the exhausted window resets.
	RetryAfter time.Duration
}

// counted is one window an admission added to, given back when a later one refuses.
type counted struct {
	window string
	cost   int64
}

// Admit counts one request of an estimated number of tokens against the limits of
// every scope. When one refuses, what the others counted is given back. Errors mean
// the store is unreachable; the caller applies fail_open.
func (l *RateLimiter) Admit(ctx context.Context, scopes []RateScope, tokens int64) (RateVerdict, error) {
	var v RateVerdict
	var taken []counted
	for _, s := range scopes {
		for _, lim := range []struct {
			name  string
			limit int64
			cost  int64
		}{
			{"rpm", s.Limits.RPM, 1},
			// A request larger than the whole limit would never pass: admit it alone
			// in an empty window rather than refuse it forever.
			{"tpm", s.Limits.TPM, min(tokens, s.Limits.TPM)},
		} {
			if lim.limit <= 0 {
				continue
			}
			adm, err := l.store.Admit(ctx, s.window(lim.name), lim.limit, lim.cost, rateWindow)
			if err != nil {
				l.giveBack(ctx, taken)
				return RateVerdict{}, err
			}
			if !adm.Allowed {
				refused := RateVerdict{Limit: lim.name, Kind: s.Kind, Name: s.Name, Requests: v.Requests,
					Tokens: v.Tokens, RetryAfter: adm.Reset}
				if lim.name == "rpm" {
					refused.Requests = adm
				} else {
					refused.Tokens = adm
				}
				return refused, l.giveBack(ctx, taken)
			}
			taken = append(taken, counted{s.window(lim.name), lim.cost})
			if lim.name == "rpm" {
				v.Requests = tighter(v.Requests, adm)
			} else {
				v.Tokens = tighter(v.Tokens, adm)
			}
		}
	}
	v.Allowed = true
	return v, nil
}

func (l *RateLimiter) giveBack(ctx context.Context, taken []counted) error {
	var first error
	for _, c := range taken {
		if err := l.store.Adjust(ctx, c.window, -c.cost, rateWindow); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// tighter is the window with the least left; a has none when its Limit is 0.
func tighter(a, b state.Admission) state.Admission {
	if a.Limit == 0 || b.Limit-b.Count < a.Limit-a.Count {
		return b
	}
	return a
}

// Correct replaces a request's estimated tokens with its actual ones in every scope
// that limits tokens.
func (l *RateLimiter) Correct(ctx context.Context, scopes []RateScope, estimated, actual int64) error {
	var first error
	for _, s := range scopes {
		if s.Limits.TPM <= 0 || actual == estimated {
			continue
		}
		if err := l.store.Adjust(ctx, s.window("tpm"), actual-min(estimated, s.Limits.TPM), rateWindow); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Usage reports a scope's current windows without counting anything: requests and
// tokens used this minute (zero when unlimited).
func (l *RateLimiter) Usage(ctx context.Context, s RateScope) (requests, tokens state.Admission, err error) {
	if s.Limits.RPM > 0 {
		if requests, err = l.store.Admit(ctx, s.window("rpm"), s.Limits.RPM, 0, rateWindow); err != nil {
			return
		}
	}
	if s.Limits.TPM > 0 {
		tokens, err = l.store.Admit(ctx, s.window("tpm"), s.Limits.TPM, 0, rateWindow)
	}
	return
}

// IsUnavailable reports whether err means the shared store could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, state.ErrUnavailable) }

// WindowLimit is the limit of the exhausted window.
func (v RateVerdict) WindowLimit() int64 {
	if v.Limit == "tpm" {
		return v.Tokens.Limit
	}
	return v.Requests.Limit
}
