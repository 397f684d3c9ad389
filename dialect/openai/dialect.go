// Package openai is the OpenAI dialect of the API: chat completions, embeddings,
// models and the Responses API, under /v1 and under Azure OpenAI's path styles
// (/openai/v1/... and /openai/deployments/{deployment}/...). It decodes requests
// once, answers errors in OpenAI's shape and writes OpenAI's stream events; the
// executor does everything in between.
package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/executor"
)

// Dialect serves the OpenAI API.
type Dialect struct {
	exe *executor.Executor
}

// New returns the OpenAI dialect over exe.
func New(exe *executor.Executor) *Dialect { return &Dialect{exe: exe} }

// Endpoints are the dialect's routes.
func (d *Dialect) Endpoints() []executor.Endpoint {
	var eps []executor.Endpoint
	// The OpenAI API, also under Azure OpenAI's v1 path (/openai/v1/..., the default
	// of @ai-sdk/azure and the Azure v1 clients), where "model" names the deployment:
	// here, the alias.
	for _, prefix := range []string{"/v1", "/openai/v1"} {
		eps = append(eps,
			executor.Endpoint{Pattern: "POST " + prefix + "/chat/completions", API: "chat", Serve: d.withBody(d.serveChat, false, borrowed)},
			executor.Endpoint{Pattern: "POST " + prefix + "/embeddings", API: "embeddings", Serve: d.withBody(d.serveEmbeddings, false, kept)},
			executor.Endpoint{Pattern: "GET " + prefix + "/models", API: "models", Serve: d.ServeModels},
			executor.Endpoint{Pattern: "GET " + prefix + "/models/{id...}", API: "models", Serve: d.serveModel},
			executor.Endpoint{Pattern: "POST " + prefix + "/responses", API: "responses", Serve: d.withBody(d.serveResponsesCreate, false, kept)},
			executor.Endpoint{Pattern: "GET " + prefix + "/responses/{id}", API: "responses", Serve: d.serveResponsesGet},
			executor.Endpoint{Pattern: "DELETE " + prefix + "/responses/{id}", API: "responses", Serve: d.serveResponsesDelete},
			executor.Endpoint{Pattern: "GET " + prefix + "/responses/{id}/input_items", API: "responses", Serve: d.serveResponsesInputItems},
		)
	}
	// Azure OpenAI SDKs address deployments by path; the deployment is the alias.
	return append(eps,
		executor.Endpoint{Pattern: "POST /openai/deployments/{deployment}/chat/completions", API: "chat", Serve: d.withBody(d.serveChat, true, borrowed)},
		executor.Endpoint{Pattern: "POST /openai/deployments/{deployment}/embeddings", API: "embeddings", Serve: d.withBody(d.serveEmbeddings, true, kept)},
	)
}

// Credential returns the key a client presented: "Authorization: Bearer" as OpenAI
// SDKs send it, or "api-key" as Azure OpenAI SDKs do.
func Credential(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("Api-Key"))
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

func docOf(e *executor.Error) errorDoc {
	b := errorBody{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		b.Param = &e.Param
	}
	if e.Code != "" {
		b.Code = &e.Code
	}
	return errorDoc{Error: b}
}

// Render writes an error in OpenAI's shape, with Retry-After and the
// x-ratelimit-* headers where they apply.
func Render(w http.ResponseWriter, e *executor.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Rate != nil {
		executor.SetRateHeaders(h, e.Rate)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(docOf(e))
}

// How a handler reads its body: kept, or borrowed by one that keeps no slice of it
// past its request (a chat completion's; see executor.Record.BorrowBody).
var (
	kept     = (*executor.Record).ReadBody
	borrowed = (*executor.Record).BorrowBody
)

// withBody reads the request body and hands it to serve. With fromPath, the path's
// {deployment} names the alias, as Azure OpenAI SDKs send it.
func (d *Dialect) withBody(serve func(http.ResponseWriter, *executor.Record, []byte), fromPath bool,
	read func(*executor.Record, http.ResponseWriter) ([]byte, *executor.Error)) executor.Handler {
	return func(w http.ResponseWriter, rec *executor.Record) {
		body, err := read(rec, w)
		if err == nil && fromPath {
			body, err = withModel(body, rec.Request().PathValue("deployment"))
		}
		if err != nil {
			rec.Fail(w, err)
			return
		}
		serve(w, rec, body)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
