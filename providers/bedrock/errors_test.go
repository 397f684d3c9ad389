package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status  int
		code    string
		message string
		class   providers.Class
	}{
		{429, "ThrottlingException", "Too many requests, please wait before trying again.", providers.ClassRateLimited},
		{429, "ThrottlingException", "Too many tokens, please wait before trying again.", providers.ClassRateLimited},
		{429, "ThrottlingException", "Too many tokens per day, please wait before trying again.", providers.ClassQuota},
		{400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account.", providers.ClassQuota},
		{429, "ModelNotReadyException", "Model is not ready for inference.", providers.ClassUnavailable},
		{503, "ServiceUnavailableException", "Bedrock is unable to process your request.", providers.ClassUnavailable},
		{500, "InternalServerException", "The system encountered an unexpected error.", providers.ClassUnavailable},
		{424, "ModelErrorException", "The model returned an error.", providers.ClassUnavailable},
		{0, "ModelStreamErrorException", "The model stream failed.", providers.ClassUnavailable},
		{408, "ModelTimeoutException", "Model has timed out in processing the request.", providers.ClassTimeout},
		{400, "ValidationException", "Input is too long for requested model.", providers.ClassContextLength},
		{400, "ValidationException", "The model returned the following errors: prompt is too long: 200049 tokens > 200000 maximum", providers.ClassContextLength},
		{400, "ValidationException", "The model returned the following errors: input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again", providers.ClassContextLength},
		{400, "ValidationException", "Too many input tokens. Max input tokens: 8192, request input token count: 9000", providers.ClassContextLength},
		{400, "ValidationException", "The maximum tokens you requested exceed the model limit of 4096.", providers.ClassInvalidRequest},
		{400, "ValidationException", "A conversation must alternate between user and assistant roles.", providers.ClassInvalidRequest},
		{400, "ValidationException", "The provided model identifier is invalid.", providers.ClassNotFound},
		{400, "ValidationException", "Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.", providers.ClassNotFound},
		{403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", providers.ClassCredential},
		{403, "UnrecognizedClientException", "The security token included in the request is invalid.", providers.ClassCredential},
		{403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", providers.ClassCredential},
		{403, "ExpiredTokenException", "The security token included in the request is expired", providers.ClassCredential},
		{400, "IncompleteSignature", "The request signature does not conform to AWS standards.", providers.ClassCredential},
		{404, "FTUFormNotFilled", "Model use case details have not been submitted for this account.", providers.ClassCredential},
		{404, "ResourceNotFoundException", "Could not resolve the foundation model.", providers.ClassNotFound},
		{502, "BadGateway", "", providers.ClassUnavailable},
		{504, "GatewayTimeout", "", providers.ClassTimeout},
		{409, "ConflictException", "conflict", providers.ClassInvalidRequest},
	} {
		t.Run(fmt.Sprintf("%s %s", tc.code, tc.message), func(t *testing.T) {
			e := apiError(tc.status, tc.code, tc.message)
			if e.Class != tc.class {
				t.Errorf("class %v, want %v", e.Class, tc.class)
			}
			if e.Status == 0 {
				t.Errorf("no status")
			}
			if tc.class == providers.ClassContextLength && (e.Code != "context_length_exceeded" || e.Type != "invalid_request_error") {
				t.Errorf("context length error %+v", e)
			}
		})
	}
}

func TestErrorResponsesAreClassified(t *testing.T) {
	// The status, X-Amzn-ErrorType and body decide, with Retry-After for the
	// classes that cool a target down.
	fx := newFixture(t, 200, nil, nil)
	call := chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	for _, tc := range []struct {
		status  int
		errType string
		body    string
		retry   string
		class   providers.Class
		code    string
		wait    time.Duration
	}{
		{429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", `{"message":"Too many tokens, please wait before trying again."}`, "3", providers.ClassRateLimited, "ThrottlingException", 3 * time.Second},
		{400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", `{"message":"Input is too long for requested model."}`, "", providers.ClassContextLength, "context_length_exceeded", 0},
		{400, "", `{"__type":"com.amazon.bedrock#ValidationException","Message":"bad"}`, "", providers.ClassInvalidRequest, "ValidationException", 0},
		{403, "UnrecognizedClientException", `{"message":"The security token included in the request is invalid."}`, "", providers.ClassCredential, "UnrecognizedClientException", 0},
		{400, "", `{"code":"ValidationException","message":"The provided model identifier is invalid."}`, "", providers.ClassNotFound, "ValidationException", 0},
		{503, "", `<html>Service Unavailable</html>`, "", providers.ClassUnavailable, "", 0},
		{503, "ServiceUnavailableException", `<html>Service Unavailable</html>`, "", providers.ClassUnavailable, "ServiceUnavailableException", 0},
		{500, "SomethingNewException", `{}`, "", providers.ClassUnavailable, "SomethingNewException", 0},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.errType), func(t *testing.T) {
			fx.status, fx.body = tc.status, []byte(tc.body)
			fx.header = http.Header{"Content-Type": {"application/json"}}
			if tc.errType != "" {
				fx.header.Set("X-Amzn-ErrorType", tc.errType)
			}
			if tc.retry != "" {
				fx.header.Set("Retry-After", tc.retry)
			}
			_, err := fx.p.Chat(context.Background(), call)
			e := asError(t, err)
			if e.Class != tc.class || e.Status != tc.status || (tc.code != "" && e.Code != tc.code) || e.RetryAfter != tc.wait || e.Err == nil {
				t.Errorf("got %+v", e)
			}
		})
	}
}

func TestTransportErrorsAreClassified(t *testing.T) {
	if e := classify(context.Canceled); e.Class != providers.ClassCanceled {
		t.Errorf("canceled: %+v", e)
	}
	if e := classify(fmt.Errorf("operation error: %w", context.DeadlineExceeded)); e.Class != providers.ClassTimeout {
		t.Errorf("deadline: %+v", e)
	}
	if e := classify(errors.New("read: connection reset by peer")); e.Class != providers.ClassConnection {
		t.Errorf("reset: %+v", e)
	}
	if e := classify(fmt.Errorf("get identity: %w", &credentialError{err: errors.New("no EC2 IMDS role found")})); e.Class != providers.ClassCredential {
		t.Errorf("credentials: %+v", e)
	}
}

// FuzzErrorDecoding sends arbitrary error responses through the provider: every
// one must come back as a classified *Error.
func FuzzErrorDecoding(f *testing.F) {
	f.Add(429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", []byte(`{"message":"Too many requests"}`), "5")
	f.Add(400, "", []byte(`{"__type":"ValidationException","message":"Input is too long"}`), "")
	f.Add(403, "AccessDeniedException", []byte(``), "")
	f.Add(500, "", []byte(`not json`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(418, ":::", []byte(`{"message":{"nested":1}}`), "-1")
	fx := newFixture(f, 200, nil, nil)
	call := chatCall(f, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	f.Fuzz(func(t *testing.T, status int, errType string, body []byte, retryAfter string) {
		if status < 300 || status > 599 {
			return // 2xx would be a success, 1xx is not a final answer
		}
		fx.status, fx.body = status, body
		fx.header = http.Header{"Content-Type": {"application/json"}}
		for k, v := range map[string]string{"X-Amzn-ErrorType": errType, "Retry-After": retryAfter} {
			if v != "" && validHeaderValue(v) {
				fx.header.Set(k, v)
			}
		}
		_, err := fx.p.Chat(context.Background(), call)
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Class == 0 || pe.RetryAfter < 0 {
			t.Fatalf("status %d: %T %+v", status, err, err)
		}
	})
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
