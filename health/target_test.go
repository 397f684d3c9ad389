package health

import (
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu          sync.Mutex
	transitions []string
}

func (r *recorder) BreakerChanged(target string, from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transitions = append(r.transitions, from.String()+">"+to.String())
}

func outcome(t *testing.T, tg *Target, failure, ignore bool) {
	t.Helper()
	done, err := tg.Allow()
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	done(failure, ignore)
}

func TestBreakerTripsOnConsecutiveFailures(t *testing.T) {
	rec := &recorder{}
	p := NewPool(rec)
	// gobreaker reads the real clock: open_timeout is far longer than the few calls
	// that check the open state, and the test waits for it to pass.
	tg := p.Target("openai/gpt-4o", BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: time.Second})
	outcome(t, tg, true, false)
	outcome(t, tg, true, false)
	outcome(t, tg, false, false) // a success resets the run
	outcome(t, tg, true, false)
	outcome(t, tg, true, false)
	if tg.State() != Closed {
		t.Fatal("tripped before three consecutive failures")
	}
	outcome(t, tg, true, false)
	if tg.State() != Open || tg.Available() {
		t.Fatalf("state %s after three consecutive failures", tg.State())
	}
	if _, err := tg.Allow(); err != ErrOpen {
		t.Fatalf("open breaker admitted an attempt: %v", err)
	}
	time.Sleep(time.Second)
	if tg.State() != HalfOpen || !tg.Available() {
		t.Fatalf("state %s after open_timeout", tg.State())
	}
	done, err := tg.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Allow(); err != ErrOpen {
		t.Error("half-open admitted more than one probe")
	}
	done(false, false)
	if tg.State() != Closed {
		t.Errorf("successful probe left state %s", tg.State())
	}
	want := "closed>open open>half-open half-open>closed"
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := join(rec.transitions); got != want {
		t.Errorf("transitions %q, want %q", got, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestBreakerTripsOnFailureRatio(t *testing.T) {
	tg := NewPool(nil).Target("t", BreakerSettings{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 10})
	for i := range 9 {
		outcome(t, tg, i%2 == 0, false) // 5 failures of 9: below min requests
	}
	if tg.State() != Closed {
		t.Fatal("tripped below min_requests")
	}
	outcome(t, tg, true, false) // 6 of 10 failed
	if tg.State() != Open {
		t.Errorf("state %s at a 60%% failure ratio", tg.State())
	}
}

func TestIgnoredOutcomesCountNeitherWay(t *testing.T) {
	tg := NewPool(nil).Target("t", BreakerSettings{ConsecutiveFailures: 2})
	outcome(t, tg, true, false)
	for range 10 {
		outcome(t, tg, false, true) // the caller's 400s: no verdict on the target
	}
	outcome(t, tg, true, false)
	if tg.State() != Open {
		t.Errorf("ignored outcomes reset the failure run: %s", tg.State())
	}
}

func TestCooldown(t *testing.T) {
	p := NewPool(nil)
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	tg := p.Target("t", BreakerSettings{})
	tg.CoolDown(5 * time.Second)
	tg.CoolDown(time.Second) // a shorter one does not cut the running cooldown
	if tg.Available() || tg.CooldownUntil() != now.Add(5*time.Second) {
		t.Fatalf("cooling target: available=%v until=%v", tg.Available(), tg.CooldownUntil())
	}
	now = now.Add(5 * time.Second)
	if !tg.Available() || !tg.CooldownUntil().IsZero() {
		t.Error("cooldown did not end")
	}
}

func TestPoolKeepsStateAcrossReloads(t *testing.T) {
	p := NewPool(nil)
	s := BreakerSettings{ConsecutiveFailures: 1}
	tg := p.Target("t", s)
	outcome(t, tg, true, false)
	tg.CoolDown(time.Minute)
	if again := p.Target("t", s); again != tg {
		t.Fatal("same settings: state not reused")
	}
	changed := p.Target("t", BreakerSettings{ConsecutiveFailures: 2})
	if changed.CooldownUntil().IsZero() {
		t.Error("cooldown lost when breaker settings changed")
	}
	p.Retain(map[string]bool{})
	if fresh := p.Target("t", s); fresh.State() != Closed || !fresh.CooldownUntil().IsZero() {
		t.Error("removed target's state survived")
	}
}

func TestStatsEstimates(t *testing.T) {
	tg := NewPool(nil).Target("t", BreakerSettings{})
	for i := range 100 {
		tg.Observe(true, time.Duration(100+i)*time.Millisecond, 0)
	}
	tg.Observe(false, time.Hour, 0) // failures do not pollute latency
	s := tg.Snapshot()
	if s.LatencyMs < 150 || s.LatencyMs > 200 || s.LatencyP95Ms < 190 || s.LatencyP95Ms > 200 || s.SuccessRate > 0.95 || s.Samples != 101 {
		t.Errorf("snapshot %+v", s)
	}
	tg.Observe(true, time.Second, 40*time.Millisecond)
	if tg.Latency() != 40*time.Millisecond {
		t.Errorf("a stream's latency is its time to first token: %v", tg.Latency())
	}
}

func BenchmarkAvailable(b *testing.B) {
	tg := NewPool(nil).Target("t", BreakerSettings{})
	b.ReportAllocs()
	for b.Loop() {
		_ = tg.Available()
	}
}

func BenchmarkAllowDone(b *testing.B) {
	tg := NewPool(nil).Target("t", BreakerSettings{})
	b.ReportAllocs()
	for b.Loop() {
		done, _ := tg.Allow()
		done(false, false)
	}
}
