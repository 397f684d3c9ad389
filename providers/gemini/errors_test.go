package gemini

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// TestClassifyErrors: every row is an error body Google documents or sends.
func TestClassifyErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		class  providers.Class
		retry  time.Duration
		code   string
	}{
		// https://ai.google.dev/gemini-api/docs/rate-limits: quota windows, with RetryInfo.
		{"429 with RetryInfo", 429, `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"22s"}]}}`, providers.ClassRateLimited, 22 * time.Second, "RESOURCE_EXHAUSTED"},
		{"429 with fractional RetryInfo", 429, `{"error":{"code":429,"message":"Resource exhausted.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`, providers.ClassRateLimited, 1500 * time.Millisecond, "RESOURCE_EXHAUSTED"},
		// Vertex AI's 429 (https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429) has no RetryInfo.
		{"Vertex 429", 429, `{"error":{"code":429,"message":"Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.","status":"RESOURCE_EXHAUSTED"}}`, providers.ClassRateLimited, 0, "RESOURCE_EXHAUSTED"},
		// The Gemini API's prepaid credits: 402 RESOURCE_EXHAUSTED, not a window.
		{"402 credits depleted", 402, `{"error":{"code":402,"message":"Your prepayment credits are depleted.","status":"RESOURCE_EXHAUSTED"}}`, providers.ClassQuota, 0, "RESOURCE_EXHAUSTED"},
		{"503 overloaded", 503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, providers.ClassUnavailable, 0, "UNAVAILABLE"},
		{"500 internal", 500, `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`, providers.ClassUnavailable, 0, "INTERNAL"},
		{"504 deadline", 504, `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`, providers.ClassTimeout, 0, "DEADLINE_EXCEEDED"},
		// A wrong API key is a 400 with ErrorInfo reason API_KEY_INVALID.
		{"wrong API key", 400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, providers.ClassCredential, 0, "INVALID_ARGUMENT"},
		{"missing API key", 403, `{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}`, providers.ClassCredential, 0, "PERMISSION_DENIED"},
		{"Vertex bad token", 401, `{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}`, providers.ClassCredential, 0, "UNAUTHENTICATED"},
		{"model not found", 404, `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}`, providers.ClassNotFound, 0, "NOT_FOUND"},
		{"prompt too long", 400, `{"error":{"code":400,"message":"The input token count (1300000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`, providers.ClassContextLength, 0, "context_length_exceeded"},
		{"bad argument", 400, `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\n","status":"INVALID_ARGUMENT"}}`, providers.ClassInvalidRequest, 0, "INVALID_ARGUMENT"},
		// https://ai.google.dev/gemini-api/docs/troubleshooting: free tier unavailable in the caller's country.
		{"failed precondition", 400, `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`, providers.ClassInvalidRequest, 0, "FAILED_PRECONDITION"},
		// Vertex AI wraps errors of streaming methods in an array.
		{"Vertex array body", 400, `[{"error":{"code":400,"message":"The input token count exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}]`, providers.ClassContextLength, 0, "context_length_exceeded"},
		{"HTML from a load balancer", 502, `<html><body>Bad Gateway</body></html>`, providers.ClassUnavailable, 0, ""},
		{"empty 429", 429, ``, providers.ClassRateLimited, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError(tc.status, []byte(tc.body))
			if e.Class != tc.class || e.RetryAfter != tc.retry || e.Code != tc.code || e.Status != tc.status {
				t.Errorf("got class %v retry %v code %q status %d, want %v %v %q %d", e.Class, e.RetryAfter, e.Code, e.Status, tc.class, tc.retry, tc.code, tc.status)
			}
			if e.Message == "" {
				t.Error("no message")
			}
		})
	}
}

func TestUpstreamErrorFallsBackToRetryAfterHeader(t *testing.T) {
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"7"}},
		Body: io.NopCloser(strings.NewReader(`{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}`))}
	if e := upstreamError(resp); e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v", e.RetryAfter)
	}
}

func FuzzParseError(f *testing.F) {
	f.Add(429, []byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"22s"}]}}`))
	f.Add(400, []byte(`[{"error":{"code":400,"message":"x","status":"INVALID_ARGUMENT"}}]`))
	f.Add(0, []byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(status, body)
		if e == nil || e.Class == 0 {
			t.Fatalf("unclassified: %+v", e)
		}
		var pe *providers.Error
		if !errors.As(error(e), &pe) {
			t.Fatal("not a providers.Error")
		}
	})
}
