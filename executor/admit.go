package executor

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// Info is what admission knows of a request before sending it anywhere.
type Info struct {
	Alias        string
	PromptTokens int
	MaxTokens    int
	Tools        bool
	Images       bool
	Stream       bool
	// Tags reads the request's tags. It runs only for an authenticated request that
	// passed its rate limit, so that a flood of tags costs the sender its own quota.
	Tags func() ([]string, error)
}

// Admission is the policy's verdict on a request: the rules' decision, the plan of
// targets, and what was counted against the caller's limits and budgets. Settle
// must follow.
type Admission struct {
	Decision  policy.Decision
	Plan      *policy.Plan
	Rate      policy.RateVerdict
	estTokens int64
	hold      *policy.Hold
}

// Admit runs a request through the alias allow-list, the rate limits, the rules and
// the budgets, in that order. The allow-list binds every alias the request may be
// served by: the one named, the one a rule routes to, and the fallbacks. A refusal
// is the error to answer.
func (e *Executor) Admit(ctx context.Context, rec *Record, info Info) (*Admission, *Error) {
	snap, c := rec.snap, rec.Caller
	if err := resolve(snap, c, info.Alias); err != nil {
		return nil, err
	}
	a := &Admission{}
	if err := e.admitRate(ctx, snap, c, a, info); err != nil {
		return nil, err
	}
	var tags []string
	if info.Tags != nil {
		var err error
		if tags, err = info.Tags(); err != nil {
			e.releaseRate(snap, c, a)
			return nil, ClientError(providers.AsError(err))
		}
	}
	in := policy.Input{Alias: info.Alias, Key: c.Name, Team: c.Team, Tags: tags,
		PromptTokens: info.PromptTokens, Tools: info.Tools, Images: info.Images, Stream: info.Stream}
	if snap.Router.Rules.UsesBudget() {
		used, err := snap.Budgets.Used(ctx, c.Name, c.Team, c.Budget, c.TeamBudget)
		if err != nil {
			e.StateError(snap, "budget_used", err)
		}
		in.BudgetUsed = used
	}
	d := snap.Router.Rules.Evaluate(in)
	if d.Deny != nil {
		e.releaseRate(snap, c, a)
		e.metrics.PolicyDenials.WithLabelValues(d.Deny.Rule).Inc()
		return nil, Errorf(http.StatusForbidden, "invalid_request_error", "policy_violation", "",
			"%s (policy %q)", d.Deny.Message, d.Deny.Rule)
	}
	if d.Alias != info.Alias {
		// A rule routed the request: the caller must be allowed the alias that
		// serves it, or it could reach through a rule what it may not name.
		if err := resolve(snap, c, d.Alias); err != nil {
			e.releaseRate(snap, c, a)
			return nil, err
		}
	}
	alias := snap.Router.Alias(d.Alias)
	rec.Alias = alias.Name
	est := policy.Estimate{PromptTokens: info.PromptTokens, MaxTokens: info.MaxTokens}
	if d.MaxTokens > 0 && (est.MaxTokens == 0 || est.MaxTokens > d.MaxTokens) {
		est.MaxTokens = d.MaxTokens
	}
	a.Decision = d
	a.Plan = snap.Router.NewPlan(alias, est, &d)
	a.Plan.KeepAliases(c.Allows) // fallbacks the caller may not use are never tried
	if !a.Plan.Eligible() {
		e.releaseRate(snap, c, a)
		return nil, Errorf(http.StatusForbidden, "invalid_request_error", "policy_violation", "model",
			"No target of model %q is allowed for this request by policy %s.", alias.Name, strings.Join(d.Restrictions, ", "))
	}
	hold, err := e.reserveBudget(ctx, snap, c, a)
	if err != nil {
		e.releaseRate(snap, c, a)
		return nil, err
	}
	a.hold = hold
	return a, nil
}

// resolve checks that an alias exists and the caller may use it.
func resolve(snap *Snapshot, c *Caller, name string) *Error {
	if snap.Router.Alias(name) == nil || !c.Allows(name) {
		return ModelNotFound(name)
	}
	return nil
}

// admitRate counts the request against its caller's rate limits. The token estimate
// is the request's own (a rule's max_tokens cap is not known yet); settlement
// corrects it with the actual tokens.
func (e *Executor) admitRate(ctx context.Context, snap *Snapshot, c *Caller, a *Admission, info Info) *Error {
	if !limited(c) {
		return nil
	}
	a.estTokens = int64(info.PromptTokens + policy.Estimate{MaxTokens: info.MaxTokens}.OutputTokens())
	v, err := snap.Limiter.Admit(ctx, c.RateScopes, a.estTokens)
	switch {
	case err != nil:
		return e.failOpen(snap, "rate_limit", err)
	case !v.Allowed:
		e.metrics.RateLimited.WithLabelValues(c.Team, v.Limit).Inc()
		unit := "requests"
		if v.Limit == "tpm" {
			unit = "tokens"
		}
		err := Errorf(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
			"Rate limit reached for %s %q: %d %s per minute. Please try again in %s.",
			v.Kind, v.Name, v.WindowLimit(), unit, roundUp(v.RetryAfter))
		err.RetryAfter = v.RetryAfter
		err.Rate = &v
		return err
	}
	a.Rate = v
	return nil
}

// failOpen decides what an unreachable store means: admission when state.fail_open
// is set (logged and counted), a 503 otherwise.
func (e *Executor) failOpen(snap *Snapshot, op string, err error) *Error {
	e.StateError(snap, op, err)
	if snap.Config.State.FailOpen {
		return nil
	}
	return Errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "",
		"The gateway cannot check limits and budgets right now; try again shortly.")
}

// StateError logs and counts a failure of the state store.
func (e *Executor) StateError(snap *Snapshot, op string, err error) {
	e.metrics.StateErrors.WithLabelValues(snap.Config.State.Driver, op).Inc()
	e.log.Error("shared state unavailable", zap.String("op", op), zap.Error(err))
}

// releaseRate gives back the tokens a request refused later (by a rule, its plan or
// its budget) had estimated. The request itself still counts against requests per
// minute: it was made, and refusing it cost the gateway work.
func (e *Executor) releaseRate(snap *Snapshot, c *Caller, a *Admission) {
	if !limited(c) || !a.Rate.Allowed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), snap.Config.State.Timeout)
	defer cancel()
	if err := snap.Limiter.Correct(ctx, c.RateScopes, a.estTokens, 0); err != nil {
		e.StateError(snap, "rate_limit", err)
	}
}

// SetRateHeaders writes OpenAI's x-ratelimit-* headers for a caller with limits.
func SetRateHeaders(h http.Header, v *policy.RateVerdict) {
	for _, w := range []struct {
		kind string
		adm  int64
		lim  int64
		rst  time.Duration
	}{{"requests", v.Requests.Count, v.Requests.Limit, v.Requests.Reset}, {"tokens", v.Tokens.Count, v.Tokens.Limit, v.Tokens.Reset}} {
		if w.lim == 0 {
			continue
		}
		h.Set("X-Ratelimit-Limit-"+w.kind, strconv.FormatInt(w.lim, 10))
		h.Set("X-Ratelimit-Remaining-"+w.kind, strconv.FormatInt(max(w.lim-w.adm, 0), 10))
		h.Set("X-Ratelimit-Reset-"+w.kind, roundUp(w.rst).String())
	}
}

func roundUp(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Second
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
