package executor_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers/fakes"
)

// standby is alias m: primary/p serves, secondary/s is its priority-1 standby.
// aliases adds entries under models; breaker is resilience.breaker's body.
func standby(aliases, breaker string) string {
	return `
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: m
    targets:
      - {provider: primary, model: p}
      - {provider: secondary, model: s, priority: 1}
` + aliases + `
resilience:
  max_cooldown: 1h
  breaker: {` + breaker + `}
`
}

// oneStrike opens a breaker at the first failure counted against its target, so
// that "not counted" is visible.
const oneStrike = "consecutive_failures: 1, open_timeout: 1h"

func TestCallerError400StopsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, standby("", oneStrike), cloud("primary"), cloud("secondary"))
	h.clouds["primary"].Fail(fakes.Fault{Status: http.StatusBadRequest, Code: "invalid_value",
		Message: "Invalid value for 'temperature'.", Times: 1})

	r := h.do(call{model: "m"})
	r.failed(t, http.StatusBadRequest, "invalid_value")
	if r.err.Type != "invalid_request_error" || !strings.Contains(r.err.Message, "temperature") {
		t.Errorf("client error %+v, want the upstream's invalid_request_error", r.err)
	}
	if want := []string{"primary/p invalid_request"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	if n := h.requests("secondary"); n != 0 {
		t.Errorf("a caller's mistake was sent to the standby (%d requests)", n)
	}
	if s := h.health("primary/p").State(); s != health.Closed {
		t.Errorf("a caller's mistake counted against the target: breaker %s", s)
	}
}

func TestRateLimitCoolsTargetDownForRetryAfter(t *testing.T) {
	t.Parallel()
	// Rate limits count against the breaker too: a high threshold keeps the skip
	// below the cooldown's doing alone.
	h := newHarness(t, standby("", "consecutive_failures: 100"), cloud("primary"), cloud("secondary"))
	h.clouds["primary"].Fail(fakes.Fault{Status: http.StatusTooManyRequests, RetryAfter: 40 * time.Second, Times: 1})

	before := time.Now()
	h.do(call{model: "m"}).served(t, "secondary")
	after := time.Now()
	primary := h.health("primary/p")
	until := primary.CooldownUntil()
	if until.Before(before.Add(40*time.Second)) || until.After(after.Add(40*time.Second)) {
		t.Errorf("cooldown ends %v after the request began, want its Retry-After, 40s", until.Sub(before))
	}
	if primary.Available() {
		t.Error("a cooling target reads available")
	}
	if s := primary.State(); s != health.Closed {
		t.Fatalf("breaker %s: the skip below would not be the cooldown's", s)
	}

	// The next request skips the resting target without dialing it.
	r := h.do(call{model: "m"})
	r.served(t, "secondary")
	if want := []string{"secondary/s success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	if n := h.requests("primary"); n != 1 {
		t.Errorf("the cooling primary got %d requests, want only the first", n)
	}
}

func TestContextLengthMovesToALargerWindow(t *testing.T) {
	t.Parallel()
	small := fakes.OpenAIOptions{Name: "small", ContextWindow: 20}
	same := fakes.OpenAIOptions{Name: "same", ContextWindow: 20}
	h := newHarness(t, `
providers:
  - {name: small, type: openai, base_url: "{{small}}"}
  - {name: same, type: openai, base_url: "{{same}}"}
  - {name: large, type: openai, base_url: "{{large}}"}
models:
  - name: m
    targets:
      - {provider: small, model: small, context_window: 20}
      - {provider: same, model: same, context_window: 20, priority: 1}
      - {provider: large, model: large, context_window: 100000, priority: 2}
resilience:
  breaker: {consecutive_failures: 1, open_timeout: 1h}
`, small, same, cloud("large"))

	r := h.do(call{model: "m", prompt: strings.Repeat("a long prompt ", 20)})
	r.served(t, "large")
	if want := []string{"small/small context_length", "large/large success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	if n := h.requests("same"); n != 0 {
		t.Errorf("a target with a window no larger than the failed one got %d requests", n)
	}
	if s := h.health("small/small").State(); s != health.Closed {
		t.Errorf("a prompt too long counted against the target: breaker %s", s)
	}
}

func TestContentFilterReturnsUnlessFailover(t *testing.T) {
	t.Parallel()
	h := newHarness(t, `
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: strict
    targets:
      - {provider: primary, model: p-strict}
      - {provider: secondary, model: s-strict, priority: 1}
  - name: lenient
    on_content_filter: failover
    targets:
      - {provider: primary, model: p-lenient}
      - {provider: secondary, model: s-lenient, priority: 1}
`, cloud("primary"), cloud("secondary"))
	filtered := fakes.Fault{Status: http.StatusBadRequest, Code: "content_filter",
		Message: "The response was filtered due to the prompt triggering content management policy.", Times: 1}

	h.clouds["primary"].Fail(filtered)
	r := h.do(call{model: "strict"})
	r.failed(t, http.StatusBadRequest, "content_filter")
	if n := h.requests("secondary"); n != 0 {
		t.Errorf("on_content_filter: return still failed over (%d requests)", n)
	}

	h.clouds["primary"].Fail(filtered)
	r = h.do(call{model: "lenient"})
	r.served(t, "secondary")
	if want := []string{"primary/p-lenient content_filter", "secondary/s-lenient success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
}
