package bedrock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/switchyard/switchyard/providers"
)

// credentialError marks a failure to obtain AWS credentials (no provider in the
// default chain, a failed AssumeRole, an expired SSO session). The SDK reports it
// only as "get identity: ..." text, so the provider wraps its credentials
// provider to recognise it by type.
type credentialError struct{ err error }

func (e *credentialError) Error() string { return "obtaining AWS credentials: " + e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

// classify turns any error of an SDK call into a classified *providers.Error.
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
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		// The SDK validates required members before sending: our translation left
		// one empty, which only a malformed client request can cause.
		return &providers.Error{Class: providers.ClassInvalidRequest, Status: http.StatusBadRequest,
			Type: "invalid_request_error", Err: err, Message: invalid.Error()}
	}
	status := 0
	var header http.Header
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		status = re.HTTPStatusCode()
		header = re.Response.Header
	}
	var e *providers.Error
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		e = apiError(status, api.ErrorCode(), api.ErrorMessage())
	case status != 0:
		// An error status whose body the SDK could not decode (an HTML page from
		// a load balancer): the status alone decides.
		e = &providers.Error{Status: status, Type: "upstream_error", Message: http.StatusText(status),
			Class: providers.ClassifyStatus(status, "", "")}
	default:
		return providers.AsError(err) // transport: refused, reset, timeout, canceled
	}
	e.Err = err
	if header != nil && (e.Class == providers.ClassRateLimited || e.Class == providers.ClassQuota ||
		e.Class == providers.ClassUnavailable) {
		e.RetryAfter = providers.RetryAfter(header, time.Now())
	}
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
