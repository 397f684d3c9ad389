package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
)

// VertexOptions configure an emulated Vertex AI endpoint for Claude.
type VertexOptions struct {
	// Name appears in replies ("<name> heard: ...").
	Name string
	// Token is the OAuth2 bearer token accepted; empty accepts any (but not none).
	Token string
	// Project and Region, when set, are the only ones served; others get 403.
	Project string
	Region  string
	// ContextWindow makes longer prompts fail with Anthropic's "prompt is too
	// long" 400 (0 = none).
	ContextWindow int
}

// Vertex emulates Claude on Vertex AI
// (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude):
//
//	POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
//	POST .../models/{model}:streamRawPredict (Anthropic's SSE events)
//	POST .../models/count-tokens:rawPredict ({"input_tokens": N}; model in the body)
//
// with "Authorization: Bearer". The body is Anthropic's Messages body without
// "model", with "anthropic_version": "vertex-2023-10-16" (or an Anthropic API
// version date, which the official SDK v2 sends); anthropic-beta is a
// header, and flags Claude on Vertex lacks are refused with a 400. The model's
// errors are Anthropic-shaped; Vertex's own (authentication, quota: a 429
// RESOURCE_EXHAUSTED) are google.rpc.Status bodies.
//
// Faults: a 429 answers Vertex's quota error; other statuses Anthropic's error of
// that status (Code, when set, is the error type); a stream with CutAfter > 0
// and a status gets an "error" event after CutAfter events instead.
type Vertex struct {
	server
	opts   VertexOptions
	script *claudeScript
	ids    atomic.Int64
}

// vertexClaudeBeta are the anthropic-beta flags the emulated Claude on Vertex
// accepts.
var vertexClaudeBeta = []string{
	"computer-use-2025-01-24", "computer-use-2025-11-24", "context-1m-2025-08-07",
	"context-management-2025-06-27", "interleaved-thinking-2025-05-14", "tool-search-tool-2025-10-19",
	"web-search-2025-03-05", "compact-2026-01-12", "thinking-binding-controls-2026-08-01",
	"thinking-display-updates-2026-08-18",
}

// NewVertex starts an emulated Vertex AI endpoint for Claude on loopback.
func NewVertex(opts VertexOptions) *Vertex {
	if opts.Name == "" {
		opts.Name = "vertex"
	}
	v := &Vertex{opts: opts, script: &claudeScript{}}
	v.server = startServer(opts.Name, func(b *Backend) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/projects/{project}/locations/{location}/publishers/anthropic/models/{action}",
			func(w http.ResponseWriter, r *http.Request) { v.serve(w, r, b) })
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			b.admit(r, nil)
			writeGoogleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.", nil)
		})
		return mux
	})
	return v
}

// BaseURL is the endpoint root a provider takes as base_url.
func (v *Vertex) BaseURL() string { return v.URL() }

// Script queues Claude answers that the next requests get, in order, instead of
// the responder's.
func (v *Vertex) Script(replies ...ClaudeReply) { v.script.add(replies) }

func (v *Vertex) serve(w http.ResponseWriter, r *http.Request, b *Backend) {
	if tok := bearer(r); tok == "" || (v.opts.Token != "" && tok != v.opts.Token) {
		b.admit(r, nil)
		writeGoogleError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.", nil)
		return
	}
	project, location := r.PathValue("project"), r.PathValue("location")
	if (v.opts.Project != "" && project != v.opts.Project) || (v.opts.Region != "" && location != v.opts.Region) {
		b.admit(r, nil)
		writeGoogleError(w, http.StatusForbidden, "PERMISSION_DENIED",
			fmt.Sprintf("Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/%s/locations/%s/publishers/anthropic/models' (or it may not exist).", project, location), nil)
		return
	}
	body := readBody(r)
	fault, faulty := b.admit(r, body)
	model, method, _ := strings.Cut(r.PathValue("action"), ":")
	if method != "rawPredict" && method != "streamRawPredict" {
		writeGoogleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.", nil)
		return
	}
	for _, f := range betaFlags(r.Header.Values("Anthropic-Beta")) {
		if !slices.Contains(vertexClaudeBeta, f) {
			v.error(w, b, http.StatusBadRequest, "invalid_request_error", "Unsupported beta header: "+f)
			return
		}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		v.error(w, b, http.StatusBadRequest, "invalid_request_error", "There was an issue with the format or content of your request: "+err.Error())
		return
	}
	var version string
	_ = json.Unmarshal(members["anthropic_version"], &version)
	apiVersion, ok := bodyVersion(version, "vertex-2023-10-16")
	if !ok {
		v.error(w, b, http.StatusBadRequest, "invalid_request_error", `anthropic_version: Input should be 'vertex-2023-10-16'`)
		return
	}
	if model == "count-tokens" {
		v.countTokens(w, r, b, members, apiVersion, fault, faulty)
		return
	}
	if _, ok := members["model"]; ok {
		v.error(w, b, http.StatusBadRequest, "invalid_request_error", "model: Extra inputs are not permitted")
		return
	}
	req, p, msg := claudePrompt(body, model, apiVersion)
	if msg != "" {
		v.error(w, b, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	if v.opts.ContextWindow > 0 && p.PromptTokens() > v.opts.ContextWindow {
		v.error(w, b, http.StatusBadRequest, "invalid_request_error",
			fmt.Sprintf("prompt is too long: %d tokens > %d maximum", p.PromptTokens(), v.opts.ContextWindow))
		return
	}
	midStream := req.Stream && fault.CutAfter != 0
	if faulty {
		if !b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 && !midStream {
			v.fault(w, b, fault)
			return
		}
	}
	var ans claudeAnswer
	if sc, ok := v.script.next(); ok {
		if ans, msg = answerFromScript(p, sc); msg != "" {
			v.error(w, b, http.StatusInternalServerError, "api_error", msg)
			return
		}
	} else {
		reply, stopSeq := (&anthropicHandler{b: b}).reply(p)
		ans = answerFromReply(p, reply, stopSeq)
	}
	id := fmt.Sprintf("msg_vrtx_%s_%d", b.Name, v.ids.Add(1))
	if req.Stream {
		writeClaudeSSE(w, r, b, "req_vrtx_"+id, ans.events(id, model, nil), fault)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ans.message(id, model))
}

// countTokens serves count-tokens:rawPredict: the model is in the body.
func (v *Vertex) countTokens(w http.ResponseWriter, r *http.Request, b *Backend, members map[string]json.RawMessage, version string, fault Fault, faulty bool) {
	delete(members, "anthropic_version")
	tokens, msg := countPrompt(mustJSON(members), version)
	if msg != "" {
		v.error(w, b, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	if faulty {
		if !b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 {
			v.fault(w, b, fault)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": tokens})
}

func (v *Vertex) fault(w http.ResponseWriter, b *Backend, f Fault) {
	if f.Status == http.StatusTooManyRequests {
		writeGoogleError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
			cmp(f.Message, "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude. Please submit a quota increase request."), nil)
		return
	}
	typ, msg := anthropicFaultError(f)
	v.error(w, b, f.Status, typ, msg)
}

// error writes the model's errors in Anthropic's shape.
func (v *Vertex) error(w http.ResponseWriter, b *Backend, status int, typ, msg string) {
	rid := fmt.Sprintf("req_vrtx_%s_err_%d", b.Name, v.ids.Add(1))
	writeJSON(w, status, map[string]any{"type": "error",
		"error": map[string]any{"type": typ, "message": msg}, "request_id": rid})
}
