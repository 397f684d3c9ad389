package fakes

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// OpenAIOptions configure an emulated OpenAI server.
type OpenAIOptions struct {
	// Name appears in replies ("<name> heard: ...").
	Name string
	// APIKey is required as "Authorization: Bearer"; empty accepts any request.
	APIKey string
	// Models are the known model ids; empty accepts any.
	Models []string
	// ContextWindow makes longer prompts fail with context_length_exceeded (0 = none).
	ContextWindow int
}

// OpenAI emulates api.openai.com/v1: chat completions (streamed and not), embeddings
// and the models list, with OpenAI's error bodies and SSE framing.
type OpenAI struct {
	server
}

// NewOpenAI starts an emulated OpenAI server on loopback.
func NewOpenAI(opts OpenAIOptions) *OpenAI {
	if opts.Name == "" {
		opts.Name = "openai"
	}
	return &OpenAI{server: startServer(opts.Name, func(b *Backend) http.Handler {
		h := &chatHandler{b: b, opts: opts, style: styleOpenAI}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
			if h.authorized(w, r) {
				h.chat(w, r, "")
			}
		})
		mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
			if h.authorized(w, r) {
				h.embeddings(w, r, "")
			}
		})
		mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
			if h.authorized(w, r) {
				h.models(w)
			}
		})
		return mux
	})}
}

// BaseURL is what an OpenAI client takes as base_url.
func (o *OpenAI) BaseURL() string { return o.URL() + "/v1" }

type errorStyle int

const (
	styleOpenAI errorStyle = iota
	styleAzure
)

// chatHandler serves the OpenAI wire format for the OpenAI and Azure fakes.
type chatHandler struct {
	b     *Backend
	opts  OpenAIOptions
	style errorStyle
	// promptFilter sends Azure's leading chunk of prompt_filter_results.
	promptFilter bool
	ids          atomic.Int64
}

func (h *chatHandler) authorized(w http.ResponseWriter, r *http.Request) bool {
	if h.opts.APIKey == "" || r.Header.Get("Authorization") == "Bearer "+h.opts.APIKey {
		return true
	}
	h.b.admit(r, nil)
	writeOpenAIError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
		"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "")
	return false
}

func (h *chatHandler) chat(w http.ResponseWriter, r *http.Request, deployment string) {
	body := readBody(r)
	fault, faulty := h.b.admit(r, body)
	var req providers.ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		h.error(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request.", "")
		return
	}
	model := req.Model
	if deployment != "" {
		model = deployment
	}
	if len(req.Messages) == 0 {
		h.error(w, http.StatusBadRequest, "invalid_request_error", "", "[] is too short - 'messages'", "messages")
		return
	}
	if len(h.opts.Models) > 0 && !slices.Contains(h.opts.Models, model) {
		code := "model_not_found"
		if h.style == styleAzure {
			code = "DeploymentNotFound"
		}
		h.error(w, http.StatusNotFound, "invalid_request_error", code,
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model), "")
		return
	}
	p := promptFromOpenAI(&req)
	p.Model = model
	if h.opts.ContextWindow > 0 && p.PromptTokens() > h.opts.ContextWindow {
		h.error(w, http.StatusBadRequest, "invalid_request_error", "context_length_exceeded",
			fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.",
				h.opts.ContextWindow, p.PromptTokens()), "messages")
		return
	}
	if faulty {
		if !h.b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 {
			h.fault(w, fault)
			return
		}
	}
	reply := h.b.reply(p)
	id := fmt.Sprintf("chatcmpl-%s-%d", h.b.Name, h.ids.Add(1))
	n := 1
	if req.N != nil && *req.N > 1 {
		n = min(*req.N, 128) // OpenAI's maximum
	}
	if req.Stream {
		usage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		h.stream(w, r, id, model, reply, n, usage, fault)
		return
	}
	writeJSON(w, http.StatusOK, openAICompletion(id, model, reply, n))
}

func (h *chatHandler) fault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		w.Header().Set("Retry-After-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
	}
	code, msg, typ := f.Code, f.Message, "server_error"
	switch {
	case f.Status == http.StatusTooManyRequests:
		typ = "requests"
		if code == "" {
			code = "rate_limit_exceeded"
		}
		if msg == "" {
			msg = "Rate limit reached for requests. Please try again later."
		}
	case f.Status < 500:
		typ = "invalid_request_error"
	}
	if msg == "" {
		msg = "The server had an error while processing your request. Sorry about that!"
	}
	h.error(w, f.Status, typ, code, msg, "")
}

func (h *chatHandler) error(w http.ResponseWriter, status int, typ, code, msg, param string) {
	if h.style == styleAzure {
		writeAzureError(w, status, code, msg)
		return
	}
	writeOpenAIError(w, status, typ, code, msg, param)
}

func writeOpenAIError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// writeAzureError writes Azure's shape: code as a string, the status as code when
// nothing more specific applies, and content filter details in innererror.
func writeAzureError(w http.ResponseWriter, status int, code, msg string) {
	if code == "" {
		code = strconv.Itoa(status)
	}
	e := map[string]any{"code": code, "message": msg}
	if code == "content_filter" {
		e["param"] = "prompt"
		e["status"] = status
		e["innererror"] = map[string]any{"code": "ResponsibleAIPolicyViolation",
			"content_filter_result": map[string]any{"hate": map[string]any{"filtered": true, "severity": "high"}}}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// openAICompletion is the chat.completion of a reply, given as n identical choices
// (the emulated model is deterministic); like OpenAI, usage counts the completion
// tokens of every choice.
func openAICompletion(id, model string, r Reply, n int) map[string]any {
	msg := map[string]any{"role": "assistant", "content": r.Content, "refusal": nil}
	if len(r.ToolCalls) > 0 {
		msg["content"] = nil
		var calls []map[string]any
		for _, c := range r.ToolCalls {
			calls = append(calls, map[string]any{"id": c.ID, "type": "function",
				"function": map[string]any{"name": c.Name, "arguments": c.Arguments}})
		}
		msg["tool_calls"] = calls
	}
	choices := make([]any, n)
	for i := range choices {
		choices[i] = map[string]any{"index": i, "message": msg, "logprobs": nil, "finish_reason": r.FinishReason}
	}
	r.CompletionTokens *= n
	return map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"system_fingerprint": "fp_fake", "choices": choices, "usage": openAIUsage(r),
	}
}

func openAIUsage(r Reply) map[string]any {
	return map[string]any{
		"prompt_tokens": r.PromptTokens, "completion_tokens": r.CompletionTokens,
		"total_tokens":              r.PromptTokens + r.CompletionTokens,
		"prompt_tokens_details":     map[string]any{"cached_tokens": r.CachedTokens, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0},
	}
}

// stream writes chat.completion.chunk events the way OpenAI does: per choice a role
// chunk, content or tool-call deltas and a finish chunk, then the usage chunk when
// asked for (every other chunk then carries "usage": null), and data: [DONE].
func (h *chatHandler) stream(w http.ResponseWriter, r *http.Request, id, model string, reply Reply, n int, withUsage bool, f Fault) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fw := newFlushWriter(w)
	if f.CutAfter < 0 {
		_ = fw.rc.Flush()
		return
	}
	created := time.Now().Unix()
	var events [][]byte
	if h.promptFilter {
		events = append(events, mustJSON(map[string]any{"id": "", "object": "", "created": 0, "model": "", "choices": []any{},
			"prompt_filter_results": []any{map[string]any{"prompt_index": 0, "content_filter_results": map[string]any{}}}}))
	}
	for choice := range n {
		chunk := func(delta map[string]any, finish any) []byte {
			c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
				"system_fingerprint": "fp_fake",
				"choices":            []any{map[string]any{"index": choice, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
			if withUsage {
				c["usage"] = nil
			}
			return mustJSON(c)
		}
		events = append(events, chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil))
		for _, piece := range reply.Chunks {
			events = append(events, chunk(map[string]any{"content": piece}, nil))
		}
		for i, c := range reply.ToolCalls {
			events = append(events, chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.ID, "type": "function",
				"function": map[string]any{"name": c.Name, "arguments": ""}}}}, nil))
			for _, frag := range fragments(c.Arguments, 8) {
				events = append(events, chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i,
					"function": map[string]any{"arguments": frag}}}}, nil))
			}
		}
		events = append(events, chunk(map[string]any{}, reply.FinishReason))
	}
	if withUsage {
		usage := reply
		usage.CompletionTokens *= n
		events = append(events, mustJSON(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created,
			"model": model, "system_fingerprint": "fp_fake", "choices": []any{}, "usage": openAIUsage(usage)}))
	}
	events = append(events, []byte("[DONE]"))
	for i, ev := range events {
		if f.CutAfter > 0 && i >= f.CutAfter {
			return
		}
		if i > 0 && f.ChunkDelay > 0 && !sleep(r.Context(), f.ChunkDelay) {
			h.b.noteCanceled()
			return
		}
		if fw.event("", ev) != nil {
			h.b.noteCanceled()
			return
		}
	}
}

// fragments splits s into pieces of at most n bytes, as streamed tool arguments are.
func fragments(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func (h *chatHandler) embeddings(w http.ResponseWriter, r *http.Request, deployment string) {
	body := readBody(r)
	fault, faulty := h.b.admit(r, body)
	var req providers.EmbeddingRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Input.Texts) == 0 {
		h.error(w, http.StatusBadRequest, "invalid_request_error", "", "'input' is a required property", "input")
		return
	}
	if faulty {
		if !h.b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 {
			h.fault(w, fault)
			return
		}
	}
	model := req.Model
	if deployment != "" {
		model = deployment
	}
	dims := 8
	if req.Dimensions != nil && *req.Dimensions > 0 && *req.Dimensions <= 4096 {
		dims = *req.Dimensions
	}
	var data []any
	tokens := 0
	for i, text := range req.Input.Texts {
		vec := Vector(text, dims)
		var emb any = vec
		if req.EncodingFormat == "base64" {
			emb = vectorBase64(vec)
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": emb})
		tokens += len(text)/4 + 1
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
}

func (h *chatHandler) models(w http.ResponseWriter) {
	var data []any
	for _, m := range h.opts.Models {
		data = append(data, map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": h.b.Name})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// Vector is the deterministic embedding of text: unit length, derived from its hash,
// so tests can check that the right text reached the right backend.
func Vector(text string, dims int) []float32 {
	sum := sha256.Sum256([]byte(text))
	vec := make([]float32, dims)
	var norm float64
	for i := range vec {
		v := float64(int8(sum[i%len(sum)])) + float64(i%7)
		vec[i] = float32(v)
		norm += v * v
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		norm = 1
	}
	for i := range vec {
		vec[i] = float32(float64(vec[i]) / norm)
	}
	return vec
}

func vectorBase64(vec []float32) string {
	buf := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// promptFromOpenAI reduces an OpenAI chat request to a Prompt.
func promptFromOpenAI(req *providers.ChatRequest) *Prompt {
	p := &Prompt{Model: req.Model, MaxTokens: req.MaxOutputTokens(), Stop: req.Stop, Stream: req.Stream}
	for _, t := range req.Tools {
		p.offer(t.Function.Name, t.Function.Description)
	}
	if req.ToolChoice != nil {
		p.ToolChoice = req.ToolChoice.Mode
		if req.ToolChoice.Function != "" {
			p.ToolChoice = req.ToolChoice.Function
		}
	}
	if rf := req.ResponseFormat; rf != nil && (rf.Type == "json_object" || rf.Type == "json_schema") {
		p.JSON = true
	}
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			if p.System != "" {
				p.System += "\n"
			}
			p.System += m.Content.AllText()
			continue
		}
		t := Turn{Role: m.Role, Text: m.Content.AllText(), ToolCallID: m.ToolCallID}
		for _, part := range m.Content.Parts {
			if part.Type == "image_url" {
				t.Images++
			}
		}
		for _, c := range m.ToolCalls {
			t.ToolCalls = append(t.ToolCalls, ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
		}
		p.Turns = append(p.Turns, t)
	}
	if len(p.Turns) == 0 {
		p.Turns = []Turn{{Role: "user"}}
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // unreachable: only maps of plain values built here are encoded
	}
	return b
}

// bearer extracts a bearer token.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return v[7:]
	}
	return ""
}
