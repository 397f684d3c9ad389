package executor_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// solo is one target with nothing to fail over to: only retries can help.
const solo = `
providers:
  - {name: only, type: openai, base_url: "{{only}}"}
models:
  - name: solo
    targets: [{provider: only, model: o}]
resilience:
  max_attempts: 3
  retry: {base_delay: 1ms, max_delay: 2s}
`

func TestTransient503RetriedOnTheOnlyTarget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, solo, cloud("only"))
	h.clouds["only"].Fail(fakes.Fault{Status: http.StatusServiceUnavailable, Times: 2})

	r := h.do(call{model: "solo"})
	r.served(t, "only")
	if want := []string{"only/o unavailable", "only/o unavailable", "only/o success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, solo, cloud("only"))
	h.clouds["only"].Fail(fakes.Fault{Status: http.StatusServiceUnavailable})

	r := h.do(call{model: "solo"})
	r.failed(t, http.StatusBadGateway, "upstream_error")
	if n := h.requests("only"); n != 3 {
		t.Errorf("upstream got %d requests, want max_attempts (3)", n)
	}
	if got := r.header.Get("X-Switchyard-Attempts"); got != "3" {
		t.Errorf("X-Switchyard-Attempts %q", got)
	}
}

func TestRateLimitedTargetRetriedWhenItsCooldownEndsWithinMaxDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, solo, cloud("only"))
	h.clouds["only"].Fail(fakes.Fault{Status: http.StatusTooManyRequests, RetryAfter: 50 * time.Millisecond, Times: 1})

	r := h.do(call{model: "solo"})
	r.served(t, "only")
	if want := []string{"only/o rate_limited", "only/o success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
}

func TestRateLimitedTargetNotRetriedPastMaxDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, solo, cloud("only"))
	h.clouds["only"].Fail(fakes.Fault{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second, Times: 1})

	r := h.do(call{model: "solo"})
	r.failed(t, http.StatusTooManyRequests, "rate_limit_exceeded")
	if n := h.requests("only"); n != 1 {
		t.Errorf("upstream got %d requests; a cooldown beyond retry.max_delay is not waited for", n)
	}
	if r.err.RetryAfter < time.Second {
		t.Errorf("Retry-After %v: the client is told to wait", r.err.RetryAfter)
	}
}
