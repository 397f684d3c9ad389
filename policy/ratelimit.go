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

// RateLimiter enforces each key's requests and tokens per minute in the shared
// store, so that every replica counts against one limit.
type RateLimiter struct {
	store state.Store
}

// NewRateLimiter counts in store.
func NewRateLimiter(store state.Store) *RateLimiter { return &RateLimiter{store: store} }

// RateVerdict is the outcome of an admission.
type RateVerdict struct {
	Allowed bool
	// Limit names the exhausted limit (rpm or tpm) when not allowed.
	Limit string
	// Requests and Tokens are the windows after admission (zero when unlimited).
	Requests, Tokens state.Admission
	// RetryAfter is when the exhausted window resets.
	RetryAfter time.Duration
}

// Admit counts one request of an estimated number of tokens against the key's
// limits. A request refused by the token limit gives its request back. Errors mean
// the store is unreachable; the caller applies fail_open.
func (l *RateLimiter) Admit(ctx context.Context, key string, lim config.Limits, tokens int64) (RateVerdict, error) {
	var v RateVerdict
	if lim.RPM > 0 {
		adm, err := l.store.Admit(ctx, "rpm:"+key, lim.RPM, 1, rateWindow)
		if err != nil {
			return v, err
		}
		v.Requests = adm
		if !adm.Allowed {
			return RateVerdict{Limit: "rpm", Requests: adm, RetryAfter: adm.Reset}, nil
		}
	}
	if lim.TPM > 0 {
		// A request larger than the whole limit would never pass: admit it alone in
		// an empty window rather than refuse it forever.
		cost := min(tokens, lim.TPM)
		adm, err := l.store.Admit(ctx, "tpm:"+key, lim.TPM, cost, rateWindow)
		if err != nil {
			return v, err
		}
		v.Tokens = adm
		if !adm.Allowed {
			if lim.RPM > 0 {
				err = l.store.Adjust(ctx, "rpm:"+key, -1, rateWindow)
			}
			return RateVerdict{Limit: "tpm", Requests: v.Requests, Tokens: adm, RetryAfter: adm.Reset}, err
		}
	}
	v.Allowed = true
	return v, nil
}

// Correct replaces a request's estimated tokens with its actual ones.
func (l *RateLimiter) Correct(ctx context.Context, key string, lim config.Limits, estimated, actual int64) error {
	if lim.TPM <= 0 || actual == estimated {
		return nil
	}
	return l.store.Adjust(ctx, "tpm:"+key, actual-min(estimated, lim.TPM), rateWindow)
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
