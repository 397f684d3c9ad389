package providers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestClassifyStatus(t *testing.T) {
	cases := []struct {
		status int
		code   string
		msg    string
		want   Class
	}{
		{429, "rate_limit_exceeded", "Rate limit reached", ClassRateLimited},
		{429, "insufficient_quota", "You exceeded your current quota", ClassQuota},
		{500, "", "server error", ClassUnavailable},
		{503, "", "overloaded", ClassUnavailable},
		{504, "", "", ClassTimeout},
		{401, "invalid_api_key", "Incorrect API key", ClassCredential},
		{403, "", "forbidden", ClassCredential},
		{404, "DeploymentNotFound", "The API deployment for this resource does not exist", ClassNotFound},
		{404, "model_not_found", "The model `x` does not exist", ClassNotFound},
		{400, "context_length_exceeded", "too long", ClassContextLength},
		{400, "", "This model's maximum context length is 8192 tokens", ClassContextLength},
		{400, "", "prompt is too long: 210000 tokens > 200000 maximum", ClassContextLength},
		{400, "content_filter", "The response was filtered", ClassContentFilter},
		{400, "", "'messages' is a required property", ClassInvalidRequest},
		{422, "", "unprocessable", ClassInvalidRequest},
	}
	for _, c := range cases {
		if got := ClassifyStatus(c.status, c.code, c.msg); got != c.want {
			t.Errorf("ClassifyStatus(%d, %q, %q) = %s, want %s", c.status, c.code, c.msg, got, c.want)
		}
	}
}

// TestHealthFailure: what the upstream or the target's configuration caused counts
// against the target; what the request itself caused (a caller's mistake, an answer
// it shaped, a local error) never does.
func TestHealthFailure(t *testing.T) {
	cases := []struct {
		class  Class
		counts bool
		why    string
	}{
		{ClassUnavailable, true, "5xx, overloaded"},
		{ClassTimeout, true, "no answer in time"},
		{ClassConnection, true, "refused, reset, cut"},
		{ClassRateLimited, true, "429"},
		{ClassQuota, true, "quota exhausted"},
		{ClassCredential, true, "our credentials rejected"},
		{ClassNotFound, true, "model or deployment missing"},
		{ClassInternal, true, "unusable configuration, unexpected status"},
		{ClassDecode, true, "the upstream sent garbage"},
		{ClassInvalidRequest, false, "the caller's mistake"},
		{ClassContextLength, false, "the caller's prompt is too long"},
		{ClassContentFilter, false, "the caller's content"},
		{ClassCanceled, false, "the caller left"},
		{ClassLocal, false, "an answer the request shaped, an encoder error"},
	}
	for _, c := range cases {
		if c.class.HealthFailure() != c.counts {
			t.Errorf("%s (%s): counts %v, want %v", c.class, c.why, c.class.HealthFailure(), c.counts)
		}
	}
	if ClassLocal.String() != "local" {
		t.Errorf("ClassLocal is named %q", ClassLocal)
	}
}

func TestAsError(t *testing.T) {
	if e := AsError(context.Canceled); e.Class != ClassCanceled {
		t.Errorf("canceled: %s", e.Class)
	}
	if e := AsError(fmt.Errorf("x: %w", context.DeadlineExceeded)); e.Class != ClassTimeout {
		t.Errorf("deadline: %s", e.Class)
	}
	if e := AsError(&net.OpError{Op: "dial", Err: fmt.Errorf("connection refused")}); e.Class != ClassConnection {
		t.Errorf("refused: %s", e.Class)
	}
	orig := &Error{Class: ClassQuota}
	if AsError(fmt.Errorf("wrapped: %w", orig)) != orig {
		t.Error("a wrapped *Error is not unwrapped")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		h    http.Header
		want time.Duration
	}{
		{h("Retry-After", "7"), 7 * time.Second},
		{h("Retry-After", "1.5"), 1500 * time.Millisecond},
		{h("retry-after-ms", "250", "Retry-After", "1"), 250 * time.Millisecond},
		{h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{h("x-ratelimit-reset-requests", "6m0s", "x-ratelimit-remaining-requests", "0",
			"x-ratelimit-reset-tokens", "20ms", "x-ratelimit-remaining-tokens", "5000"), 6 * time.Minute},
		{h("x-ratelimit-reset-tokens", "2s"), 2 * time.Second},
		{h("Retry-After", "soon"), 0},
		{h(), 0},
		// Waits too long for a Duration are the longest wait, never negative.
		{h("Retry-After", "00030000000000000000000000000000"), longestWait},
		{h("Retry-After-Ms", "1e300"), longestWait},
		{h("Retry-After", "+Inf"), longestWait},
		{h("Retry-After", now.AddDate(5, 0, 0).Format(http.TimeFormat)), longestWait},
	}
	for i, c := range cases {
		if got := RetryAfter(c.h, now); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}
