package proxy

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/policy"
)

// reserveBudget holds the request's maximum cost on every budget that applies to
// its key, so that concurrent requests cannot overspend beyond what is in flight.
func (s *Server) reserveBudget(ctx context.Context, rt *runtime, ex *exchange, a *admission) (*policy.Hold, *apiError) {
	key := ex.key
	scopes := rt.budgets.Scopes(key.Name, key.Team, key.budget())
	if len(scopes) == 0 {
		return nil, nil
	}
	amount, _ := rt.maxCost(a.plan)
	// Even an unpriced request holds a nano-dollar, so an exhausted budget refuses it.
	amount = max(amount, 1e-9)
	hold, exceeded, err := rt.budgets.Reserve(ctx, ex.r.Header.Get("X-Request-Id"), scopes, amount)
	switch {
	case err != nil:
		return nil, s.failOpen(rt, "budget", err)
	case exceeded != nil:
		s.metrics.BudgetRejections.WithLabelValues(exceeded.Kind, key.Team).Inc()
		s.metrics.BudgetSpend.WithLabelValues(exceeded.Kind, exceeded.Name, exceeded.Budget.Period).Set(exceeded.Spent)
		s.metrics.BudgetLimit.WithLabelValues(exceeded.Kind, exceeded.Name, exceeded.Budget.Period).Set(exceeded.Budget.USD)
		return nil, errorf(http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "", "%s", exceeded.Message())
	}
	return hold, nil
}

// settle replaces the request's budget hold with its actual cost, and its estimated
// tokens with its actual ones. It runs when the request ends, however it ended
// (cancelled streams too), on a context of its own.
func (s *Server) settle(rt *runtime, ex *exchange, a *admission) {
	key := ex.key
	limited := a.rate.Allowed && key.cfg != nil
	if !limited && a.hold == nil {
		return // nothing was counted: most requests, spared a timer per request
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*rt.cfg.State.Timeout)
	defer cancel()
	if limited {
		actual := int64(0)
		if ex.served.usageKnown {
			actual = int64(ex.served.usage.TotalTokens)
		} else if ex.target != nil {
			actual = a.estTokens
		}
		if err := rt.limiter.Correct(ctx, key.Name, key.cfg.Limits, a.estTokens, actual); err != nil {
			s.stateError("rate_limit", err)
		}
	}
	if a.hold == nil {
		return
	}
	results, err := rt.budgets.Settle(ctx, a.hold, ex.cost)
	if err != nil {
		s.stateError("budget", err)
	}
	for _, r := range results {
		s.metrics.BudgetSpend.WithLabelValues(r.Kind, r.Name, r.Budget.Period).Set(r.Spent)
		s.metrics.BudgetLimit.WithLabelValues(r.Kind, r.Name, r.Budget.Period).Set(r.Budget.USD)
		if r.CrossedSoft {
			s.log.Warn("budget passed its soft threshold", zap.String("scope", r.Kind), zap.String("name", r.Name),
				zap.String("period", r.Period.ID), zap.Float64("spent_usd", r.Spent), zap.Float64("limit_usd", r.Budget.USD),
				zap.Float64("soft", r.Budget.Soft))
		}
	}
}
