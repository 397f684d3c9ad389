package executor_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// answerText is the assistant's text of a non-streamed answer.
func answerText(t *testing.T, r reply) string {
	t.Helper()
	var doc struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || len(doc.Choices) == 0 {
		t.Fatalf("answer %q: %v", r.body, err)
	}
	return doc.Choices[0].Message.Content
}

func TestPrimary503ServedBySecondaryOfTheSameTier(t *testing.T) {
	t.Parallel()
	// cheapest makes the order within the tier certain: primary first.
	h := newHarness(t, `
providers:
  - {name: primary, type: openai, base_url: "{{primary}}"}
  - {name: secondary, type: openai, base_url: "{{secondary}}"}
models:
  - name: m
    strategy: cheapest
    targets:
      - {provider: primary, model: p}
      - {provider: secondary, model: s}
pricing:
  - {provider: primary, model: p, input: 1, output: 1}
  - {provider: secondary, model: s, input: 2, output: 2}
`, cloud("primary"), cloud("secondary"))
	h.clouds["primary"].Fail(fakes.Fault{Status: http.StatusServiceUnavailable})

	r := h.do(call{model: "m"})
	r.served(t, "secondary")
	if got := answerText(t, r); got != "secondary heard: hello" {
		t.Errorf("answer %q", got)
	}
	if want := []string{"primary/p unavailable", "secondary/s success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	if got := r.header.Get("X-Switchyard-Attempts"); got != "2" {
		t.Errorf("X-Switchyard-Attempts %q", got)
	}
}

const tieredClouds = `
providers:
  - {name: a, type: openai, base_url: "{{a}}"}
  - {name: b, type: openai, base_url: "{{b}}"}
  - {name: c, type: openai, base_url: "{{c}}"}
models:
  - name: m
    targets:
      - {provider: a, model: a}
      - {provider: b, model: b}
      - {provider: c, model: c, priority: 1}
resilience:
  breaker: {consecutive_failures: 100}
`

func TestHigherTierOnlyWhenEveryTargetOfTheFirstFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, tieredClouds, cloud("a"), cloud("b"), cloud("c"))
	h.clouds["a"].Fail(fakes.Fault{Status: http.StatusBadGateway})

	// One target of the first tier fails: its sibling serves, the standby tier rests.
	for range 4 {
		h.do(call{model: "m"}).served(t, "b")
	}
	if n := h.requests("c"); n != 0 {
		t.Fatalf("the priority-1 tier got %d requests while b was healthy", n)
	}

	// Both fail: only then the next tier.
	h.clouds["b"].Fail(fakes.Fault{Status: http.StatusServiceUnavailable})
	r := h.do(call{model: "m"})
	r.served(t, "c")
	if len(r.attempts) != 3 || r.attempts[2] != "c/c success" ||
		!slices.Contains(r.attempts[:2], "a/a unavailable") || !slices.Contains(r.attempts[:2], "b/b unavailable") {
		t.Errorf("attempts %v, want a and b (any order), then c", r.attempts)
	}
}

func TestHigherTierWhenTheFirstIsUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, tieredClouds, cloud("a"), cloud("b"), cloud("c"))
	// Both first-tier targets rate limit once, for a long time: they rest.
	for _, name := range []string{"a", "b"} {
		h.clouds[name].Fail(fakes.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute, Times: 1})
	}
	h.do(call{model: "m"}).served(t, "c")
	before := h.requests("a") + h.requests("b")

	// The next request goes straight to the standby tier, first attempt.
	r := h.do(call{model: "m"})
	r.served(t, "c")
	if want := []string{"c/c success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	if n := h.requests("a") + h.requests("b") - before; n != 0 {
		t.Errorf("resting targets got %d requests", n)
	}
}

const fallbackClouds = `
keys:
  - {name: any, key: sk-any}
  - {name: main-only, key: sk-main, models: [main]}
providers:
  - {name: a, type: openai, base_url: "{{a}}"}
  - {name: b, type: openai, base_url: "{{b}}"}
  - {name: backup, type: openai, base_url: "{{backup}}"}
models:
  - name: main
    targets:
      - {provider: a, model: a}
      - {provider: b, model: b, priority: 1}
    fallbacks: [spare]
  - name: spare
    targets:
      - {provider: backup, model: spare}
resilience:
  max_attempts: 3
  retry: {base_delay: 1ms, max_delay: 5ms}
`

func TestFallbackAliasAfterEveryTargetFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fallbackClouds, cloud("a"), cloud("b"), cloud("backup"))
	h.clouds["a"].Fail(fakes.Fault{Status: http.StatusInternalServerError})
	h.clouds["b"].Fail(fakes.Fault{Status: http.StatusInternalServerError})

	r := h.do(call{model: "main", caller: h.caller("any")})
	r.served(t, "backup")
	if want := []string{"a/a unavailable", "b/b unavailable", "backup/spare success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
}

func TestFallbackNeverReachesAnAliasTheCallerMayNotUse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fallbackClouds, cloud("a"), cloud("b"), cloud("backup"))
	h.clouds["a"].Fail(fakes.Fault{Status: http.StatusInternalServerError})
	h.clouds["b"].Fail(fakes.Fault{Status: http.StatusInternalServerError})

	r := h.do(call{model: "main", caller: h.caller("main-only")})
	r.failed(t, http.StatusBadGateway, "upstream_error")
	if n := h.requests("backup"); n != 0 {
		t.Errorf("the fallback the key may not use got %d requests", n)
	}
	for _, a := range r.attempts {
		if strings.HasPrefix(a, "backup/") {
			t.Errorf("attempts %v reach the forbidden fallback", r.attempts)
		}
	}
}
