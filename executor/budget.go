package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/policy"
)

// reserveBudget holds the request's maximum cost on every budget that applies to its
// caller, so that concurrent requests cannot overspend beyond what is in flight.
func (e *Executor) reserveBudget(ctx context.Context, snap *Snapshot, c *Caller, a *Admission) (*policy.Hold, *Error) {
	scopes := snap.Budgets.Scopes(c.Name, c.Team, c.Budget, c.TeamBudget)
	if len(scopes) == 0 {
		return nil, nil
	}
	amount, _ := maxCost(a.Plan)
	// Even an unpriced request holds a nano-dollar, so an exhausted budget refuses it.
	amount = max(amount, 1e-9)
	// The hold is named by an id of our own: a client's X-Request-Id is its to
	// choose, and concurrent requests sharing one would share one reservation.
	hold, exceeded, err := snap.Budgets.Reserve(ctx, NewID("hold_"), scopes, amount)
	switch {
	case err != nil:
		return nil, e.failOpen(snap, "budget", err)
	case exceeded != nil:
		e.metrics.BudgetRejections.WithLabelValues(exceeded.Kind, c.Team).Inc()
		e.spends.set(e.metrics.BudgetSpend, exceeded.Scope, exceeded.Spent)
		e.metrics.BudgetLimit.WithLabelValues(exceeded.Kind, exceeded.Name, exceeded.Budget.Period).Set(exceeded.Budget.USD)
		return nil, Errorf(http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "", "%s", exceeded.Message())
	}
	return hold, nil
}

// NewID returns prefix followed by 32 random hex digits.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Settle replaces the request's budget hold with its actual cost, and its estimated
// tokens with its actual ones. It runs when the request ends, however it ended
// (cancelled streams too), on a context of its own.
func (e *Executor) Settle(rec *Record, a *Admission) {
	snap, c := rec.snap, rec.Caller
	counted := a.Rate.Allowed && limited(c)
	if !counted && a.hold == nil {
		return // nothing was counted: most requests, spared a timer per request
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*snap.Config.State.Timeout)
	defer cancel()
	out := &rec.Outcome
	if counted {
		actual := int64(0)
		if out.UsageKnown {
			actual = int64(out.Usage.TotalTokens)
		} else if rec.target != nil {
			actual = a.estTokens
		}
		if err := snap.Limiter.Correct(ctx, c.RateScopes, a.estTokens, actual); err != nil {
			e.StateError(snap, "rate_limit", err)
		}
	}
	if a.hold == nil {
		return
	}
	results, err := snap.Budgets.Settle(ctx, a.hold, out.Cost)
	if err != nil {
		e.StateError(snap, "budget", err)
	}
	for _, r := range results {
		e.spends.set(e.metrics.BudgetSpend, r.Scope, r.Spent)
		e.metrics.BudgetLimit.WithLabelValues(r.Kind, r.Name, r.Budget.Period).Set(r.Budget.USD)
		if r.CrossedSoft {
			e.log.Warn("budget passed its soft threshold", zap.String("scope", r.Kind), zap.String("name", r.Name),
				zap.String("period", r.Period.ID), zap.Float64("spent_usd", r.Spent), zap.Float64("limit_usd", r.Budget.USD),
				zap.Float64("soft", r.Budget.Soft))
		}
	}
}

// spendGauge keeps switchyard_budget_spend_usd from going back within a period:
// concurrent requests read a budget's spend at different moments and report it in
// any order, but spend only grows until its period ends.
type spendGauge struct {
	mu   sync.Mutex
	last map[string]periodSpend // scope kind/name/period kind
}

type periodSpend struct {
	id    string
	spent float64
}

func (g *spendGauge) set(gauge *prometheus.GaugeVec, s policy.Scope, spent float64) {
	k := s.Kind + "/" + s.Name + "/" + s.Budget.Period
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		g.last = map[string]periodSpend{}
	}
	if prev, ok := g.last[k]; ok && prev.id == s.Period.ID && prev.spent >= spent {
		return
	}
	g.last[k] = periodSpend{id: s.Period.ID, spent: spent}
	gauge.WithLabelValues(s.Kind, s.Name, s.Budget.Period).Set(spent)
}

// Forget removes the series of a key or team that no longer exists (a revoked
// runtime key, a deleted runtime team): keys and teams issued and deleted through
// the admin API must not grow the series without bound. A key has budget series; a
// team also labels requests, tokens, cost and refusals.
func (e *Executor) Forget(kind, name string) {
	e.spends.mu.Lock()
	for k := range e.spends.last {
		if strings.HasPrefix(k, kind+"/"+name+"/") {
			delete(e.spends.last, k)
		}
	}
	e.spends.mu.Unlock()
	labels := prometheus.Labels{"scope": kind, "name": name}
	e.metrics.BudgetSpend.DeletePartialMatch(labels)
	e.metrics.BudgetLimit.DeletePartialMatch(labels)
	if kind != "team" {
		return
	}
	m, team := e.metrics, prometheus.Labels{"team": name}
	e.series.requests.forget(func(k requestKey) bool { return k.team == name },
		func() { m.Requests.DeletePartialMatch(team) })
	e.series.tokens.forget(func(k tokensKey) bool { return k.team == name },
		func() { m.Tokens.DeletePartialMatch(team) })
	m.Cost.DeletePartialMatch(team)
	m.PromptCacheSavings.DeletePartialMatch(team)
	m.RateLimited.DeletePartialMatch(team)
	m.BudgetRejections.DeletePartialMatch(team)
}
