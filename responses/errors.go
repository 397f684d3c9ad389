package responses

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/switchyard/switchyard/providers"
)

// Every error this package returns to a client is a *providers.Error in OpenAI's
// shape (status, type, code, param, message), so the proxy answers it with its usual
// clientError. Store errors that mean the state store could not be reached wrap
// state.ErrUnavailable instead, for the proxy's fail_open handling.

// ErrNotFound is wrapped by every "no such response" error: absent, expired,
// deleted, or owned by someone else (never told apart, so ids cannot be probed).
var ErrNotFound = errors.New("responses: not found")

func invalid(param, format string, args ...any) *providers.Error {
	return providers.InvalidRequest(param, fmt.Sprintf(format, args...))
}

func unsupported(param, format string, args ...any) *providers.Error {
	return providers.Unsupported(param, fmt.Sprintf(format, args...))
}

// notFound answers GET, DELETE and input_items for an unknown id: 404, as OpenAI
// answers "Response with id 'resp_…' not found."
func notFound(id string) *providers.Error {
	return &providers.Error{Class: providers.ClassInvalidRequest, Status: http.StatusNotFound,
		Type: "invalid_request_error", Message: fmt.Sprintf("Response with id '%s' not found.", id), Err: ErrNotFound}
}

// previousNotFound answers a create request whose previous_response_id cannot be
// used. OpenAI answers 400 with code previous_response_not_found (clients such as
// Codex recognise the code and resend the whole history).
func previousNotFound(id string) *providers.Error {
	return &providers.Error{Class: providers.ClassInvalidRequest, Status: http.StatusBadRequest,
		Type: "invalid_request_error", Code: "previous_response_not_found", Param: "previous_response_id",
		Message: fmt.Sprintf("Previous response with id '%s' not found.", id), Err: ErrNotFound}
}

// chainBroken names the earlier turn that is gone (deleted or past retention) when
// the response asked for still exists.
func chainBroken(head, missing string, create bool) *providers.Error {
	msg := fmt.Sprintf("Response with id '%s' continues response '%s', which no longer exists (deleted or past retention); the conversation cannot be continued or listed.", head, missing)
	if create {
		e := previousNotFound(missing)
		e.Message = msg
		return e
	}
	e := notFound(missing)
	e.Message = msg
	return e
}

// contextLength is OpenAI's answer for an input larger than the model's window.
func contextLength(format string, args ...any) *providers.Error {
	return &providers.Error{Class: providers.ClassContextLength, Status: http.StatusBadRequest,
		Type: "invalid_request_error", Code: "context_length_exceeded", Param: "input",
		Message: fmt.Sprintf(format, args...)}
}
