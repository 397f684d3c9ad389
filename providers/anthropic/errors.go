package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// errorBody is Anthropic's error document,
// {"type":"error","error":{"type":...,"message":...},"request_id":...}
// (https://platform.claude.com/docs/en/api/errors). The same object is the data of
// a stream's "error" event.
type errorBody struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// upstreamError classifies a non-200 response.
func upstreamError(resp *http.Response, now time.Time) *providers.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := parseError(resp.StatusCode, body)
	switch e.Class {
	case providers.ClassRateLimited, providers.ClassQuota, providers.ClassUnavailable, providers.ClassTimeout:
		e.RetryAfter = retryAfter(resp.Header, now)
	}
	return e
}

// parseError turns an error document (or anything else) into a classified error.
// status is 0 for an error event inside a stream, where only the type speaks.
//
// The classes, from the error types of https://platform.claude.com/docs/en/api/errors:
//   - rate_limit_error (429) → rate limited;
//   - overloaded_error (529), api_error (500) and other 5xx → unavailable;
//     timeout_error (504) → timeout;
//   - authentication_error (401), permission_error (403) → credential;
//   - billing_error (402) → quota, as are the 400s of an exhausted credit balance
//     or a reached spend limit ("The API also returns a 400 when usage reaches an
//     organization or workspace spend limit");
//   - not_found_error (404) → not found;
//   - request_too_large (413) and "prompt is too long: N tokens > M maximum"
//     invalid_request_errors → context length, code context_length_exceeded;
//   - other invalid_request_errors → invalid request.
func parseError(status int, body []byte) *providers.Error {
	e := &providers.Error{Status: status}
	var doc errorBody
	if json.Unmarshal(body, &doc) == nil && doc.Error != nil {
		e.Type = doc.Error.Type
		e.Message = doc.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(bytes.ToValidUTF8(truncate(body, 512), nil)))
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = "HTTP " + strconv.Itoa(status) // 529 has no standard text
	}
	e.Class = classify(status, e.Type, e.Message)
	if e.Class == providers.ClassContextLength {
		e.Code = "context_length_exceeded"
	}
	if e.Type == "" || e.Class == providers.ClassInvalidRequest || e.Class == providers.ClassContextLength {
		// The client sees OpenAI's type for its own mistakes.
		e.Type = "invalid_request_error"
	}
	return e
}

func classify(status int, typ, message string) providers.Class {
	lower := strings.ToLower(message)
	switch typ {
	case "rate_limit_error":
		return providers.ClassRateLimited
	case "overloaded_error", "api_error":
		return providers.ClassUnavailable
	case "timeout_error":
		return providers.ClassTimeout
	case "authentication_error", "permission_error":
		return providers.ClassCredential
	case "billing_error":
		return providers.ClassQuota
	case "not_found_error":
		return providers.ClassNotFound
	case "request_too_large":
		return providers.ClassContextLength
	case "invalid_request_error":
		switch {
		case isQuotaMessage(lower):
			return providers.ClassQuota
		case strings.Contains(lower, "prompt is too long") || strings.Contains(lower, "exceed context limit"):
			return providers.ClassContextLength
		}
		return providers.ClassInvalidRequest
	}
	switch status {
	case 529:
		return providers.ClassUnavailable
	case http.StatusPaymentRequired:
		return providers.ClassQuota
	case http.StatusNotFound:
		return providers.ClassNotFound
	case http.StatusRequestEntityTooLarge:
		return providers.ClassContextLength
	case 0:
		// An error event of an unknown type after the stream began: the upstream
		// failed, not the caller.
		return providers.ClassUnavailable
	}
	return providers.ClassifyStatus(status, "", message)
}

// isQuotaMessage recognises the 400s of an exhausted account: "Your credit balance
// is too low to access the Anthropic API" and "You have reached your specified API
// usage limits".
func isQuotaMessage(lower string) bool {
	return strings.Contains(lower, "credit balance") || strings.Contains(lower, "usage limits") ||
		strings.Contains(lower, "spend limit")
}

// retryAfter reads how long to wait: the retry-after header Anthropic sends with
// 429s (seconds), else the latest anthropic-ratelimit-*-reset (RFC 3339) among the
// limits whose remaining count is 0 (https://platform.claude.com/docs/en/api/rate-limits).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if d := providers.RetryAfter(h, now); d > 0 {
		return d
	}
	var d time.Duration
	for _, kind := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		prefix := "Anthropic-Ratelimit-" + kind
		if rem := h.Get(prefix + "-Remaining"); rem != "0" {
			continue
		}
		reset, err := time.Parse(time.RFC3339, h.Get(prefix+"-Reset"))
		if err == nil && reset.Sub(now) > d {
			d = reset.Sub(now)
		}
	}
	return d
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
