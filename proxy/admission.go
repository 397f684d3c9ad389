package proxy

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/policy"
)

// requestInfo is what admission knows of a request before sending it anywhere.
type requestInfo struct {
	alias        string
	promptTokens int
	maxTokens    int
	tools        bool
	images       bool
	stream       bool
	tags         []string
}

// admission is the policy's verdict on a request: the rules' decision, the plan of
// targets, and what was counted against the key's limits and budgets.
type admission struct {
	decision  policy.Decision
	plan      *policy.Plan
	rate      policy.RateVerdict
	estTokens int64
	hold      *policy.Hold
}

// admit runs a request through the rules, the alias allowlist, the rate limits and
// the budgets, in that order. A refusal is the API error to answer.
func (s *Server) admit(ctx context.Context, rt *runtime, ex *exchange, info requestInfo) (*admission, *apiError) {
	key := ex.key
	if _, aerr := s.resolveAlias(rt, key, info.alias); aerr != nil {
		return nil, aerr
	}
	in := policy.Input{Alias: info.alias, Key: key.Name, Team: key.Team, Tags: info.tags,
		PromptTokens: info.promptTokens, Tools: info.tools, Images: info.images, Stream: info.stream}
	if rt.router.Rules.UsesBudget() {
		used, err := rt.budgets.Used(ctx, key.Name, key.Team, key.budget())
		if err != nil {
			s.stateError("budget_used", err)
		}
		in.BudgetUsed = used
	}
	d := rt.router.Rules.Evaluate(in)
	if d.Deny != nil {
		s.metrics.PolicyDenials.WithLabelValues(d.Deny.Rule).Inc()
		return nil, errorf(http.StatusForbidden, "invalid_request_error", "policy_violation", "",
			"%s (policy %q)", d.Deny.Message, d.Deny.Rule)
	}
	alias := rt.router.Alias(d.Alias)
	ex.alias = alias.Name
	est := policy.Estimate{PromptTokens: info.promptTokens, MaxTokens: info.maxTokens}
	if d.MaxTokens > 0 && (est.MaxTokens == 0 || est.MaxTokens > d.MaxTokens) {
		est.MaxTokens = d.MaxTokens
	}
	a := &admission{decision: d, plan: rt.router.NewPlan(alias, est, &d)}
	if !a.plan.Eligible() {
		return nil, errorf(http.StatusForbidden, "invalid_request_error", "policy_violation", "model",
			"No target of model %q is allowed for this request by policy %s.", alias.Name, strings.Join(d.Restrictions, ", "))
	}

	if k := key.cfg; k != nil && (k.Limits.RPM > 0 || k.Limits.TPM > 0) {
		a.estTokens = int64(est.PromptTokens + est.OutputTokens())
		v, err := rt.limiter.Admit(ctx, key.Name, k.Limits, a.estTokens)
		switch {
		case err != nil:
			if aerr := s.failOpen(rt, "rate_limit", err); aerr != nil {
				return nil, aerr
			}
		case !v.Allowed:
			s.metrics.RateLimited.WithLabelValues(key.Team, v.Limit).Inc()
			unit := "requests"
			if v.Limit == "tpm" {
				unit = "tokens"
			}
			e := errorf(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
				"Rate limit reached for key %q: %d %s per minute. Please try again in %s.",
				key.Name, v.WindowLimit(), unit, roundUp(v.RetryAfter))
			e.RetryAfter = v.RetryAfter
			e.rate = &v
			return nil, e
		default:
			a.rate = v
		}
	}

	hold, aerr := s.reserveBudget(ctx, rt, ex, a)
	if aerr != nil {
		s.releaseRate(rt, key, a)
		return nil, aerr
	}
	a.hold = hold
	return a, nil
}

// failOpen decides what an unreachable store means: admission when state.fail_open
// is set (logged and counted), a 503 otherwise.
func (s *Server) failOpen(rt *runtime, op string, err error) *apiError {
	s.stateError(op, err)
	if rt.cfg.State.FailOpen {
		return nil
	}
	return errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "",
		"The gateway cannot check limits and budgets right now; try again shortly.")
}

func (s *Server) stateError(op string, err error) {
	s.metrics.StateErrors.WithLabelValues(s.Config().State.Driver, op).Inc()
	s.log.Error("shared state unavailable", zap.String("op", op), zap.Error(err))
}

// releaseRate gives back what a request refused later (by its budget) counted.
func (s *Server) releaseRate(rt *runtime, key *clientKey, a *admission) {
	if key.cfg == nil || !a.rate.Allowed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rt.cfg.State.Timeout)
	defer cancel()
	if err := rt.limiter.Correct(ctx, key.Name, key.cfg.Limits, a.estTokens, 0); err != nil {
		s.stateError("rate_limit", err)
	}
}

// setRateHeaders writes OpenAI's x-ratelimit-* headers for a key with limits.
func setRateHeaders(h http.Header, v *policy.RateVerdict) {
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

// tagsOf reads the request's tags: the X-Switchyard-Tags header and metadata.tags.
func tagsOf(r *http.Request, metadataTags string) []string {
	header := r.Header.Get("X-Switchyard-Tags")
	if header == "" && metadataTags == "" {
		return nil // most requests have none: spare the split
	}
	return policy.ParseTags(header, metadataTags)
}
