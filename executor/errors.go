package executor

import (
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// Error is an error answered to the client. Its fields follow OpenAI's error object
// (the canonical format); each dialect renders it in its own shape, mapping Status
// and Type to its own error types.
type Error struct {
	Status     int
	Type       string
	Code       string
	Param      string
	Message    string
	RetryAfter time.Duration
	// Rate, on a rate-limit refusal, fills the x-ratelimit-* headers.
	Rate *policy.RateVerdict
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an Error.
func Errorf(status int, typ, code, param, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrClientGone ends a request whose client disconnected: nothing can be answered.
var ErrClientGone = &Error{Status: 499, Type: "client_closed_request", Message: "client closed request"}

// ClientError maps a request-level *providers.Error (the caller's own mistake, as
// found by parsing or by a translator) to an Error.
func ClientError(e *providers.Error) *Error {
	status := e.Status
	if status == 0 || status < 400 || status >= 500 {
		status = http.StatusBadRequest
	}
	typ := e.Type
	if typ == "" {
		typ = "invalid_request_error"
	}
	return &Error{Status: status, Type: typ, Code: e.Code, Param: e.Param, Message: e.Message}
}

// ModelNotFound is the answer for an alias that does not exist or that the caller
// may not use: both read alike, as OpenAI answers them, so that a key cannot learn
// which aliases exist beyond its own.
func ModelNotFound(name string) *Error {
	return Errorf(http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
		"The model `%s` does not exist or you do not have access to it.", Clip(name, MaxEchoedModel))
}

// MaxEchoedModel bounds how much of a client's model name is echoed in errors and logs.
const MaxEchoedModel = 128

// Clip cuts s to at most n bytes, on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // a UTF-8 continuation byte
		n--
	}
	return s[:n] + "…"
}

// describe is an upstream failure as a client may read it. Credential failures are
// summarised: an upstream's message may quote part of our key.
func describe(e *providers.Error) string {
	msg := e.Message
	if e.Class == providers.ClassCredential {
		msg = "upstream rejected the gateway's credentials"
	}
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d: %s", e.Status, msg)
	}
	return msg
}

// Describe is an upstream failure as a client may read it, for stream error events.
func Describe(e *providers.Error) string { return describe(e) }

func contentFilterError(e *providers.Error) *Error {
	msg := e.Message
	if msg == "" {
		msg = "The request was refused by the upstream content filter."
	}
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "content_filter",
		Param: "prompt", Message: msg}
}
