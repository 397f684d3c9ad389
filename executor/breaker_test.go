package executor_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers/fakes"
)

// breakerClouds adds alias "solo", primary/p alone, to the standby pair: both
// aliases share the target, and so its breaker.
func breakerClouds(openTimeout string) string {
	return standby(`
  - name: solo
    targets: [{provider: primary, model: p}]`, "consecutive_failures: 2, open_timeout: "+openTimeout)
}

// openPrimary fails primary until its breaker opens, through requests that the
// standby serves.
func openPrimary(t *testing.T, h *harness) {
	t.Helper()
	h.clouds["primary"].Fail(fakes.Fault{Status: http.StatusInternalServerError})
	for i := range 2 {
		if s := h.health("primary/p").State(); s != health.Closed {
			t.Fatalf("breaker %s after %d failures, want closed below consecutive_failures", s, i)
		}
		h.do(call{model: "m"}).served(t, "secondary")
	}
	// The state is read from the observer: a short open_timeout may already have
	// passed by the time the breaker is asked.
	if got := h.transitions("primary/p"); len(got) == 0 || got[0] != "closed -> open" {
		t.Fatalf("breaker changes %v, want it opened at consecutive_failures", got)
	}
}

func TestOpenBreakerIsSkippedWithoutDialing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, breakerClouds("1h"), cloud("primary"), cloud("secondary"))
	openPrimary(t, h)
	h.clouds["primary"].Clear() // healthy again: only the breaker keeps it out
	if s := h.health("primary/p").State(); s != health.Open {
		t.Fatalf("breaker %s", s)
	}
	dialed := h.requests("primary")

	r := h.do(call{model: "m"})
	r.served(t, "secondary")
	if want := []string{"secondary/s success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	// With nothing else to try, the answer is an immediate 503.
	r = h.do(call{model: "solo"})
	r.failed(t, http.StatusServiceUnavailable, "targets_unavailable")
	if len(r.attempts) != 0 || r.err.RetryAfter <= 0 {
		t.Errorf("attempts %v, Retry-After %v: want none, and when to come back", r.attempts, r.err.RetryAfter)
	}
	if n := h.requests("primary") - dialed; n != 0 {
		t.Errorf("the open breaker let %d requests through", n)
	}
}

func TestBreakerHalfOpensAfterOpenTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, breakerClouds("50ms"), cloud("primary"), cloud("secondary"))
	openPrimary(t, h)
	h.clouds["primary"].Clear()

	primary := h.health("primary/p")
	eventually(t, "the breaker half-opens", func() bool { return primary.State() == health.HalfOpen })
	// The probe goes to the recovered primary, and its success closes the breaker.
	r := h.do(call{model: "m"})
	r.served(t, "primary")
	want := []string{"closed -> open", "open -> half-open", "half-open -> closed"}
	if got := h.transitions("primary/p"); !slices.Equal(got, want) {
		t.Errorf("breaker changes %v, want %v", got, want)
	}
}
