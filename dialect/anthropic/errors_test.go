package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/providers"
)

func TestTypeForStatus(t *testing.T) {
	for status, want := range map[int]string{
		400: TypeInvalidRequest, 401: TypeAuthentication, 402: TypeBilling, 403: TypePermission, 404: TypeNotFound,
		413: TypeTooLarge, 422: TypeInvalidRequest, 429: TypeRateLimit, 500: TypeAPI, 502: TypeAPI, 504: TypeTimeout, 529: TypeOverloaded,
	} {
		if got := TypeForStatus(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}

// TestErrorsAsTheSDKReadsThem: each error document, served with its status, is
// the typed error the official SDK raises.
func TestErrorsAsTheSDKReadsThem(t *testing.T) {
	var current *Error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_sy_1")
		w.WriteHeader(current.Status)
		_, _ = w.Write(current.JSON("req_sy_1"))
	}))
	defer srv.Close()
	client := sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("k"), option.WithMaxRetries(0))
	for _, e := range []*Error{
		Errorf(400, "messages: Field required"), Errorf(401, "invalid x-api-key"), Errorf(404, "model: not found"),
		Errorf(413, "too large"), Errorf(429, "slow down"), Errorf(500, "boom"), Errorf(StatusOverloaded, "Overloaded"),
	} {
		current = e
		_, err := client.Messages.New(context.Background(), sdk.MessageNewParams{Model: "m", MaxTokens: 1,
			Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("x"))}})
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != e.Status || string(apiErr.Type()) != e.Type || apiErr.RequestID != "req_sy_1" {
			t.Errorf("%d: %v", e.Status, err)
		}
	}
}

func TestFromProvider(t *testing.T) {
	cases := []struct {
		in         *providers.Error
		status     int
		typ, inMsg string
	}{
		{&providers.Error{Class: providers.ClassInvalidRequest, Status: 400, Type: "invalid_request_error", Message: "bad"}, 400, TypeInvalidRequest, "bad"},
		{&providers.Error{Class: providers.ClassInvalidRequest, Status: 404, Message: "no such thing"}, 404, TypeNotFound, "no such thing"},
		{&providers.Error{Class: providers.ClassInvalidRequest, Status: 400, Type: "upstream_error", Message: "v"}, 400, TypeInvalidRequest, "v"},
		{&providers.Error{Class: providers.ClassContextLength, Status: 413, Message: "prompt too big"}, 413, TypeTooLarge, "prompt too big"},
		{&providers.Error{Class: providers.ClassContextLength, Message: "prompt is too long"}, 400, TypeInvalidRequest, "prompt is too long"},
		{&providers.Error{Class: providers.ClassRateLimited, Status: 429, Message: "wait"}, 429, TypeRateLimit, "wait"},
		{&providers.Error{Class: providers.ClassQuota, Status: 400, Message: "credit"}, 429, TypeRateLimit, "credit"},
		{&providers.Error{Class: providers.ClassTimeout, Message: "slow"}, 504, TypeTimeout, "slow"},
		{&providers.Error{Class: providers.ClassUnavailable, Status: 529, Type: "overloaded_error", Message: "Overloaded"}, 529, TypeOverloaded, "Overloaded"},
		{&providers.Error{Class: providers.ClassConnection}, 529, TypeOverloaded, "Overloaded"},
		{&providers.Error{Class: providers.ClassCredential, Status: 401, Message: "invalid key sk-ant-abc"}, 529, TypeOverloaded, "credentials"},
	}
	for _, c := range cases {
		got := FromProvider(c.in)
		if got.Status != c.status || got.Type != c.typ || !strings.Contains(got.Message, c.inMsg) {
			t.Errorf("%+v → %+v", c.in, got)
		}
	}
	if got := FromProvider(&providers.Error{Class: providers.ClassCredential, Message: "invalid key sk-ant-abc"}); strings.Contains(got.Message, "sk-ant") {
		t.Errorf("an upstream credential message leaked: %s", got.Message)
	}
}

func TestAppendEvent(t *testing.T) {
	got := string(ErrorEvent(AppendEvent(nil, "ping", []byte(`{"type":"ping"}`)), Errorf(529, "Overloaded")))
	want := "event: ping\ndata: {\"type\":\"ping\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	if got != want {
		t.Errorf("%q", got)
	}
}

// TestRender: the executor's errors (written in OpenAI's words) reach a
// Messages client in Anthropic's: the type its status has, a native target's
// own type kept, 502 and 503 as 529, and Retry-After on the response.
func TestRender(t *testing.T) {
	for _, c := range []struct {
		in     *executor.Error
		status int
		typ    string
	}{
		{executor.ModelNotFound("x"), 404, TypeNotFound},
		{executor.Errorf(401, "invalid_request_error", "invalid_api_key", "", "Incorrect API key provided."), 401, TypeAuthentication},
		{executor.Errorf(403, "invalid_request_error", "policy_violation", "", "denied"), 403, TypePermission},
		{executor.Errorf(400, "not_found_error", "", "", "a native target's verdict"), 400, TypeNotFound},
		{executor.Errorf(502, "server_error", "upstream_error", "", "all failed"), StatusOverloaded, TypeOverloaded},
		{executor.Errorf(503, "server_error", "targets_unavailable", "", "none up"), StatusOverloaded, TypeOverloaded},
		{&executor.Error{Status: 429, Type: "requests", Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, TypeRateLimit},
	} {
		w := httptest.NewRecorder()
		w.Header().Set("X-Request-Id", "req_1")
		Render(w, c.in)
		var doc struct {
			Type  string `json:"type"`
			Error struct {
				Type, Message string
			} `json:"error"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != c.status || doc.Type != "error" ||
			doc.Error.Type != c.typ || doc.Error.Message != c.in.Message || doc.RequestID != "req_1" || w.Header().Get("Request-Id") != "req_1" {
			t.Errorf("%+v: HTTP %d %s", c.in, w.Code, w.Body.Bytes())
		}
		if c.in.RetryAfter > 0 && w.Header().Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
		}
	}
}
