package keyring

import (
	"fmt"
	"net/http"
)

// Error is a refusal of the admin API: its HTTP status, an OpenAI-style code, the
// field it is about (a path such as "budget.usd"), and a message for people.
type Error struct {
	Status  int
	Code    string
	Param   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(param, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if param != "" {
		msg = param + ": " + msg
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_value", Param: param, Message: msg}
}

func unknownField(param string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "unknown_field", Param: param,
		Message: param + ": unknown field"}
}

func notFound(kind, name string) *Error {
	return &Error{Status: http.StatusNotFound, Code: kind + "_not_found", Param: "name",
		Message: fmt.Sprintf("No %s named %q.", kind, name)}
}

func exists(kind, name string) *Error {
	return &Error{Status: http.StatusConflict, Code: kind + "_exists", Param: "name",
		Message: fmt.Sprintf("A %s named %q already exists.", kind, name)}
}

func inFile(kind, name, path string) *Error {
	return &Error{Status: http.StatusConflict, Code: "defined_in_config", Param: "name",
		Message: fmt.Sprintf("The %s %q is defined in the configuration file %s: it is read-only here; change it in the file.",
			kind, name, path)}
}

func versionConflict(kind, name string, want, have int64) *Error {
	return &Error{Status: http.StatusConflict, Code: "version_conflict", Param: "version",
		Message: fmt.Sprintf("The %s %q is at version %d, not %d: read it again and retry.", kind, name, have, want)}
}
