package anthropic

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/switchyard/switchyard/providers"
)

// Anthropic's error shape (https://platform.claude.com/docs/en/api/errors):
//
//	{"type":"error","error":{"type":"invalid_request_error","message":"..."},"request_id":"req_..."}
//
// with these statuses and types:
//
//	400 invalid_request_error   the request's format or content
//	401 authentication_error    the API key
//	402 billing_error           the account's billing
//	403 permission_error        the key may not use the resource
//	404 not_found_error         the resource (a model alias) does not exist
//	413 request_too_large       the body exceeds the size limit
//	429 rate_limit_error        a rate limit (or a budget) is reached
//	500 api_error               an unexpected error inside Switchyard
//	504 timeout_error           no answer in time
//	529 overloaded_error        no target could serve the request
//
// The official SDKs raise a typed error from the status and read the type and
// message from the body; Claude Code retries 429, 500 and 529.

// Error types.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypeBilling        = "billing_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeTooLarge       = "request_too_large"
	TypeRateLimit      = "rate_limit_error"
	TypeAPI            = "api_error"
	TypeTimeout        = "timeout_error"
	TypeOverloaded     = "overloaded_error"
)

// StatusOverloaded is Anthropic's 529: every target is overloaded or failing.
const StatusOverloaded = 529

// Error is an error answered to a Messages client.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message) }

// Errorf is an error of status with the type Anthropic gives that status.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Type: TypeForStatus(status), Message: fmt.Sprintf(format, args...)}
}

// invalid is a 400 invalid_request_error.
func invalid(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, format, args...)
}

// TypeForStatus is the error type Anthropic answers with a status; other 4xx are
// invalid_request_error, other 5xx api_error.
func TypeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return TypeAuthentication
	case http.StatusPaymentRequired:
		return TypeBilling
	case http.StatusForbidden:
		return TypePermission
	case http.StatusNotFound:
		return TypeNotFound
	case http.StatusRequestEntityTooLarge:
		return TypeTooLarge
	case http.StatusTooManyRequests:
		return TypeRateLimit
	case http.StatusGatewayTimeout:
		return TypeTimeout
	case StatusOverloaded:
		return TypeOverloaded
	}
	if status >= 500 {
		return TypeAPI
	}
	return TypeInvalidRequest
}

// JSON is the error document; requestID, when set, is its request_id.
func (e *Error) JSON(requestID string) []byte {
	b := make([]byte, 0, 96+len(e.Message))
	b = append(b, `{"type":"error","error":{"type":`...)
	b = providers.AppendJSONString(b, e.Type)
	b = append(b, `,"message":`...)
	b = providers.AppendJSONString(b, e.Message)
	b = append(b, '}')
	if requestID != "" {
		b = append(b, `,"request_id":`...)
		b = providers.AppendJSONString(b, requestID)
	}
	return append(b, '}')
}

// FromProvider is the answer to a client whose request ended in an upstream
// failure e (the last one, once the plan is exhausted, or the one that ends a
// stream). The caller's own mistakes keep their status and Anthropic's type
// (a native target's error type is kept as the upstream said it); a target's
// failure becomes what Anthropic answers when it cannot serve:
//
//	invalid request, content filter  400 invalid_request_error (413 stays request_too_large)
//	context length                   400 invalid_request_error (413: request_too_large)
//	rate limited, quota              429 rate_limit_error
//	timeout                          504 timeout_error
//	unavailable, connection, decode, credential, not found, internal
//	                                 529 overloaded_error: the targets behind the
//	                                 alias are failing, and 529 is what Claude Code
//	                                 and the SDKs retry with backoff
//
// Upstream credential failures are summarised: their message may quote the key.
func FromProvider(e *providers.Error) *Error {
	if e == nil {
		return Errorf(http.StatusInternalServerError, "unknown error")
	}
	msg := e.Message
	switch e.Class {
	case providers.ClassInvalidRequest, providers.ClassContextLength, providers.ClassContentFilter:
		status := e.Status
		if status < 400 || status >= 500 {
			status = http.StatusBadRequest
		}
		typ := TypeForStatus(status)
		if status == http.StatusBadRequest && e.Class == providers.ClassInvalidRequest && isAnthropicType(e.Type) {
			typ = e.Type
		}
		return &Error{Status: status, Type: typ, Message: msg}
	case providers.ClassRateLimited, providers.ClassQuota:
		return &Error{Status: http.StatusTooManyRequests, Type: TypeRateLimit, Message: msg}
	case providers.ClassTimeout:
		return &Error{Status: http.StatusGatewayTimeout, Type: TypeTimeout, Message: msg}
	case providers.ClassCredential:
		msg = "upstream rejected the gateway's credentials"
	}
	if msg == "" {
		msg = "Overloaded"
	}
	return &Error{Status: StatusOverloaded, Type: TypeOverloaded, Message: msg}
}

// isAnthropicType reports whether t is one of Anthropic's error types.
func isAnthropicType(t string) bool {
	switch t {
	case TypeInvalidRequest, TypeAuthentication, TypeBilling, TypePermission, TypeNotFound,
		TypeTooLarge, TypeRateLimit, TypeAPI, TypeTimeout, TypeOverloaded:
		return true
	}
	return false
}

// AppendEvent appends one server-sent event in the framing Anthropic uses,
// "event: NAME\ndata: JSON\n\n". JSON spread over several lines (whitespace a
// cloud may put between tokens) goes out as one data line per line, which a
// client joins back: a line break in data must not end the event. name holds no
// line break (providers.MessagesEvents refuses one).
func AppendEvent(dst []byte, name string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: "...)
	for bytes.IndexByte(data, '\n') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		i := bytes.IndexAny(data, "\r\n")
		dst = append(dst, data[:i]...)
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
		dst = append(dst, "\ndata: "...)
	}
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

// ErrorEvent is the "error" event that ends a stream which failed after it
// began: {"type":"error","error":{"type","message"}}.
func ErrorEvent(dst []byte, e *Error) []byte {
	return AppendEvent(dst, "error", e.JSON(""))
}
