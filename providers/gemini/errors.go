package gemini

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// Google APIs answer errors as a google.rpc.Status in JSON
// (https://cloud.google.com/apis/design/errors#http_mapping):
//
//	{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED",
//	  "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"22s"}]}}
//
// Vertex AI wraps it in an array on streaming methods: [{"error":{...}}].
type errorBody struct {
	Error *apiError `json:"error"`
}

type apiError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Status  string        `json:"status"`
	Details []errorDetail `json:"details"`
}

// errorDetail holds the members of the detail types we read: RetryInfo.retryDelay
// (a protobuf Duration, "22s" or "0.5s") and ErrorInfo.reason.
type errorDetail struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay"`
	Reason     string `json:"reason"`
}

// upstreamError classifies a non-200 response.
func upstreamError(resp *http.Response) *providers.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := parseError(resp.StatusCode, body)
	if e.RetryAfter == 0 && (e.Class == providers.ClassRateLimited || e.Class == providers.ClassUnavailable) {
		e.RetryAfter = providers.RetryAfter(resp.Header, time.Now())
	}
	return e
}

// parseError turns an error body (or anything else) into a classified error.
func parseError(status int, body []byte) *providers.Error {
	var ae *apiError
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var docs []errorBody
		if json.Unmarshal(trimmed, &docs) == nil && len(docs) > 0 {
			ae = docs[0].Error
		}
	} else {
		var doc errorBody
		if json.Unmarshal(trimmed, &doc) == nil {
			ae = doc.Error
		}
	}
	if ae == nil {
		msg := strings.TrimSpace(string(bytes.ToValidUTF8(truncate(body, 512), nil)))
		if msg == "" {
			msg = http.StatusText(status)
		}
		return classified(status, &apiError{Message: msg})
	}
	return classified(status, ae)
}

// classified maps a Google error to a class. Sources: the Gemini API error table
// (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes), Vertex AI's
// (https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 and
// .../model-reference/api-errors) and google.rpc.Code.
func classified(status int, ae *apiError) *providers.Error {
	if status == 0 {
		status = ae.Code // errors inside a stream carry their HTTP code in the body
	}
	e := &providers.Error{Status: status, Code: ae.Status, Message: ae.Message, Type: "api_error"}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	lower := strings.ToLower(ae.Message)
	switch ae.Status {
	case "RESOURCE_EXHAUSTED":
		// 429 is a rate or quota window with a RetryInfo delay; 402 is the
		// Gemini API's "prepayment credits are depleted", which no wait fixes.
		if status == http.StatusPaymentRequired {
			e.Class = providers.ClassQuota
		} else {
			e.Class = providers.ClassRateLimited
		}
	case "UNAVAILABLE", "INTERNAL", "ABORTED", "UNKNOWN", "CANCELLED":
		e.Class = providers.ClassUnavailable
	case "DEADLINE_EXCEEDED":
		e.Class = providers.ClassTimeout
	case "UNAUTHENTICATED", "PERMISSION_DENIED":
		e.Class = providers.ClassCredential
	case "NOT_FOUND":
		e.Class = providers.ClassNotFound
	case "INVALID_ARGUMENT":
		switch {
		// A wrong Gemini API key is a 400 INVALID_ARGUMENT with ErrorInfo reason
		// API_KEY_INVALID ("API key not valid. Please pass a valid API key.").
		case hasReason(ae, "API_KEY_INVALID") || strings.Contains(lower, "api key not valid"):
			e.Class = providers.ClassCredential
		// "The input token count (N) exceeds the maximum number of tokens allowed (M)."
		case strings.Contains(lower, "exceeds the maximum number of tokens") ||
			(strings.Contains(lower, "input token count") && strings.Contains(lower, "exceeds")):
			e.Class = providers.ClassContextLength
		default:
			e.Class = providers.ClassInvalidRequest
		}
	case "FAILED_PRECONDITION", "OUT_OF_RANGE", "ALREADY_EXISTS":
		e.Class = providers.ClassInvalidRequest
	default:
		e.Class = providers.ClassifyStatus(status, "", ae.Message)
	}
	switch e.Class {
	case providers.ClassContextLength:
		e.Type, e.Code = "invalid_request_error", "context_length_exceeded"
	case providers.ClassInvalidRequest, providers.ClassNotFound:
		e.Type = "invalid_request_error"
	case providers.ClassRateLimited, providers.ClassQuota:
		e.RetryAfter = retryDelay(ae)
	case providers.ClassUnavailable:
		e.RetryAfter = retryDelay(ae)
	}
	return e
}

func hasReason(ae *apiError, reason string) bool {
	for _, d := range ae.Details {
		if d.Reason == reason {
			return true
		}
	}
	return false
}

// retryDelay reads RetryInfo.retryDelay, 0 when absent or unreadable.
func retryDelay(ae *apiError) time.Duration {
	for _, d := range ae.Details {
		if !strings.HasSuffix(d.Type, "google.rpc.RetryInfo") || d.RetryDelay == "" {
			continue
		}
		// The JSON form of a Duration is decimal seconds with an "s" suffix,
		// which time.ParseDuration reads as is.
		if v, err := time.ParseDuration(d.RetryDelay); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
