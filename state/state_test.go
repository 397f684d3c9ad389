package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/switchyard/switchyard/config"
)

// The behaviour suite: every test here runs once per driver, and both must behave
// the same.

type driver struct {
	name string
	// open returns a fresh store whose keys no other test sees, and its clock.
	open func(t testing.TB) (Store, *storeClock)
}

var drivers = []driver{
	{"embedded", openTestEmbedded},
	{"redis", openTestRedis},
}

// storeClock is a store's time as a test moves it. The embedded driver reads a
// settable clock (WithClock): its tests never wait and never race the real one. Redis
// reads its server's clock (TIME), which no test can set: there Advance sleeps, and
// the durations a test must not outlive (short, the windows of FreshWindow) are long
// enough for a loaded machine to finish the few operations they cover.
type storeClock struct {
	fake *atomic.Int64 // Unix nanoseconds; nil for the real clock
	// short is a TTL or hold that outlasts a few operations.
	short time.Duration
}

func newFakeClock() *storeClock {
	c := &storeClock{fake: &atomic.Int64{}, short: time.Minute}
	c.fake.Store(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC).UnixNano())
	return c
}

var realClock = &storeClock{short: time.Second}

// Now is the store's time.
func (c *storeClock) Now() time.Time {
	if c.fake == nil {
		return time.Now()
	}
	return time.Unix(0, c.fake.Load())
}

// Advance moves the store's time forward by at least d.
func (c *storeClock) Advance(d time.Duration) {
	if c.fake == nil {
		// Redis expires a key once its clock is strictly past the key's time, in
		// milliseconds.
		time.Sleep(d + 2*time.Millisecond)
		return
	}
	c.fake.Add(int64(d))
}

// FreshWindow moves, if needed, into an epoch-aligned window of length w with enough
// left for a test's next steps to fall into it: the whole window on a fake clock;
// three quarters of it (at most 30s) on the real one.
func (c *storeClock) FreshWindow(w time.Duration) {
	need := w
	if c.fake == nil {
		need = min(w*3/4, 30*time.Second)
	}
	now := c.Now().UnixNano()
	if left := time.Duration(int64(w) - now%int64(w)); left < need {
		c.Advance(left)
	}
}

func openTestEmbedded(t testing.TB) (Store, *storeClock) {
	t.Helper()
	clk := newFakeClock()
	s, err := Open(config.State{Driver: "embedded", Path: filepath.Join(t.TempDir(), "state.db"),
		KeyPrefix: "switchyard:"}, zaptest.NewLogger(t), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clk
}

var prefixes atomic.Int64

func openTestRedis(t testing.TB) (Store, *storeClock) {
	t.Helper()
	return openRedisAt(t, sharedRedis(t), fmt.Sprintf("t%d:", prefixes.Add(1))), realClock
}

// openRedisAt opens a store as one replica would: its own client and connections.
// It logs nowhere: go-redis's logger is process-wide and may write from its own
// goroutines after a test has ended, which a test's logger does not allow. Its
// timeout is far above what a loaded machine takes, even with hundreds of callers
// queued for a connection: the tests of timeouts open stores of their own.
func openRedisAt(t testing.TB, addr, prefix string) Store {
	t.Helper()
	s, err := Open(config.State{Driver: "redis", URL: config.Secret("redis://" + addr),
		KeyPrefix: prefix, Timeout: 30 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func eachDriver(t *testing.T, fn func(t *testing.T, s Store, clk *storeClock)) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s, clk := d.open(t)
			fn(t, s, clk)
		})
	}
}

const hour = time.Hour

func TestAdmitLimitsExactlyAtTheBoundary(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		clk.FreshWindow(hour)
		steps := []struct {
			cost    int64
			allowed bool
			count   int64
		}{
			{2, true, 2},
			{2, true, 4},
			{2, false, 4}, // 6 > 5: nothing added
			{1, true, 5},  // exactly the limit
			{1, false, 5},
			{0, true, 5}, // a cost of 0 only looks
		}
		for i, st := range steps {
			a, err := s.Admit(ctx, "rpm:search", 5, st.cost, hour)
			if err != nil {
				t.Fatal(err)
			}
			if a.Allowed != st.allowed || a.Count != st.count || a.Limit != 5 {
				t.Fatalf("step %d cost %d: got %+v, want allowed %v count %d", i, st.cost, a, st.allowed, st.count)
			}
			if a.Reset <= 0 || a.Reset > hour {
				t.Fatalf("step %d: reset %s outside (0, 1h]", i, a.Reset)
			}
		}
		// Another key has its own window.
		if a, err := s.Admit(ctx, "rpm:other", 5, 5, hour); err != nil || !a.Allowed || a.Count != 5 {
			t.Fatalf("other key: %+v %v", a, err)
		}
	})
}

func TestAdmitWindowRollsOver(t *testing.T) {
	t.Parallel() // Redis waits for its window to end
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		w := 2 * clk.short
		clk.FreshWindow(w)
		a, err := s.Admit(ctx, "rpm:roll", 3, 3, w)
		if err != nil || !a.Allowed {
			t.Fatalf("first: %+v %v", a, err)
		}
		denied, err := s.Admit(ctx, "rpm:roll", 3, 1, w)
		if err != nil || denied.Allowed || denied.Count != 3 {
			t.Fatalf("over the limit: %+v %v", denied, err)
		}
		if denied.Reset <= 0 || denied.Reset > w {
			t.Fatalf("reset %s outside (0, %s]", denied.Reset, w)
		}
		clk.Advance(denied.Reset)
		a, err = s.Admit(ctx, "rpm:roll", 3, 1, w)
		if err != nil || !a.Allowed || a.Count != 1 {
			t.Fatalf("next window should start from 0: %+v %v", a, err)
		}
	})
}

func TestAdjustCorrectsAndClampsAtZero(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		clk.FreshWindow(hour)
		if _, err := s.Admit(ctx, "tpm:search", 10, 3, hour); err != nil {
			t.Fatal(err)
		}
		// The estimate of 3 tokens was 8 too high: the count stops at 0.
		if err := s.Adjust(ctx, "tpm:search", -8, hour); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.Admit(ctx, "tpm:search", 10, 10, hour); !a.Allowed || a.Count != 10 {
			t.Fatalf("after clamping at 0, the whole limit is free: %+v", a)
		}
		// Actual usage higher than estimated: the window goes over the limit.
		if err := s.Adjust(ctx, "tpm:search", 2, hour); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.Admit(ctx, "tpm:search", 10, 0, hour); a.Allowed || a.Count != 12 {
			t.Fatalf("after +2: %+v, want denied with count 12", a)
		}
		// Adjusting a key with no window yet starts one.
		if err := s.Adjust(ctx, "tpm:new", 4, hour); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.Admit(ctx, "tpm:new", 10, 0, hour); a.Count != 4 {
			t.Fatalf("new key: %+v", a)
		}
	})
}

// reserveConcurrently runs n Reserve calls of amount at once, spread over stores,
// and returns the ids that got their reservation.
func reserveConcurrently(t *testing.T, stores []Store, key string, n int, limit, amount int64) []string {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   []string
		errs atomic.Int64
	)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("req-%d", i)
			r, err := stores[i%len(stores)].Reserve(context.Background(), key, id, limit, amount, time.Minute, time.Hour)
			if err != nil {
				errs.Add(1)
				t.Error(err)
				return
			}
			if r.Spent+r.Reserved > limit {
				t.Errorf("%s: spent %d + reserved %d over the limit %d", id, r.Spent, r.Reserved, limit)
			}
			if r.OK {
				mu.Lock()
				ok = append(ok, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok
}

func TestReserveNeverOvercommitsUnderConcurrency(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		// 200 requests of 7 against 1000: exactly 142 fit (994), whatever the order.
		ok := reserveConcurrently(t, []Store{s}, "budget:key:search:2026-11", 200, 1000, 7)
		if len(ok) != 142 {
			t.Fatalf("%d reservations succeeded, want exactly 142", len(ok))
		}
		spent, reserved, err := s.Usage(context.Background(), "budget:key:search:2026-11")
		if err != nil || spent != 0 || reserved != 994 {
			t.Fatalf("usage: spent %d reserved %d %v; want 0, 994", spent, reserved, err)
		}
	})
}

func TestSettleMovesReservedToSpent(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		const key = "budget:team:search:2026-11"
		usage := func(wantSpent, wantReserved int64) {
			t.Helper()
			spent, reserved, err := s.Usage(ctx, key)
			if err != nil || spent != wantSpent || reserved != wantReserved {
				t.Fatalf("usage: spent %d reserved %d %v; want %d, %d", spent, reserved, err, wantSpent, wantReserved)
			}
		}
		usage(0, 0)
		r, err := s.Reserve(ctx, key, "a", 1000, 300, time.Minute, time.Hour)
		if err != nil || r != (Reservation{OK: true, Spent: 0, Reserved: 300}) {
			t.Fatalf("reserve: %+v %v", r, err)
		}
		usage(0, 300)
		if err := s.Settle(ctx, key, "a", 250, time.Hour); err != nil {
			t.Fatal(err)
		}
		usage(250, 0)
		// 250 spent: 800 more does not fit, 750 does.
		if r, _ := s.Reserve(ctx, key, "b", 1000, 800, time.Minute, time.Hour); r != (Reservation{Spent: 250}) {
			t.Fatalf("800 over 250 spent: %+v", r)
		}
		if r, _ := s.Reserve(ctx, key, "c", 1000, 750, time.Minute, time.Hour); !r.OK || r.Reserved != 750 {
			t.Fatalf("750: %+v", r)
		}
		// The actual cost may exceed the reservation.
		if err := s.Settle(ctx, key, "c", 900, time.Hour); err != nil {
			t.Fatal(err)
		}
		usage(1150, 0)
		// An unknown id (lapsed, or a replica that lost it) still counts its spend.
		if err := s.Settle(ctx, key, "never-reserved", 50, time.Hour); err != nil {
			t.Fatal(err)
		}
		usage(1200, 0)
		if r, _ := s.Reserve(ctx, key, "d", 1000, 0, time.Minute, time.Hour); r.OK {
			t.Fatalf("an exhausted budget admits nothing more: %+v", r)
		}
	})
}

func TestSettleZeroCancels(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		if r, _ := s.Reserve(ctx, "b", "a", 100, 100, time.Minute, 0); !r.OK {
			t.Fatal("reserve failed")
		}
		if err := s.Settle(ctx, "b", "a", 0, 0); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Reserve(ctx, "b", "b", 100, 100, time.Minute, 0); !r.OK || r.Spent != 0 {
			t.Fatalf("after cancel: %+v", r)
		}
	})
}

func TestLapsedReservationFreesItsHold(t *testing.T) {
	t.Parallel() // Redis waits for the hold to lapse
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		// A replica reserved the whole budget, then crashed before settling.
		if r, _ := s.Reserve(ctx, "b", "crashed", 1000, 1000, clk.short, time.Hour); !r.OK {
			t.Fatal("reserve failed")
		}
		if r, _ := s.Reserve(ctx, "b", "next", 1000, 1, time.Hour, time.Hour); r.OK || r.Reserved != 1000 {
			t.Fatalf("while held: %+v", r)
		}
		clk.Advance(clk.short)
		if _, reserved, _ := s.Usage(ctx, "b"); reserved != 0 {
			t.Fatalf("lapsed hold still counted: %d", reserved)
		}
		if r, _ := s.Reserve(ctx, "b", "next", 1000, 1000, time.Hour, time.Hour); !r.OK {
			t.Fatalf("after the hold lapsed: %+v", r)
		}
	})
}

func TestReserveSameIDReplacesItsHold(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		if r, _ := s.Reserve(ctx, "b", "a", 1000, 600, time.Minute, 0); !r.OK {
			t.Fatal(r)
		}
		// A retried Reserve of the same request holds once, with the new amount.
		if r, _ := s.Reserve(ctx, "b", "a", 1000, 700, time.Minute, 0); !r.OK || r.Reserved != 700 {
			t.Fatalf("retry: %+v", r)
		}
		// A new amount that does not fit leaves the old hold in place.
		if r, _ := s.Reserve(ctx, "b", "a", 1000, 1100, time.Minute, 0); r.OK || r.Reserved != 700 {
			t.Fatalf("too large: %+v", r)
		}
		if _, reserved, _ := s.Usage(ctx, "b"); reserved != 700 {
			t.Fatalf("reserved %d, want 700", reserved)
		}
	})
}

func TestBudgetRecordExpiresWithItsTTL(t *testing.T) {
	t.Parallel() // Redis waits for the record to expire
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		if _, err := s.Reserve(ctx, "budget:day", "a", 1000, 10, time.Hour, clk.short); err != nil {
			t.Fatal(err)
		}
		if err := s.Settle(ctx, "budget:day", "a", 10, clk.short); err != nil {
			t.Fatal(err)
		}
		if spent, _, _ := s.Usage(ctx, "budget:day"); spent != 10 {
			t.Fatalf("spent %d, want 10", spent)
		}
		clk.Advance(clk.short)
		if spent, reserved, err := s.Usage(ctx, "budget:day"); err != nil || spent != 0 || reserved != 0 {
			t.Fatalf("after the period: spent %d reserved %d %v", spent, reserved, err)
		}
	})
}

func TestLargeAmountsStayExact(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		// Near 2^53, a double has no room for +1: Lua scripts must not round.
		if r, _ := s.Reserve(ctx, "big", "a", MaxAmount, MaxAmount-1, time.Minute, 0); !r.OK {
			t.Fatal(r)
		}
		if r, _ := s.Reserve(ctx, "big", "b", MaxAmount, 2, time.Minute, 0); r.OK {
			t.Fatalf("one over the limit was admitted: %+v", r)
		}
		if r, _ := s.Reserve(ctx, "big", "b", MaxAmount, 1, time.Minute, 0); !r.OK || r.Reserved != MaxAmount {
			t.Fatalf("exactly the limit: %+v", r)
		}
		if err := s.Settle(ctx, "big", "a", MaxAmount-3, 0); err != nil {
			t.Fatal(err)
		}
		if spent, reserved, _ := s.Usage(ctx, "big"); spent != MaxAmount-3 || reserved != 1 {
			t.Fatalf("spent %d reserved %d", spent, reserved)
		}
		// Spending saturates instead of overflowing.
		for range 3 {
			if err := s.Settle(ctx, "big", "x", MaxAmount, 0); err != nil {
				t.Fatal(err)
			}
		}
		if spent, _, _ := s.Usage(ctx, "big"); spent != MaxAmount {
			t.Fatalf("spent %d, want saturated at %d", spent, MaxAmount)
		}
		clk.FreshWindow(hour)
		if a, _ := s.Admit(ctx, "big", MaxAmount, MaxAmount-1, hour); !a.Allowed || a.Count != MaxAmount-1 {
			t.Fatalf("admit: %+v", a)
		}
		if a, _ := s.Admit(ctx, "big", MaxAmount, 2, hour); a.Allowed {
			t.Fatalf("admit over: %+v", a)
		}
	})
}

func TestRecords(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		if _, err := s.Get(ctx, "resp:missing"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent: %v, want ErrNotFound", err)
		}
		if err := s.Put(ctx, "resp:1", []byte(`{"id":"resp_1"}`), 0); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, "resp:1"); err != nil || string(v) != `{"id":"resp_1"}` {
			t.Fatalf("get: %q %v", v, err)
		}
		if err := s.Put(ctx, "resp:1", []byte("v2"), 0); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Get(ctx, "resp:1"); string(v) != "v2" {
			t.Fatalf("overwrite: %q", v)
		}
		if err := s.Put(ctx, "resp:empty", nil, 0); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, "resp:empty"); err != nil || len(v) != 0 {
			t.Fatalf("empty record: %q %v", v, err)
		}
		if err := s.Delete(ctx, "resp:1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "resp:1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
		if err := s.Delete(ctx, "resp:1"); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
	})
}

func TestRecordTTL(t *testing.T) {
	t.Parallel() // Redis waits for the record to expire
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		if err := s.Put(ctx, "resp:short", []byte("x"), clk.short); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "resp:long", []byte("y"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "resp:short"); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		clk.Advance(clk.short)
		if _, err := s.Get(ctx, "resp:short"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after expiry: %v, want ErrNotFound", err)
		}
		if v, err := s.Get(ctx, "resp:long"); err != nil || string(v) != "y" {
			t.Fatalf("unexpired: %q %v", v, err)
		}
	})
}

func TestKindsOfValueDoNotCollide(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		// One key name used as a counter, a budget and a record: three values.
		if a, err := s.Admit(ctx, "k", 10, 1, hour); err != nil || !a.Allowed {
			t.Fatalf("admit: %+v %v", a, err)
		}
		if r, err := s.Reserve(ctx, "k", "a", 10, 5, time.Minute, 0); err != nil || !r.OK || r.Reserved != 5 {
			t.Fatalf("reserve: %+v %v", r, err)
		}
		if err := s.Put(ctx, "k", []byte("rec"), 0); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, "k"); err != nil || string(v) != "rec" {
			t.Fatalf("get: %q %v", v, err)
		}
		if _, reserved, err := s.Usage(ctx, "k"); err != nil || reserved != 5 {
			t.Fatalf("usage: %d %v", reserved, err)
		}
	})
}

func TestInvalidArgumentsAreRefused(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, clk *storeClock) {
		ctx := context.Background()
		calls := map[string]error{}
		_, calls["negative cost"] = s.Admit(ctx, "k", 10, -1, hour)
		_, calls["zero window"] = s.Admit(ctx, "k", 10, 1, 0)
		_, calls["limit over MaxAmount"] = s.Admit(ctx, "k", MaxAmount+1, 1, hour)
		calls["adjust zero window"] = s.Adjust(ctx, "k", 1, 0)
		_, calls["negative amount"] = s.Reserve(ctx, "k", "a", 10, -1, time.Minute, 0)
		_, calls["zero hold"] = s.Reserve(ctx, "k", "a", 10, 1, 0, 0)
		calls["negative actual"] = s.Settle(ctx, "k", "a", -1, 0)
		calls["negative ttl"] = s.Put(ctx, "k", nil, -time.Second)
		for name, err := range calls {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
}

func TestOpenRefusesUnknownDriver(t *testing.T) {
	_, err := Open(config.State{Driver: "memcached"}, nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "memcached") {
		t.Fatalf("got %v", err)
	}
}
