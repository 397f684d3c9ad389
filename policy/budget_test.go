package policy

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

func TestPeriods(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC) // a Wednesday
	cases := map[string]struct{ id, end string }{
		"daily":   {"2026-11-25", "2026-11-26T00:00:00Z"},
		"weekly":  {"2026-W48", "2026-11-30T00:00:00Z"},
		"monthly": {"2026-11", "2026-12-01T00:00:00Z"},
		"total":   {"total", ""},
	}
	for kind, want := range cases {
		p := PeriodOf(kind, now)
		end := ""
		if !p.End.IsZero() {
			end = p.End.Format(time.RFC3339)
		}
		if p.ID != want.id || end != want.end {
			t.Errorf("%s: %s ending %s", kind, p.ID, end)
		}
	}
}

func TestBudgetReserveSettle(t *testing.T) {
	// The clock is fixed: periods and their ends never depend on the day the test runs.
	var now atomic.Int64 // the store's sweeper reads it too
	now.Store(time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	store, err := state.Open(config.State{Driver: "embedded", Path: filepath.Join(t.TempDir(), "s.db")}, nil,
		state.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cfg := &config.Config{Budget: &config.Budget{USD: 1, Period: "total", Soft: 0.5}}
	team := &config.Budget{USD: 0.5, Period: "daily", Soft: 0.8}
	cfg.Resilience.Timeouts.Total = time.Minute
	bg := NewBudgets(store, cfg, clock)
	ctx := context.Background()
	keyBudget := &config.Budget{USD: 0.3, Period: "monthly", Soft: 0.9}
	scopes := bg.Scopes("app", "search", keyBudget, team)
	if len(scopes) != 3 {
		t.Fatalf("scopes %+v", scopes)
	}
	h, ex, err := bg.Reserve(ctx, "r1", scopes, 0.2)
	if err != nil || ex != nil {
		t.Fatal(err, ex)
	}
	// The key's $0.30 budget has $0.20 in flight: another $0.20 does not fit.
	_, ex, err = bg.Reserve(ctx, "r2", scopes, 0.2)
	if err != nil || ex == nil || ex.Kind != "key" || !strings.Contains(ex.Message(), "it resets at 2026-12-01T00:00:00Z") {
		t.Fatalf("second reservation: %v %+v", err, ex)
	}
	res, err := bg.Settle(ctx, h, 0.05)
	if err != nil || len(res) != 3 || res[0].Spent != 0.05 {
		t.Fatalf("settle: %v %+v", err, res)
	}
	if used, _ := bg.Used(ctx, "app", "search", keyBudget, team); used < 0.16 || used > 0.17 {
		t.Errorf("used share %v, want 0.05/0.30", used)
	}
	// The team budget was only held during the refused attempt: nothing leaked.
	if spent, _ := bg.Spent(ctx, scopes[1]); spent != 0.05 {
		t.Errorf("team spent %v", spent)
	}

	// In December the monthly and daily budgets start again; the total one does not.
	now.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	next := bg.Scopes("app", "search", keyBudget, team)
	for i, want := range []struct {
		period string
		spent  float64
	}{{"2026-12", 0}, {"2026-12-01", 0}, {"total", 0.05}} {
		if spent, _ := bg.Spent(ctx, next[i]); next[i].Period.ID != want.period || spent != want.spent {
			t.Errorf("%s budget in period %s: spent %v, want %s and %v", next[i].Kind, next[i].Period.ID, spent, want.period, want.spent)
		}
	}
	if _, ex, err := bg.Reserve(ctx, "r3", next, 0.25); err != nil || ex != nil {
		t.Fatalf("a new month's reservation: %v %+v", err, ex)
	}
}
