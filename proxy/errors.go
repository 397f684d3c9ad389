package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// apiError is an error answered to the client in OpenAI's shape.
type apiError struct {
	Status     int
	Type       string
	Code       string
	Param      string
	Message    string
	RetryAfter time.Duration
	// rate, on a rate-limit refusal, fills the x-ratelimit-* headers.
	rate *policy.RateVerdict
}

func errorf(status int, typ, code, param, format string, args ...any) *apiError {
	return &apiError{Status: status, Type: typ, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// errorDoc is {"error": {"message", "type", "param", "code"}} with nulls where unset,
// as OpenAI sends it.
type errorDoc struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorDoc {
	b := errorBody{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		b.Param = &e.Param
	}
	if e.Code != "" {
		b.Code = &e.Code
	}
	return errorDoc{Error: b}
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.rate != nil {
		setRateHeaders(h, e.rate)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e.body())
}

// clientError maps a request-level *providers.Error (the caller's own mistake, as
// found by parsing or by a translator) to an API error.
func clientError(e *providers.Error) *apiError {
	status := e.Status
	if status == 0 || status < 400 || status >= 500 {
		status = http.StatusBadRequest
	}
	typ := e.Type
	if typ == "" {
		typ = "invalid_request_error"
	}
	return &apiError{Status: status, Type: typ, Code: e.Code, Param: e.Param, Message: e.Message}
}
