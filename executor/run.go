package executor

import (
	"context"
	"errors"
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

// Work is what every attempt of a request sends: a chat request (streamed or not),
// a native Messages request, or embeddings.
type Work struct {
	Chat *providers.Request
	// ChatFor, when set, builds the chat request for one target (a Responses API
	// conversation fitted to the target's context window, or the translation of a
	// Messages request); Chat is its default.
	ChatFor func(*policy.Target) (*providers.Request, error)
	// Messages, when set, is an Anthropic Messages request: sent as it is (only the
	// model rewritten) to targets whose provider speaks Messages for their model,
	// and through ChatFor to every other target.
	Messages *providers.MessagesCall
	Embed    *providers.EmbedCall
	Stream   bool
	// Header is forwarded upstream (W3C trace context only).
	Header http.Header
}

// request is the chat request to send to t.
func (w *Work) request(t *policy.Target) (*providers.Request, *providers.Error) {
	if w.ChatFor == nil {
		return w.Chat, nil
	}
	r, err := w.ChatFor(t)
	if err != nil {
		return nil, providers.AsError(err)
	}
	return r, nil
}

func (w *Work) operation() string {
	if w.Embed != nil {
		return "embeddings"
	}
	return "chat"
}

// native returns t's Messages capability when the work is a Messages request and
// t speaks Messages for its model.
func (w *Work) native(t *policy.Target) providers.Messenger {
	if w.Messages == nil {
		return nil
	}
	if m, ok := t.Provider.(providers.Messenger); ok && m.SpeaksMessages(t.Model) {
		return m
	}
	return nil
}

// Run is one client request's attempts through its plan, until one succeeds,
// bounded by max_attempts and the request's total timeout.
type Run struct {
	e    *Executor
	snap *Snapshot
	rec  *Record
	// ctx is the request's context, with its total deadline.
	ctx    context.Context
	cancel context.CancelFunc
	plan   *policy.Plan
	// work is what the attempts send; nil once a stream is committed (Relay),
	// so that a long stream does not keep the request in memory. An attempt
	// reads it once, as it starts (a hedged one may start late).
	work atomic.Pointer[Work]

	// dispatched counts attempts sent upstream (X-Switchyard-Attempts, max_attempts).
	dispatched atomic.Int32
	mu         sync.Mutex // attempts are recorded by concurrent hedged attempts
	attempts   []attemptEntry
	lastErr    *providers.Error
	lastT      *policy.Target
	retries    int
	// Tap, when set, sees every relayed chunk (to cache a streamed answer).
	Tap *cache.Assembler
	// BeforeDone, when set, runs once an answer is complete, before its end is
	// written: a client's next request must find what this one stored. body is the
	// non-streamed answer (nil for streams).
	BeforeDone func(t *policy.Target, out *Outcome, body []byte)
}

// attemptEntry is one attempt, for the access log and X-Switchyard-Attempts.
type attemptEntry struct {
	Target   string
	Outcome  string
	Status   int
	Duration time.Duration
}

var (
	errFirstByte      = errors.New("no first byte within the first_byte timeout")
	errAttemptTotal   = errors.New("attempt exceeded the target's total timeout")
	errRequestTimeout = errors.New("request exceeded its total timeout")
)

// NewRun prepares the attempts of an admitted request. Close must follow.
func (e *Executor) NewRun(rec *Record, a *Admission, w Work) *Run {
	// Upstream bodies built from a lent client body hold its lease (providers.Do).
	ctx := providers.WithLease(rec.r.Context(), rec.lease)
	ctx, cancel := context.WithTimeoutCause(ctx, rec.snap.Config.Resilience.Timeouts.Total, errRequestTimeout)
	x := &Run{e: e, snap: rec.snap, rec: rec, ctx: ctx, cancel: cancel, plan: a.Plan}
	x.work.Store(&w)
	rec.run = x
	return x
}

// logger is the request's logger, built when a line is written: most requests
// write none.
func (x *Run) logger() *zap.Logger {
	return x.e.log.With(zap.String("request_id", x.rec.r.Header.Get("X-Request-Id")))
}

// Close ends the request's deadline.
func (x *Run) Close() { x.cancel() }

// Start tries targets until one reaches its first content, and returns its Answer,
// nothing sent to the client yet; or the error the client should see.
func (x *Run) Start() (*Answer, *Error) {
	ctx := x.ctx
	maxAttempts := x.snap.Config.Resilience.MaxAttempts
	for x.count() < maxAttempts {
		t := x.plan.Next()
		if t == nil {
			if t = x.retryTarget(ctx); t == nil {
				break
			}
		}
		if x.count() > 0 && x.lastErr != nil {
			x.e.metrics.Failovers.WithLabelValues(x.plan.Alias.Name, x.lastErr.Class.String()).Inc()
		}
		ans, failures := x.try(ctx, t, maxAttempts-x.count())
		if ans != nil {
			x.rec.target = ans.Target
			return ans, nil
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
func (x *Run) try(ctx context.Context, t *policy.Target, budget int) (*Answer, []failure) {
	hedge := x.plan.Alias.HedgeAfter
	if hedge <= 0 || budget < 2 {
		ans, err := x.attempt(ctx, t)
		if err == errNotAdmitted {
			return nil, nil
		}
		if err != nil {
			return nil, []failure{{t, err}}
		}
		return ans, nil
	}
	return x.hedged(ctx, t, hedge)
}

type result struct {
	target *policy.Target
	ans    *Answer
	err    *providers.Error
}

// hedged races t against the next target, started after delay; the first to reach its
// first content wins and the other is canceled, then released when it returns.
func (x *Run) hedged(ctx context.Context, t *policy.Target, delay time.Duration) (*Answer, []failure) {
	results := make(chan result, 2)
	cancels := map[*policy.Target]context.CancelFunc{}
	launch := func(t *policy.Target) {
		actx, cancel := context.WithCancel(ctx)
		cancels[t] = cancel
		lease := providers.LeaseFrom(ctx)
		lease.Hold() // the attempt may outlive the request, reading the body
		go func() {
			defer lease.Release()
			ans, err := x.attempt(actx, t)
			results <- result{t, ans, err}
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
				x.logger().Debug("hedging", zap.String("first", t.ID), zap.String("second", second.ID))
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
				inner := r.ans.release
				r.ans.release = func() { inner(); winner() }
				return r.ans, nil
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
		if r := <-results; r.ans != nil {
			r.ans.abandon()
		}
	}
}

// onFailure acts on one failed attempt by its class. It returns the error to answer
// when the request must stop here (no failover).
func (x *Run) onFailure(t *policy.Target, e *providers.Error) *Error {
	x.lastErr, x.lastT = e, t
	switch e.Class {
	case providers.ClassCanceled:
		return ErrClientGone
	case providers.ClassInvalidRequest:
		return ClientError(e)
	case providers.ClassContentFilter:
		if x.plan.Alias.OnContentFilter != "failover" {
			return contentFilterError(e)
		}
	case providers.ClassContextLength:
		x.plan.TooLong(t)
	case providers.ClassRateLimited, providers.ClassQuota:
		r := x.snap.Config.Resilience
		d := e.RetryAfter
		if d <= 0 {
			d = r.DefaultCooldown
		}
		d = min(d, r.MaxCooldown)
		t.Health.CoolDown(d)
		x.e.metrics.Cooldowns.WithLabelValues(t.ProviderName, t.ID).Inc()
		x.logger().Info("target cooling down", zap.String("target", t.ID), zap.Duration("for", d))
	case providers.ClassCredential:
		x.logger().Error("upstream rejected the gateway's credentials: target is misconfigured",
			zap.String("target", t.ID), zap.String("provider", t.ProviderName), zap.Int("status", e.Status))
	case providers.ClassNotFound:
		x.logger().Error("upstream model or deployment not found: target is misconfigured",
			zap.String("target", t.ID), zap.String("model", t.Model))
	}
	return nil
}

// retryTarget returns the last target again, after a backoff, when the plan has no
// alternative left and the failure was transient. Exponential backoff with full
// jitter; a rate-limited target is retried once its cooldown ends, if that is soon.
func (x *Run) retryTarget(ctx context.Context) *policy.Target {
	t, e := x.lastT, x.lastErr
	if t == nil || e == nil {
		return nil
	}
	r := x.snap.Config.Resilience.Retry
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
func (x *Run) exhausted() *Error {
	alias := x.plan.Alias.Name
	if x.count() == 0 {
		e := Errorf(http.StatusServiceUnavailable, "server_error", "targets_unavailable", "",
			"Every target of model %q is unavailable (circuit breaker open or cooling down after rate limits); try again shortly.", alias)
		e.RetryAfter = x.plan.RetryAfter()
		return e
	}
	e := x.lastErr
	n := x.count()
	switch e.Class {
	case providers.ClassContextLength:
		return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "context_length_exceeded",
			Param: "messages", Message: e.Message}
	case providers.ClassContentFilter:
		return contentFilterError(e)
	case providers.ClassRateLimited, providers.ClassQuota:
		err := Errorf(http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "",
			"Every target of model %q is rate limited (%d attempts); try again later.", alias, n)
		err.RetryAfter = max(x.plan.RetryAfter(), time.Second)
		return err
	case providers.ClassTimeout:
		return Errorf(http.StatusGatewayTimeout, "server_error", "upstream_timeout", "",
			"Model %q: %d attempts, none answered in time (last: %s: %s).", alias, n, x.lastT.ProviderName, e.Message)
	}
	return Errorf(http.StatusBadGateway, "server_error", "upstream_error", "",
		"Model %q: %d attempts failed (last: %s: %s).", alias, n, x.lastT.ProviderName, describe(e))
}

// deadlineError is the answer when the request's own deadline or client ended it.
func (x *Run) deadlineError(ctx context.Context) *Error {
	if errors.Is(context.Cause(ctx), errRequestTimeout) {
		return Errorf(http.StatusGatewayTimeout, "server_error", "timeout", "",
			"Model %q: no target answered within the request's total timeout (%d attempts).", x.plan.Alias.Name, x.count())
	}
	return ErrClientGone
}

func (x *Run) record(a attemptEntry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.attempts = append(x.attempts, a)
}

func (x *Run) count() int { return int(x.dispatched.Load()) }

func (x *Run) entries() []attemptEntry {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]attemptEntry(nil), x.attempts...)
}

// Price is the cost of usage on t in US dollars; ok is false when t has no price:
// the cost is then unknown, never 0, and the first occurrence per target is logged.
func (x *Run) Price(t *policy.Target, u providers.Usage) (float64, bool) {
	if t.Priced {
		return t.Price.Cost(u), true
	}
	x.e.metrics.CostUnknown.WithLabelValues(t.ProviderName, t.ID).Inc()
	if _, warned := x.e.unpriced.LoadOrStore(t.ID, true); !warned {
		x.logger().Warn("no price for target: its cost is unknown and not counted against budgets; add it under pricing:",
			zap.String("target", t.ID), zap.String("provider_type", t.ProviderType))
	}
	return 0, false
}
