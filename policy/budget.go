package policy

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

// nanosPerUSD: budgets are counted in nano-dollars, exact integers in every driver.
const nanosPerUSD = 1e9

// Budgets enforces spending limits per key, per team and globally. A request
// reserves its maximum cost at admission and settles to its actual cost at the end,
// so concurrent requests can overspend by no more than what is in flight. Key and
// team budgets come with each request (from the file or the keys issued at run
// time); the global one from the configuration.
type Budgets struct {
	store  state.Store
	global *config.Budget
	// hold is how long an unsettled reservation lives (a crashed replica's holds
	// lapse after it).
	hold time.Duration
	now  func() time.Time

	mu   sync.Mutex
	soft map[string]bool // "scope/name/period" already warned about
}

// NewBudgets enforces the budgets of cfg in store. now is the clock of periods (nil
// is time.Now): tests set it, so that none depends on the date it runs.
func NewBudgets(store state.Store, cfg *config.Config, now func() time.Time) *Budgets {
	if now == nil {
		now = time.Now
	}
	return &Budgets{store: store, global: cfg.Budget,
		hold: cfg.Resilience.Timeouts.Total + time.Minute, now: now, soft: map[string]bool{}}
}

// Scope is one budget that applies to a request.
type Scope struct {
	Kind   string // key, team or global
	Name   string
	Budget *config.Budget
	Period Period
}

func (s Scope) storeKey() string {
	return "budget:" + s.Kind + ":" + s.Name + ":" + s.Period.ID
}

// Scopes lists the budgets of a key (its own, its team's, the global one) in force now.
func (b *Budgets) Scopes(key, team string, keyBudget, teamBudget *config.Budget) []Scope {
	now := b.now()
	var out []Scope
	if keyBudget != nil {
		out = append(out, Scope{"key", key, keyBudget, PeriodOf(keyBudget.Period, now)})
	}
	if teamBudget != nil && team != "" {
		out = append(out, Scope{"team", team, teamBudget, PeriodOf(teamBudget.Period, now)})
	}
	if b.global != nil {
		out = append(out, Scope{"global", "global", b.global, PeriodOf(b.global.Period, now)})
	}
	return out
}

// Hold is a request's reservation on every budget that applies to it.
type Hold struct {
	ID     string
	Scopes []Scope
	Amount float64
}

// Exceeded describes the budget that refused a request.
type Exceeded struct {
	Scope
	Spent, Reserved float64
}

// Message is what the client reads: which budget, and when it resets.
func (e *Exceeded) Message() string {
	reset := "it does not reset (period: total)"
	if !e.Period.End.IsZero() {
		reset = "it resets at " + e.Period.End.Format(time.RFC3339)
	}
	return fmt.Sprintf("The %s budget %q of $%.2f per %s period is exhausted ($%.4f spent, $%.4f in flight); %s.",
		e.Kind, e.Name, e.Budget.USD, e.Budget.Period, e.Spent, e.Reserved, reset)
}

// Reserve holds amount (USD) on every budget of the request. When one refuses, the
// holds already taken are released and Exceeded names the refusing budget.
func (b *Budgets) Reserve(ctx context.Context, id string, scopes []Scope, amount float64) (*Hold, *Exceeded, error) {
	h := &Hold{ID: id, Amount: amount}
	nanos := toNanos(amount)
	for _, s := range scopes {
		r, err := b.store.Reserve(ctx, s.storeKey(), id, toNanos(s.Budget.USD), nanos, b.hold, s.Period.ttl(b.now()))
		if err != nil {
			b.release(h)
			return nil, nil, err
		}
		if !r.OK {
			b.release(h)
			return nil, &Exceeded{Scope: s, Spent: fromNanos(r.Spent), Reserved: fromNanos(r.Reserved)}, nil
		}
		h.Scopes = append(h.Scopes, s)
	}
	return h, nil, nil
}

func (b *Budgets) release(h *Hold) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range h.Scopes {
		_ = b.store.Settle(ctx, s.storeKey(), h.ID, 0, s.Period.ttl(b.now()))
	}
}

// SettleResult is a budget's state after a request settled.
type SettleResult struct {
	Scope
	Spent float64
	// CrossedSoft is set the first time (per period and process) spending passes
	// the soft threshold.
	CrossedSoft bool
}

// Settle replaces the hold with the actual cost (USD) on every budget.
func (b *Budgets) Settle(ctx context.Context, h *Hold, actual float64) ([]SettleResult, error) {
	var out []SettleResult
	var firstErr error
	for _, s := range h.Scopes {
		if err := b.store.Settle(ctx, s.storeKey(), h.ID, toNanos(actual), s.Period.ttl(b.now())); err != nil {
			firstErr = err
			continue
		}
		spent, _, err := b.store.Usage(ctx, s.storeKey())
		if err != nil {
			firstErr = err
			continue
		}
		res := SettleResult{Scope: s, Spent: fromNanos(spent)}
		if res.Spent >= s.Budget.Soft*s.Budget.USD {
			res.CrossedSoft = b.markSoft(s)
		}
		out = append(out, res)
	}
	return out, firstErr
}

func (b *Budgets) markSoft(s Scope) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := s.storeKey()
	if b.soft[k] {
		return false
	}
	b.soft[k] = true
	return true
}

// Used is the largest spent share (0..1) among the key's budgets, for rules.
func (b *Budgets) Used(ctx context.Context, key, team string, keyBudget, teamBudget *config.Budget) (float64, error) {
	used := 0.0
	for _, s := range b.Scopes(key, team, keyBudget, teamBudget) {
		spent, _, err := b.store.Usage(ctx, s.storeKey())
		if err != nil {
			return used, err
		}
		used = math.Max(used, fromNanos(spent)/s.Budget.USD)
	}
	return used, nil
}

// Spent is the amount spent (USD) in a budget's current period.
func (b *Budgets) Spent(ctx context.Context, s Scope) (float64, error) {
	spent, _, err := b.store.Usage(ctx, s.storeKey())
	return fromNanos(spent), err
}

// Usage is the amount spent and held by requests in flight (USD) in a budget's
// current period.
func (b *Budgets) Usage(ctx context.Context, s Scope) (spent, reserved float64, err error) {
	sp, rs, err := b.store.Usage(ctx, s.storeKey())
	return fromNanos(sp), fromNanos(rs), err
}

// Scope is one budget of kind (key or team) and name in the period in force now.
func (b *Budgets) Scope(kind, name string, budget *config.Budget) Scope {
	return Scope{kind, name, budget, PeriodOf(budget.Period, b.now())}
}

func toNanos(usd float64) int64 {
	n := math.Ceil(usd * nanosPerUSD)
	if n > float64(state.MaxAmount) {
		return state.MaxAmount
	}
	return int64(n)
}

func fromNanos(n int64) float64 { return float64(n) / nanosPerUSD }

// Period is one budget period: daily, weekly (ISO weeks, from Monday) and monthly
// periods are UTC calendar periods; total never ends.
type Period struct {
	ID         string
	Start, End time.Time // End is zero for total
}

// PeriodOf returns the period of kind containing now.
func PeriodOf(kind string, now time.Time) Period {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch kind {
	case "daily":
		return Period{ID: day.Format("2006-01-02"), Start: day, End: day.AddDate(0, 0, 1)}
	case "weekly":
		start := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		y, w := start.ISOWeek()
		return Period{ID: fmt.Sprintf("%d-W%02d", y, w), Start: start, End: start.AddDate(0, 0, 7)}
	case "monthly":
		start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return Period{ID: start.Format("2006-01"), Start: start, End: start.AddDate(0, 1, 0)}
	}
	return Period{ID: "total"}
}

// ttl keeps a period's record a week past its end, for reporting; total forever.
func (p Period) ttl(now time.Time) time.Duration {
	if p.End.IsZero() {
		return 0
	}
	return p.End.Sub(now) + 7*24*time.Hour
}
