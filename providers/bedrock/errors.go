package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// credentialError marks a failure to obtain AWS credentials (no provider in the
// default chain, a failed AssumeRole, an expired SSO session), which the
// credentials chain reports only as text (see Provider.credentials).
type credentialError struct{ err error }

func (e *credentialError) Error() string { return "obtaining AWS credentials: " + e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

// classify turns an error from before a response (credentials, transport) into a
// classified *providers.Error.
func classify(err error) *providers.Error {
	if err == nil {
		return nil
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return providers.AsError(err) // even while fetching credentials: the caller left
	}
	var ce *credentialError
	if errors.As(err, &ce) {
		return &providers.Error{Class: providers.ClassCredential, Err: err, Message: ce.Error()}
	}
	return providers.AsError(err) // transport: refused, reset, timeout
}

// maxErrorBody bounds the part of an error response that is read: Bedrock's are
// a short JSON object; anything longer is a proxy's page, judged by its status.
const maxErrorBody = 64 << 10

// responseError is the Err of a classified error response: what Bedrock said,
// with the request id AWS support asks for.
type responseError struct {
	status    int
	code      string
	requestID string
}

func (e *responseError) Error() string {
	return fmt.Sprintf("Bedrock answered HTTP %d %s (request id %q)", e.status, e.code, e.requestID)
}

// errorResponse classifies a non-200 response. The restJson1 protocol names the
// error in the X-Amzn-ErrorType header, which Bedrock suffixes with a namespace
// URI after a colon ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/");
// front ends that do not set it put the type in the body's __type
// ("com.amazon.bedrock#ValidationException") or code. The message is the body's
// message (or Message). This is how the official SDKs read them (smithy-go
// transport/http/protocol/restjson1, SanitizeErrorCode).
func errorResponse(resp *http.Response) *providers.Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code, message := decodeErrorBody(resp.Header.Get("X-Amzn-ErrorType"), raw)
	var e *providers.Error
	if code != "" {
		e = apiError(resp.StatusCode, code, message)
	} else {
		// An error status without a Bedrock error (an HTML page from a load
		// balancer): the status alone decides.
		e = &providers.Error{Status: resp.StatusCode, Type: "upstream_error", Message: http.StatusText(resp.StatusCode),
			Class: providers.ClassifyStatus(resp.StatusCode, "", "")}
	}
	e.Err = &responseError{status: resp.StatusCode, code: code, requestID: resp.Header.Get("X-Amzn-RequestId")}
	if e.Class == providers.ClassRateLimited || e.Class == providers.ClassQuota || e.Class == providers.ClassUnavailable {
		e.RetryAfter = providers.RetryAfter(resp.Header, time.Now())
	}
	return e
}

// decodeErrorBody returns the error code (from the header, else the body) and
// the message of an error response. A body that is not JSON has no message.
func decodeErrorBody(header string, body []byte) (code, message string) {
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		message = b.Message
	}
	code = header
	if code == "" {
		code = b.Type
	}
	if c, ok := b.Code.(string); ok && code == "" {
		code = c
	}
	return sanitizeCode(code), message
}

// sanitizeCode strips a namespace URI after ':' and a namespace before '#'.
func sanitizeCode(code string) string {
	code, _, _ = strings.Cut(code, ":")
	if _, name, ok := strings.Cut(code, "#"); ok {
		code = name
	}
	return strings.TrimSpace(code)
}

// streamException classifies an exception message inside a stream. Its
// :exception-type header names the ConverseStreamOutput member
// ("throttlingException", API_runtime_ConverseStreamOutput.html), which is the
// exception shape's name with a lower-case initial; the payload is
// {"message": ...}. The status is the one the reference gives the exception.
func streamException(member string, payload []byte) *providers.Error {
	_, message := decodeErrorBody("", payload)
	code := member
	if c := code; c != "" && c[0] >= 'a' && c[0] <= 'z' {
		code = string(c[0]-'a'+'A') + c[1:]
	}
	e := apiError(0, code, message)
	e.Err = fmt.Errorf("Bedrock stream exception %s", code)
	return e
}

// streamError classifies an error message inside a stream (:message-type
// "error"), which carries its code and message in the :error-code and
// :error-message headers instead of a payload (smithy.io amazon-eventstream,
// "Error message").
func streamError(code, message string) *providers.Error {
	e := apiError(0, code, message)
	e.Err = fmt.Errorf("Bedrock stream error %s", code)
	return e
}

// apiError classifies a Bedrock error by its code, as the x-amzn-ErrorType header
// (HTTP errors) or the :exception-type header (stream exceptions) names it, with
// the HTTP status as a fallback for codes not listed here. Status codes are those
// of the API reference (API_runtime_Converse.html, "Errors") and of
// https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html.
func apiError(status int, code, message string) *providers.Error {
	if message == "" {
		message = code
	}
	if status == 0 {
		status = exceptionStatus[code] // a stream exception: no HTTP status of its own
	}
	e := &providers.Error{Status: status, Code: code, Message: message, Type: "upstream_error"}
	lower := strings.ToLower(message)
	switch code {
	case "ThrottlingException", "TooManyRequestsException":
		// 429. Bedrock sends the same code for the per-minute limits ("Too many
		// requests", "Too many tokens, please wait before trying again.") and the
		// daily token quota ("Too many tokens per day, please wait before trying
		// again.", minorun365/agent-book#29), which lasts until the day rolls over.
		e.Class = providers.ClassRateLimited
		if strings.Contains(lower, "per day") {
			e.Class = providers.ClassQuota
		}
	case "ServiceQuotaExceededException":
		// Sent with status 400, yet it is the account's quota, not the caller's fault.
		e.Class = providers.ClassQuota
	case "ModelNotReadyException":
		// Sent with status 429, but it says the model is still loading (the SDK's own
		// retryer retries it): the target is unavailable, the account is not throttled.
		e.Class = providers.ClassUnavailable
	case "ServiceUnavailableException", "ServiceUnavailable", "InternalServerException",
		"InternalFailure", "ModelErrorException", "ModelStreamErrorException":
		// ModelErrorException and ModelStreamErrorException are 424: the model
		// failed while processing a valid request.
		e.Class = providers.ClassUnavailable
	case "ModelTimeoutException", "RequestTimeout", "RequestTimeoutException":
		e.Class = providers.ClassTimeout
	case "ValidationException", "ValidationError":
		e.Class = validationClass(lower)
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
		"IncompleteSignature", "IncompleteSignatureException", "InvalidClientTokenId",
		"ExpiredTokenException", "ExpiredToken", "MissingAuthenticationTokenException",
		"MissingAuthenticationToken", "NotAuthorized", "RequestExpired", "OptInRequired",
		"BadCScoreException", "MPAgreementBeingCreated", "FTUFormNotFilled":
		// AccessDeniedException also means "model access not granted for this
		// account"; FTUFormNotFilled (404) means the Anthropic use-case form was not
		// submitted; RequestExpired is a skewed clock. All are a misconfigured target.
		e.Class = providers.ClassCredential
	case "ResourceNotFoundException":
		e.Class = providers.ClassNotFound
	default:
		e.Class = providers.ClassifyStatus(status, "", message)
	}
	switch e.Class {
	case providers.ClassContextLength:
		e.Code = "context_length_exceeded"
		e.Type = "invalid_request_error"
		if e.Status == 0 {
			e.Status = http.StatusBadRequest
		}
	case providers.ClassInvalidRequest:
		e.Type = "invalid_request_error"
		if e.Status == 0 {
			e.Status = http.StatusBadRequest
		}
	}
	return e
}

// exceptionStatus is the HTTP status the API reference gives each exception; the
// stream exceptions (API_runtime_ConverseStreamOutput.html) carry the same.
var exceptionStatus = map[string]int{
	"AccessDeniedException": 403, "InternalServerException": 500, "ModelErrorException": 424,
	"ModelNotReadyException": 429, "ModelStreamErrorException": 424, "ModelTimeoutException": 408,
	"ResourceNotFoundException": 404, "ServiceQuotaExceededException": 400,
	"ServiceUnavailableException": 503, "ThrottlingException": 429, "ValidationException": 400,
}

// validationClass reads a ValidationException's message, the only place Bedrock
// says why a request is invalid.
func validationClass(lower string) providers.Class {
	switch {
	// "Input is too long for requested model." (InvokeModel and Converse, often
	// prefixed "The model returned the following errors: "), Claude's "prompt is
	// too long: 200049 tokens > 200000 maximum" and "input length and `max_tokens`
	// exceed context limit: 188240 + 21333 > 200000" (aws-samples/bedrock-chat#95,
	// daisuke-awaji/moca#254), Nova's "Input Tokens Exceeded".
	case strings.Contains(lower, "too long"), strings.Contains(lower, "too many input tokens"),
		strings.Contains(lower, "too many tokens") && !strings.Contains(lower, "wait"),
		strings.Contains(lower, "exceed context limit"), strings.Contains(lower, "input tokens exceeded"),
		strings.Contains(lower, "maximum context length"), strings.Contains(lower, "context window"):
		return providers.ClassContextLength
	// The model id is not served by this account/region in this form: "The
	// provided model identifier is invalid.", or "Invocation of model ID ... with
	// on-demand throughput isn't supported. Retry your request with the ID or ARN
	// of an inference profile" (anthropics/claude-code#1466). Another target may
	// serve the request, so it is the target's problem, not the caller's.
	case strings.Contains(lower, "model identifier is invalid"), strings.Contains(lower, "on-demand throughput"):
		return providers.ClassNotFound
	}
	return providers.ClassInvalidRequest
}
