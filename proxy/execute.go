package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// job is what one attempt sends: a chat request (streamed or not) or embeddings.
type job struct {
	chat *providers.Request
	// chatFor, when set, builds the chat request for one target (a Responses API
	// conversation fitted to the target's context window); chat is its default.
	chatFor func(*policy.Target) (*providers.Request, error)
	embed   *providers.EmbedCall
	stream  bool
	header  http.Header // forwarded upstream (traceparent)
}

// request is the chat request to send to t.
func (j *job) request(t *policy.Target) (*providers.Request, *providers.Error) {
	if j.chatFor == nil {
		return j.chat, nil
	}
	r, err := j.chatFor(t)
	if err != nil {
		return nil, providers.AsError(err)
	}
	return r, nil
}

// execution is one client request's way through its plan: attempts on targets until
// one succeeds, bounded by max_attempts and the total deadline.
type execution struct {
	// reqCtx is the request's context, with its total deadline.
	reqCtx context.Context
	s      *Server
	rt     *runtime
	plan   *policy.Plan
	job    job
	log    *zap.Logger

	// dispatched counts attempts sent upstream (X-Switchyard-Attempts, max_attempts).
	dispatched atomic.Int32
	mu         sync.Mutex // attempts are recorded by concurrent hedged attempts
	attempts   []attemptRecord
	lastErr    *providers.Error
	lastT      *policy.Target
	retries    int
	// tap, when set, sees every relayed chunk (to cache a streamed answer).
	tap *cache.Assembler
	// beforeDone, when set, runs when a stream completed, before its end is
	// written: a client's next request must find what this one stored.
	// body is the non-streamed answer (nil for streams).
	beforeDone func(t *policy.Target, out *served, body []byte)
}

// attemptRecord is one attempt, for the access log and X-Switchyard-Attempts.
type attemptRecord struct {
	Target   string
	Outcome  string
	Status   int
	Duration time.Duration
}

// errClientGone ends an execution whose client disconnected: nothing can be answered.
var errClientGone = &apiError{Status: 499, Type: "client_closed_request", Message: "client closed request"}

// run tries targets until one reaches its first content, and returns it prepared for
// relaying; or the error the client should see.
func (x *execution) run(ctx context.Context) (*prepared, *apiError) {
	maxAttempts := x.rt.cfg.Resilience.MaxAttempts
	for x.count() < maxAttempts {
		t := x.plan.Next()
		if t == nil {
			if t = x.retryTarget(ctx); t == nil {
				break
			}
		}
		if x.count() > 0 && x.lastErr != nil {
			x.s.metrics.Failovers.WithLabelValues(x.plan.Alias.Name, x.lastErr.Class.String()).Inc()
		}
		p, failures := x.try(ctx, t, maxAttempts-x.count())
		if p != nil {
			return p, nil
		}
		for _, f := range failures {
			if stop := x.onFailure(f.target, f.err); stop != nil {
				return nil, stop
			}
		}
		if ctx.Err() != nil {
			return nil, x.deadlineError(ctx)
		}
	}
	return nil, x.exhausted()
}

type failure struct {
	target *policy.Target
	err    *providers.Error
}

// errNotAdmitted marks a target whose half-open breaker had no probe slot left: not an
// attempt, the plan simply moves on.
var errNotAdmitted = &providers.Error{Class: providers.ClassUnavailable, Message: "circuit breaker half-open, probes in flight"}

// try runs one attempt on t, hedged onto the next target when the alias asks for it
// and the first has not reached its first byte after hedge_after.
func (x *execution) try(ctx context.Context, t *policy.Target, budget int) (*prepared, []failure) {
	hedge := x.plan.Alias.HedgeAfter
	if hedge <= 0 || budget < 2 {
		p, err := x.attempt(ctx, t)
		if err == errNotAdmitted {
			return nil, nil
		}
		if err != nil {
			return nil, []failure{{t, err}}
		}
		return p, nil
	}
	return x.hedged(ctx, t, hedge)
}

type result struct {
	target *policy.Target
	p      *prepared
	err    *providers.Error
}

// hedged races t against the next target, started after delay; the first to reach its
// first content wins and the other is canceled, then released when it returns.
func (x *execution) hedged(ctx context.Context, t *policy.Target, delay time.Duration) (*prepared, []failure) {
	results := make(chan result, 2)
	cancels := map[*policy.Target]context.CancelFunc{}
	launch := func(t *policy.Target) {
		actx, cancel := context.WithCancel(ctx)
		cancels[t] = cancel
		go func() {
			p, err := x.attempt(actx, t)
			results <- result{t, p, err}
		}()
	}
	launch(t)
	running := 1
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var failures []failure
	for running > 0 {
		select {
		case <-timer.C:
			if second := x.plan.Next(); second != nil {
				x.log.Debug("hedging", zap.String("first", t.ID), zap.String("second", second.ID))
				launch(second)
				running++
			}
		case r := <-results:
			running--
			switch {
			case r.err == errNotAdmitted:
			case r.err != nil:
				failures = append(failures, failure{r.target, r.err})
			default:
				for other, cancel := range cancels {
					if other != r.target {
						cancel()
					}
				}
				go drain(results, running)
				winner := cancels[r.target]
				inner := r.p.release
				r.p.release = func() { inner(); winner() }
				return r.p, nil
			}
		}
	}
	for _, cancel := range cancels {
		cancel()
	}
	return nil, failures
}

// drain releases hedged attempts that finish after a winner was chosen.
func drain(results <-chan result, n int) {
	for range n {
		if r := <-results; r.p != nil {
			r.p.abandon()
		}
	}
}

// onFailure acts on one failed attempt by its class. It returns the error to answer
// when the request must stop here (no failover).
func (x *execution) onFailure(t *policy.Target, e *providers.Error) *apiError {
	x.lastErr, x.lastT = e, t
	switch e.Class {
	case providers.ClassCanceled:
		return errClientGone
	case providers.ClassInvalidRequest:
		return clientError(e)
	case providers.ClassContentFilter:
		if x.plan.Alias.OnContentFilter != "failover" {
			return contentFilterError(e)
		}
	case providers.ClassContextLength:
		x.plan.TooLong(t)
	case providers.ClassRateLimited, providers.ClassQuota:
		d := e.RetryAfter
		if d <= 0 {
			d = x.rt.cfg.Resilience.DefaultCooldown
		}
		d = min(d, x.rt.cfg.Resilience.MaxCooldown)
		t.Health.CoolDown(d)
		x.s.metrics.Cooldowns.WithLabelValues(t.ProviderName, t.ID).Inc()
		x.log.Info("target cooling down", zap.String("target", t.ID), zap.Duration("for", d))
	case providers.ClassCredential:
		x.log.Error("upstream rejected the gateway's credentials: target is misconfigured",
			zap.String("target", t.ID), zap.String("provider", t.ProviderName), zap.Int("status", e.Status))
	case providers.ClassNotFound:
		x.log.Error("upstream model or deployment not found: target is misconfigured",
			zap.String("target", t.ID), zap.String("model", t.Model))
	}
	return nil
}

// retryTarget returns the last target again, after a backoff, when the plan has no
// alternative left and the failure was transient. Exponential backoff with full
// jitter; a rate-limited target is retried once its cooldown ends, if that is soon.
func (x *execution) retryTarget(ctx context.Context) *policy.Target {
	t, e := x.lastT, x.lastErr
	if t == nil || e == nil {
		return nil
	}
	r := x.rt.cfg.Resilience.Retry
	var wait time.Duration
	switch e.Class {
	case providers.ClassUnavailable, providers.ClassTimeout, providers.ClassConnection, providers.ClassInternal:
		if !t.Health.Available() {
			return nil
		}
		ceiling := min(r.MaxDelay, r.BaseDelay<<min(x.retries, 16))
		wait = rand.N(ceiling + 1)
	case providers.ClassRateLimited:
		until := t.Health.CooldownUntil()
		wait = time.Until(until)
		if wait > r.MaxDelay {
			return nil
		}
	default:
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return nil
	}
	if !sleepCtx(ctx, wait) {
		return nil
	}
	x.retries++
	x.plan.Retry(t)
	return x.plan.Next()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// exhausted is the answer when the plan ran out: the most telling error of the last
// attempt, or 503 when nothing could even be tried.
func (x *execution) exhausted() *apiError {
	alias := x.plan.Alias.Name
	if x.count() == 0 {
		e := errorf(http.StatusServiceUnavailable, "server_error", "targets_unavailable", "",
			"Every target of model %q is unavailable (circuit breaker open or cooling down after rate limits); try again shortly.", alias)
		e.RetryAfter = x.plan.RetryAfter()
		return e
	}
	e := x.lastErr
	n := x.count()
	switch e.Class {
	case providers.ClassContextLength:
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "context_length_exceeded",
			Param: "messages", Message: e.Message}
	case providers.ClassContentFilter:
		return contentFilterError(e)
	case providers.ClassRateLimited, providers.ClassQuota:
		ae := errorf(http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "",
			"Every target of model %q is rate limited (%d attempts); try again later.", alias, n)
		ae.RetryAfter = max(x.plan.RetryAfter(), time.Second)
		return ae
	case providers.ClassTimeout:
		return errorf(http.StatusGatewayTimeout, "server_error", "upstream_timeout", "",
			"Model %q: %d attempts, none answered in time (last: %s: %s).", alias, n, x.lastT.ProviderName, e.Message)
	}
	return errorf(http.StatusBadGateway, "server_error", "upstream_error", "",
		"Model %q: %d attempts failed (last: %s: %s).", alias, n, x.lastT.ProviderName, describe(e))
}

// deadlineError is the answer when the request's own deadline or client ended it.
func (x *execution) deadlineError(ctx context.Context) *apiError {
	if errors.Is(context.Cause(ctx), errRequestTimeout) {
		return errorf(http.StatusGatewayTimeout, "server_error", "timeout", "",
			"Model %q: no target answered within the request's total timeout (%d attempts).", x.plan.Alias.Name, x.count())
	}
	return errClientGone
}

// describe is an upstream failure as a client may read it. Credential failures are
// summarised: an upstream's message may quote part of our key.
func describe(e *providers.Error) string {
	msg := e.Message
	if e.Class == providers.ClassCredential {
		msg = "upstream rejected the gateway's credentials"
	}
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d: %s", e.Status, msg)
	}
	return msg
}

func contentFilterError(e *providers.Error) *apiError {
	msg := e.Message
	if msg == "" {
		msg = "The request was refused by the upstream content filter."
	}
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "content_filter",
		Param: "prompt", Message: msg}
}

func (x *execution) record(r attemptRecord) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.attempts = append(x.attempts, r)
}

func (x *execution) count() int { return int(x.dispatched.Load()) }

func (x *execution) records() []attemptRecord {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]attemptRecord(nil), x.attempts...)
}

// price is the cost of usage on t in US dollars; ok is false when t has no price:
// the cost is then unknown, never 0, and the first occurrence per target is logged.
func (x *execution) price(t *policy.Target, u providers.Usage) (float64, bool) {
	if t.Priced {
		return t.Price.Cost(u), true
	}
	x.s.metrics.CostUnknown.WithLabelValues(t.ProviderName, t.ID).Inc()
	if _, warned := x.s.unpriced.LoadOrStore(t.ID, true); !warned {
		x.log.Warn("no price for target: its cost is unknown and not counted against budgets; add it under pricing:",
			zap.String("target", t.ID), zap.String("provider_type", t.ProviderType))
	}
	return 0, false
}
