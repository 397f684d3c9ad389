package anthropic

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

func anthropicError(typ, msg string) string {
	return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
}

func TestClassifyErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		class  providers.Class
		code   string
	}{
		{"rate limited", 429, anthropicError("rate_limit_error", "This request would exceed the rate limit for your organization"), providers.ClassRateLimited, ""},
		{"overloaded", 529, anthropicError("overloaded_error", "Overloaded"), providers.ClassUnavailable, ""},
		{"internal error", 500, anthropicError("api_error", "Internal server error"), providers.ClassUnavailable, ""},
		{"gateway 502 without a body", 502, `<html>Bad Gateway</html>`, providers.ClassUnavailable, ""},
		{"529 without a body", 529, ``, providers.ClassUnavailable, ""},
		{"timeout", 504, anthropicError("timeout_error", "Request timeout"), providers.ClassTimeout, ""},
		{"bad key", 401, anthropicError("authentication_error", "invalid x-api-key"), providers.ClassCredential, ""},
		{"no permission", 403, anthropicError("permission_error", "Your API key does not have permission to use the specified resource."), providers.ClassCredential, ""},
		{"billing", 402, anthropicError("billing_error", "Billing error"), providers.ClassQuota, ""},
		{"credit balance", 400, anthropicError("invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."), providers.ClassQuota, ""},
		{"spend limit", 400, anthropicError("invalid_request_error", "You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC."), providers.ClassQuota, ""},
		{"unknown model", 404, anthropicError("not_found_error", "model: claude-nonexistent"), providers.ClassNotFound, ""},
		{"body too large", 413, anthropicError("request_too_large", "Request exceeds the maximum allowed number of bytes."), providers.ClassContextLength, "context_length_exceeded"},
		{"prompt too long", 400, anthropicError("invalid_request_error", "prompt is too long: 215463 tokens > 200000 maximum"), providers.ClassContextLength, "context_length_exceeded"},
		{"input plus max_tokens too long", 400, anthropicError("invalid_request_error", "input length and `max_tokens` exceed context limit: 197032 + 8192 > 200000, decrease input length or `max_tokens` and try again"), providers.ClassContextLength, "context_length_exceeded"},
		{"other invalid request", 400, anthropicError("invalid_request_error", "max_tokens: Field required"), providers.ClassInvalidRequest, ""},
		{"conflict", 409, anthropicError("conflict_error", "Conflict"), providers.ClassInvalidRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError(tc.status, []byte(tc.body))
			if e.Class != tc.class || e.Code != tc.code || e.Status != tc.status || e.Message == "" {
				t.Fatalf("got class %v code %q status %d message %q; want class %v code %q", e.Class, e.Code, e.Status, e.Message, tc.class, tc.code)
			}
			if tc.class == providers.ClassInvalidRequest || tc.class == providers.ClassContextLength {
				if e.Type != "invalid_request_error" {
					t.Fatalf("a caller's error reaches the client as invalid_request_error, got %q", e.Type)
				}
			}
		})
	}
}

func TestStreamErrorEventClasses(t *testing.T) {
	for typ, want := range map[string]providers.Class{
		"overloaded_error": providers.ClassUnavailable, "api_error": providers.ClassUnavailable,
		"rate_limit_error": providers.ClassRateLimited, "some_new_error": providers.ClassUnavailable,
		"invalid_request_error": providers.ClassInvalidRequest,
	} {
		if got := parseError(0, []byte(anthropicError(typ, "x"))).Class; got != want {
			t.Errorf("error event %s: class %v, want %v", typ, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	resp := func(h map[string]string) *http.Response {
		r := &http.Response{StatusCode: 429, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(anthropicError("rate_limit_error", "slow down")))}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	cases := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"retry-after seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"exhausted token limit resets", map[string]string{
			"Anthropic-Ratelimit-Requests-Remaining": "40", "Anthropic-Ratelimit-Requests-Reset": "2026-11-25T12:00:30Z",
			"Anthropic-Ratelimit-Tokens-Remaining": "0", "Anthropic-Ratelimit-Tokens-Reset": "2026-11-25T12:00:12Z",
		}, 12 * time.Second},
		{"retry-after wins", map[string]string{"Retry-After": "3",
			"Anthropic-Ratelimit-Input-Tokens-Remaining": "0", "Anthropic-Ratelimit-Input-Tokens-Reset": "2026-11-25T12:01:00Z"}, 3 * time.Second},
		{"nothing said", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := upstreamError(resp(tc.header), now)
			if e.Class != providers.ClassRateLimited || e.RetryAfter != tc.want {
				t.Fatalf("class %v retry after %v, want rate_limited %v", e.Class, e.RetryAfter, tc.want)
			}
		})
	}
}

// FuzzParseError: no error body panics the classifier, and every one is classified.
func FuzzParseError(f *testing.F) {
	f.Add(529, []byte(anthropicError("overloaded_error", "Overloaded")))
	f.Add(400, []byte(anthropicError("invalid_request_error", "prompt is too long: 2 tokens > 1 maximum")))
	f.Add(0, []byte(`{"type":"error","error":null}`))
	f.Add(502, []byte("\xff<html>"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(status, body)
		if e.Class == 0 || e.Message == "" || e.Type == "" {
			t.Fatalf("unclassified: %+v", e)
		}
	})
}
