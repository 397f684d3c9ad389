package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Class is what an upstream failure says about the target and the request. The class
// alone decides what the executor does next (see the proxy's failover rules).
type Class uint8

const (
	// ClassUnavailable: 5xx, overloaded, model not ready. Counts against the target's
	// health; the request moves on.
	ClassUnavailable Class = iota + 1
	// ClassTimeout: no answer within a deadline. Counts; moves on.
	ClassTimeout
	// ClassConnection: refused, reset, or a stream cut before its end. Counts; moves on.
	ClassConnection
	// ClassRateLimited: 429 or throttling. The target cools down for RetryAfter;
	// counts; moves on.
	ClassRateLimited
	// ClassQuota: the account's quota or billing is exhausted. Like rate limited, for
	// longer.
	ClassQuota
	// ClassCredential: the upstream rejected our credentials (401/403). Counts;
	// moves on; logged loudly as a misconfigured target.
	ClassCredential
	// ClassNotFound: the upstream model or deployment does not exist. Moves on.
	ClassNotFound
	// ClassInvalidRequest: the caller's fault. Returned to the client as is.
	ClassInvalidRequest
	// ClassContextLength: the prompt does not fit the model's context window. Only
	// targets with a larger window are tried; health is not affected.
	ClassContextLength
	// ClassContentFilter: the upstream's content policy refused the request.
	ClassContentFilter
	// ClassCanceled: the client went away.
	ClassCanceled
	// ClassInternal: the target cannot be used as configured (an upstream URL that
	// does not parse) or answered outside every other class (an unexpected HTTP
	// status, an exception type the cloud does not document). Counts; moves on.
	ClassInternal
	// ClassDecode: the upstream sent something that could not be decoded (a
	// malformed body or stream event, a 200 that is not the answer asked for, a
	// stream request answered without a stream). Counts; moves on; counted on its
	// own metric.
	ClassDecode
	// ClassLocal: the attempt failed on this side for a reason that says nothing
	// about the target: a request a translator could not encode, a bug, or an
	// answer larger than max_response_bytes (its size is what the client asked
	// for). Never counts against the target's health and never retried on the
	// same target; the request moves on to the next one.
	ClassLocal
)

var classNames = [...]string{
	ClassUnavailable:    "unavailable",
	ClassTimeout:        "timeout",
	ClassConnection:     "connection",
	ClassRateLimited:    "rate_limited",
	ClassQuota:          "quota",
	ClassCredential:     "credential",
	ClassNotFound:       "not_found",
	ClassInvalidRequest: "invalid_request",
	ClassContextLength:  "context_length",
	ClassContentFilter:  "content_filter",
	ClassCanceled:       "canceled",
	ClassInternal:       "internal",
	ClassDecode:         "decode",
	ClassLocal:          "local",
}

func (c Class) String() string {
	if int(c) < len(classNames) && classNames[c] != "" {
		return classNames[c]
	}
	return "unknown"
}

// HealthFailure reports whether the failure speaks of the target's health and so
// counts against its circuit breaker. A failure the request itself caused (a
// caller's mistake, an answer the request shaped, a local error) never does.
func (c Class) HealthFailure() bool {
	switch c {
	case ClassUnavailable, ClassTimeout, ClassConnection, ClassRateLimited, ClassQuota,
		ClassCredential, ClassNotFound, ClassInternal, ClassDecode:
		return true
	}
	return false
}

// Error is a failure of one upstream attempt, or a client error in OpenAI's shape.
type Error struct {
	Class Class
	// Status is the upstream HTTP status, 0 for transport failures.
	Status int
	// Type, Code and Param are OpenAI's error fields.
	Type    string
	Code    string
	Param   string
	Message string
	// RetryAfter is how long the upstream asked us to wait (0 = not said).
	RetryAfter time.Duration
	// Err is the underlying transport or decode error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Class.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil && e.Message == "" {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// InvalidRequest is a 400 invalid_request_error for the client.
func InvalidRequest(param, msg string) *Error {
	return &Error{Class: ClassInvalidRequest, Status: http.StatusBadRequest,
		Type: "invalid_request_error", Param: param, Message: msg}
}

// Unsupported is a 400 for a parameter the chosen backend cannot honour.
func Unsupported(param, msg string) *Error {
	e := InvalidRequest(param, msg)
	e.Code = "unsupported_parameter"
	return e
}

// ErrTruncated is the cause of a stream that ended without its terminal event.
var ErrTruncated = errors.New("upstream stream ended before its terminal event")

// AsError turns any attempt error into an *Error: transport failures become
// connection or timeout errors, context cancellation becomes canceled.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Class: ClassCanceled, Err: err, Message: "request canceled"}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &Error{Class: ClassTimeout, Err: err, Message: "upstream did not answer in time"}
	default:
		return &Error{Class: ClassConnection, Err: err, Message: "upstream connection failed"}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// ClassifyStatus maps an upstream HTTP status and OpenAI-style error code and message
// to a class. Provider packages handle their own quirks first and fall back to it.
func ClassifyStatus(status int, code, message string) Class {
	lower := strings.ToLower(message)
	switch {
	case code == "context_length_exceeded" || isContextLengthMessage(lower):
		return ClassContextLength
	case code == "content_filter" || code == "content_policy_violation" ||
		strings.Contains(lower, "content management policy"):
		return ClassContentFilter
	case code == "insufficient_quota":
		return ClassQuota
	}
	switch {
	case status == http.StatusTooManyRequests:
		return ClassRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ClassCredential
	case status == http.StatusNotFound && (code == "model_not_found" || code == "DeploymentNotFound" ||
		strings.Contains(lower, "deployment") || strings.Contains(lower, "model")):
		return ClassNotFound
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return ClassTimeout
	case status >= 500:
		return ClassUnavailable
	case status >= 400:
		return ClassInvalidRequest
	}
	return ClassInternal
}

// isContextLengthMessage recognises "prompt too long" errors of servers that send no
// code: vLLM ("maximum context length is"), Anthropic ("prompt is too long"), Bedrock
// ("Input is too long", "too many input tokens"), Gemini ("exceeds the maximum number
// of tokens").
func isContextLengthMessage(lower string) bool {
	for _, s := range []string{
		"maximum context length", "context length exceeded", "context_length_exceeded",
		"prompt is too long", "input is too long", "too many input tokens",
		"exceeds the maximum number of tokens", "context window",
	} {
		if strings.Contains(lower, s) {
			return true
		}
	}
	return false
}
