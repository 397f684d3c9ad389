package fakes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// AnthropicOptions configure an emulated Anthropic API.
type AnthropicOptions struct {
	// Name appears in replies ("<name> heard: ...").
	Name string
	// APIKey is required as x-api-key (or, as SDKs since API version 2026-10-21
	// send it, Authorization: Bearer); empty accepts any request.
	APIKey string
	// ContextWindow makes longer prompts fail with Anthropic's "prompt is too long"
	// 400 (0 = none).
	ContextWindow int
	// MinCacheTokens is the shortest prefix the emulated prompt cache keeps
	// (0 = DefaultMinCacheTokens).
	MinCacheTokens int
}

// Anthropic emulates api.anthropic.com: POST /v1/messages, streamed and not, with
// the Messages API's validation, named SSE events (ping included) and error bodies
// ({"type":"error","error":{...},"request_id":...}).
//
// Faults: Status answers with Anthropic's error of that status (Code, when set, is
// the error type); on a stream with CutAfter > 0 the status instead becomes an
// "error" event after CutAfter events, as Anthropic reports failures once a stream
// has begun (e.g. Status 529 → overloaded_error mid-stream). CutAfter alone cuts
// the stream without message_stop.
type Anthropic struct {
	server
	script *claudeScript
}

// NewAnthropic starts an emulated Anthropic API on loopback.
func NewAnthropic(opts AnthropicOptions) *Anthropic {
	if opts.Name == "" {
		opts.Name = "anthropic"
	}
	script := &claudeScript{}
	return &Anthropic{script: script, server: startServer(opts.Name, func(b *Backend) http.Handler {
		h := &anthropicHandler{b: b, opts: opts, script: script}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/messages", h.messages)
		mux.HandleFunc("POST /v1/messages/count_tokens", h.countTokens)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			h.error(w, http.StatusNotFound, "not_found_error", "Not Found")
		})
		return mux
	})}
}

// BaseURL is what Anthropic clients take as their base URL (they append /v1/messages).
func (a *Anthropic) BaseURL() string { return a.URL() }

type anthropicHandler struct {
	b      *Backend
	opts   AnthropicOptions
	ids    atomic.Int64
	script *claudeScript
	cache  promptCache
}

// The request members the emulator reads (https://platform.claude.com/docs/en/api/messages).
type anthropicRequest struct {
	Model         string             `json:"model"`
	MaxTokens     *int               `json:"max_tokens"`
	System        json.RawMessage    `json:"system"`
	Messages      []anthropicMessage `json:"messages"`
	Stream        bool               `json:"stream"`
	StopSequences []string           `json:"stop_sequences"`
	Temperature   *float64           `json:"temperature"`
	TopP          *float64           `json:"top_p"`
	TopK          *int               `json:"top_k"`
	Tools         []struct {
		Name         string          `json:"name"`
		Description  string          `json:"description"`
		CacheControl json.RawMessage `json:"cache_control"`
	} `json:"tools"`
	Thinking *struct {
		Type         string `json:"type"`
		BudgetTokens *int   `json:"budget_tokens"`
	} `json:"thinking"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	OutputConfig *struct {
		Format *struct {
			Type string `json:"type"`
		} `json:"format"`
		Effort string `json:"effort"`
	} `json:"output_config"`
}

type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	Source    *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
	} `json:"source"`
	Thinking     *string         `json:"thinking"`
	Signature    string          `json:"signature"`
	Data         string          `json:"data"`
	CacheControl json.RawMessage `json:"cache_control"`
}

// turn is one message after consecutive same-role messages are combined, as the
// API does ("Consecutive user or assistant turns in your request will be combined
// into a single turn"); first is the index of its first message, for error paths.
type blockAt struct{ msg, block int }

type turn struct {
	role   string
	first  int
	blocks []anthropicBlock
	at     []blockAt // where each block came from, for error paths
}

func (h *anthropicHandler) messages(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key = bearer(r)
	}
	if h.opts.APIKey != "" && key != h.opts.APIKey {
		h.b.admit(r, nil)
		msg := "invalid x-api-key"
		if key == "" {
			msg = "x-api-key header is required"
		}
		h.error(w, http.StatusUnauthorized, "authentication_error", msg)
		return
	}
	body := readBody(r)
	fault, faulty := h.b.admit(r, body)
	version := r.Header.Get("Anthropic-Version")
	if version == "" {
		h.invalid(w, "anthropic-version: header is required")
		return
	}
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		h.invalid(w, "There was an issue with the format or content of your request: "+err.Error())
		return
	}
	p, msg := h.prompt(&req, version)
	if msg != "" {
		h.invalid(w, msg)
		return
	}
	if h.opts.ContextWindow > 0 && p.PromptTokens() > h.opts.ContextWindow {
		h.invalid(w, fmt.Sprintf("prompt is too long: %d tokens > %d maximum", p.PromptTokens(), h.opts.ContextWindow))
		return
	}
	midStream := req.Stream && fault.CutAfter > 0
	if faulty {
		if !h.b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 && !midStream {
			h.fault(w, fault)
			return
		}
	}
	id := fmt.Sprintf("msg_%s_%d", h.b.Name, h.ids.Add(1))
	if sc, ok := h.script.next(); ok {
		h.scripted(w, r, id, &req, p, sc, fault)
		return
	}
	reply, stopSeq := h.reply(p)
	// The emulated cache sets the counts a responder left unset.
	if read, write := h.cache.use(anthropicCacheWalk(&req), h.opts.MinCacheTokens, reply.PromptTokens); reply.CachedTokens == 0 && reply.CacheWriteTokens == 0 {
		reply.CachedTokens, reply.CacheWriteTokens = read, write
	}
	if req.Stream {
		h.stream(w, r, id, req.Model, reply, stopSeq, fault)
		return
	}
	w.Header().Set("Request-Id", "req_"+id)
	writeJSON(w, http.StatusOK, anthropicMessageBody(id, req.Model, reply, stopSeq))
}

// reply asks the responder once and applies the prompt's limits, remembering which
// stop sequence ended the text, which Anthropic reports as stop_sequence.
func (h *anthropicHandler) reply(p *Prompt) (Reply, string) {
	h.b.mu.Lock()
	respond := h.b.responder
	h.b.mu.Unlock()
	raw := respond(p)
	stopSeq, at := "", -1
	if len(raw.ToolCalls) == 0 {
		for _, s := range p.Stop {
			if i := strings.Index(raw.Content, s); s != "" && i >= 0 && (at < 0 || i < at) {
				stopSeq, at = s, i
			}
		}
	}
	return raw.Finish(p), stopSeq
}

// prompt validates the request as the API does and reduces it to a Prompt; msg is
// the invalid_request_error message of a request the API would refuse.
func (h *anthropicHandler) prompt(req *anthropicRequest, version string) (*Prompt, string) {
	switch {
	case req.Model == "":
		return nil, "model: Field required"
	case req.MaxTokens == nil:
		return nil, "max_tokens: Field required"
	case *req.MaxTokens < 0:
		return nil, "max_tokens: Input should be greater than or equal to 0"
	case req.Messages == nil:
		return nil, "messages: Field required"
	case len(req.Messages) == 0:
		return nil, "messages: at least one message is required"
	}
	newVersion := version >= "2026-10-21"
	if newVersion {
		// API version 2026-10-21 removed the sampling parameters, "even at their
		// default values".
		for _, param := range []struct {
			name string
			set  bool
		}{{"temperature", req.Temperature != nil}, {"top_p", req.TopP != nil}, {"top_k", req.TopK != nil}} {
			if param.set {
				return nil, param.name + ": Extra inputs are not permitted in API version " + version
			}
		}
	} else if t := req.Temperature; t != nil && (*t < 0 || *t > 1) {
		return nil, "temperature: Input should be less than or equal to 1"
	}
	p := &Prompt{Model: req.Model, MaxTokens: *req.MaxTokens, Stop: req.StopSequences, Stream: req.Stream}
	sys, ok := blockText(req.System)
	if !ok {
		return nil, "system: Input should be a valid string or a list of text blocks"
	}
	p.System = sys
	for _, t := range req.Tools {
		if t.Name == "" {
			return nil, "tools: name: Field required"
		}
		p.offer(t.Name, t.Description)
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto", "none":
			p.ToolChoice = tc.Type
		case "any":
			p.ToolChoice = "required"
		case "tool":
			p.ToolChoice = tc.Name
		default:
			return nil, "tool_choice: Input tag '" + tc.Type + "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
		}
	}
	if oc := req.OutputConfig; oc != nil && oc.Format != nil && oc.Format.Type == "json_schema" {
		p.JSON = true
	}
	turns, msg := combine(req.Messages, newVersion, p)
	if msg != "" {
		return nil, msg
	}
	if msg := checkToolPairs(turns, len(req.Tools) > 0); msg != "" {
		return nil, msg
	}
	if msg := checkThinking(req, turns, p); msg != "" {
		return nil, msg
	}
	for _, t := range turns {
		p.Turns = append(p.Turns, promptTurns(t)...)
	}
	return p, ""
}

// combine decodes the messages into turns, merging consecutive same-role messages.
// System messages inside the conversation exist from API version 2026-10-21 on.
func combine(msgs []anthropicMessage, systemRole bool, p *Prompt) ([]turn, string) {
	var turns []turn
	for i, m := range msgs {
		blocks, ok := decodeContent(m.Content)
		if !ok {
			return nil, fmt.Sprintf("messages.%d.content: Input should be a valid string or a list of content blocks", i)
		}
		for j, b := range blocks {
			if b.Type == "text" && b.Text == "" {
				return nil, fmt.Sprintf("messages.%d.content.%d.text: text content blocks must be non-empty", i, j)
			}
		}
		switch m.Role {
		case "user", "assistant":
		case "system":
			if systemRole {
				text, _ := blockText(m.Content)
				p.System = strings.TrimPrefix(p.System+"\n"+text, "\n")
				continue
			}
			return nil, fmt.Sprintf("messages.%d: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.", i)
		default:
			return nil, fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if len(blocks) == 0 {
			return nil, fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
		}
		if n := len(turns); n == 0 || turns[n-1].role != m.Role {
			turns = append(turns, turn{role: m.Role, first: i})
		}
		t := &turns[len(turns)-1]
		for j, b := range blocks {
			t.blocks = append(t.blocks, b)
			t.at = append(t.at, blockAt{i, j})
		}
	}
	return turns, ""
}

// checkToolPairs enforces the API's tool-use protocol, with its messages: every
// tool_use is answered by a tool_result at the start of the next turn, every
// tool_result answers a tool_use of the turn before, and both need tools defined.
func checkToolPairs(turns []turn, hasTools bool) string {
	for ti, t := range turns {
		var uses []string
		for k, b := range t.blocks {
			switch b.Type {
			case "tool_use":
				uses = append(uses, b.ID)
			case "tool_result":
				if !hasTools {
					return "Requests which include `tool_use` or `tool_result` blocks must define tools."
				}
				var prev []string
				if ti > 0 {
					for _, pb := range turns[ti-1].blocks {
						if pb.Type == "tool_use" {
							prev = append(prev, pb.ID)
						}
					}
				}
				if !contains(prev, b.ToolUseID) {
					return fmt.Sprintf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
						t.at[k].msg, t.at[k].block, b.ToolUseID)
				}
			}
		}
		if len(uses) == 0 {
			continue
		}
		if !hasTools {
			return "Requests which include `tool_use` or `tool_result` blocks must define tools."
		}
		if ti == len(turns)-1 {
			continue // the conversation may end on the assistant's tool use (prefill)
		}
		answered := map[string]bool{}
		for _, b := range turns[ti+1].blocks {
			if b.Type != "tool_result" {
				break // results must open the turn
			}
			answered[b.ToolUseID] = true
		}
		var missing []string
		for _, id := range uses {
			if !answered[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
				t.first, strings.Join(missing, ", "))
		}
	}
	return ""
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// promptTurns reduces one turn: tool results become "tool" turns, the rest one turn.
func promptTurns(t turn) []Turn {
	var out []Turn
	main := Turn{Role: t.role}
	var text []string
	for _, b := range t.blocks {
		switch b.Type {
		case "text":
			text = append(text, b.Text)
		case "image":
			main.Images++
		case "tool_use":
			args := "{}"
			if len(b.Input) > 0 {
				var buf bytes.Buffer
				if json.Compact(&buf, b.Input) == nil {
					args = buf.String()
				}
			}
			main.ToolCalls = append(main.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		case "tool_result":
			res, _ := blockText(b.Content)
			out = append(out, Turn{Role: "tool", Text: res, ToolCallID: b.ToolUseID})
		}
	}
	main.Text = strings.Join(text, "")
	if main.Text != "" || main.Images > 0 || len(main.ToolCalls) > 0 || len(out) == 0 {
		out = append(out, main)
	}
	return out
}

// decodeContent reads message content: a string (one text block) or blocks.
func decodeContent(raw json.RawMessage) ([]anthropicBlock, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []anthropicBlock{{Type: "text", Text: s}}, true
	}
	var blocks []anthropicBlock
	if json.Unmarshal(raw, &blocks) != nil || blocks == nil {
		return nil, false
	}
	return blocks, true
}

// blockText is the text of a string or of a list of text blocks (system prompts,
// tool results); absent is "".
func blockText(raw json.RawMessage) (string, bool) {
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return "", true
	}
	blocks, ok := decodeContent(raw)
	if !ok {
		return "", false
	}
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n"), true
}

// stopReason maps a reply's OpenAI finish reason to Anthropic's stop_reason.
func stopReason(r Reply, stopSeq string) string {
	switch r.FinishReason {
	case "length":
		return "max_tokens"
	case "tool_calls":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	if stopSeq != "" {
		return "stop_sequence"
	}
	return "end_turn"
}

func toolUseID(id string) string {
	if strings.HasPrefix(id, "toolu_") {
		return id
	}
	return "toolu_" + strings.TrimPrefix(id, "call_")
}

func toolInputObject(args string) json.RawMessage {
	if json.Valid([]byte(args)) && strings.HasPrefix(strings.TrimSpace(args), "{") {
		return json.RawMessage(args)
	}
	return json.RawMessage("{}")
}

// anthropicUsage counts as Anthropic does: input_tokens excludes cache reads and
// writes.
func anthropicUsage(r Reply, outputTokens int) map[string]any {
	return map[string]any{
		"input_tokens":                max(r.PromptTokens-r.CachedTokens-r.CacheWriteTokens, 0),
		"cache_creation_input_tokens": r.CacheWriteTokens,
		"cache_read_input_tokens":     r.CachedTokens,
		"output_tokens":               outputTokens,
		"service_tier":                "standard",
	}
}

func anthropicMessageBody(id, model string, r Reply, stopSeq string) map[string]any {
	content := []any{}
	if r.Reasoning != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": r.Reasoning, "signature": ClaudeSignature(r.Reasoning)})
	}
	if r.Content != "" {
		content = append(content, map[string]any{"type": "text", "text": r.Content})
	}
	for _, c := range r.ToolCalls {
		content = append(content, map[string]any{"type": "tool_use", "id": toolUseID(c.ID), "name": c.Name,
			"input": toolInputObject(c.Arguments)})
	}
	var seq any
	if stopSeq != "" && stopReason(r, stopSeq) == "stop_sequence" {
		seq = stopSeq
	}
	return map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": content,
		"stop_reason": stopReason(r, stopSeq), "stop_sequence": seq,
		"usage": anthropicUsage(r, r.CompletionTokens),
	}
}

// anthropicEvent is one named SSE event.
type anthropicEvent struct {
	name string
	data []byte
}

// stream writes the event sequence of https://platform.claude.com/docs/en/build-with-claude/streaming:
// message_start, per block content_block_start / _delta... / _stop (a ping after the
// first block opens), message_delta, message_stop.
func (h *anthropicHandler) stream(w http.ResponseWriter, r *http.Request, id, model string, reply Reply, stopSeq string, f Fault) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Request-Id", "req_"+id)
	w.WriteHeader(http.StatusOK)
	fw := newFlushWriter(w)
	if f.CutAfter < 0 {
		_ = fw.rc.Flush()
		return
	}
	var events []anthropicEvent
	add := func(name string, v any) {
		events = append(events, anthropicEvent{name, mustJSON(v)})
	}
	start := map[string]any{"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": anthropicUsage(reply, 1)}
	add("message_start", map[string]any{"type": "message_start", "message": start})
	index := 0
	openBlock := func(block map[string]any) {
		add("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": block})
		if index == 0 {
			events = append(events, anthropicEvent{"ping", []byte(`{"type": "ping"}`)})
		}
	}
	delta := func(d map[string]any) {
		add("content_block_delta", map[string]any{"type": "content_block_delta", "index": index, "delta": d})
	}
	closeBlock := func() {
		add("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	if reply.Reasoning != "" {
		openBlock(map[string]any{"type": "thinking", "thinking": ""})
		for _, piece := range splitWords(reply.Reasoning) {
			delta(map[string]any{"type": "thinking_delta", "thinking": piece})
		}
		delta(map[string]any{"type": "signature_delta", "signature": ClaudeSignature(reply.Reasoning)})
		closeBlock()
	}
	if len(reply.Chunks) > 0 {
		openBlock(map[string]any{"type": "text", "text": ""})
		for _, piece := range reply.Chunks {
			delta(map[string]any{"type": "text_delta", "text": piece})
		}
		closeBlock()
	}
	for _, c := range reply.ToolCalls {
		openBlock(map[string]any{"type": "tool_use", "id": toolUseID(c.ID), "name": c.Name, "input": map[string]any{}})
		delta(map[string]any{"type": "input_json_delta", "partial_json": ""})
		for _, frag := range fragments(string(toolInputObject(c.Arguments)), 8) {
			delta(map[string]any{"type": "input_json_delta", "partial_json": frag})
		}
		closeBlock()
	}
	var seq any
	if sr := stopReason(reply, stopSeq); sr == "stop_sequence" {
		seq = stopSeq
	}
	add("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stopReason(reply, stopSeq), "stop_sequence": seq},
		"usage": anthropicUsage(reply, reply.CompletionTokens)})
	add("message_stop", map[string]any{"type": "message_stop"})
	for i, ev := range events {
		if f.CutAfter > 0 && i >= f.CutAfter {
			if f.Status != 0 {
				typ, msg := anthropicFaultError(f)
				_ = fw.event("error", mustJSON(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}))
			}
			return
		}
		if i > 0 && f.ChunkDelay > 0 && !sleep(r.Context(), f.ChunkDelay) {
			h.b.noteCanceled()
			return
		}
		if fw.event(ev.name, ev.data) != nil {
			h.b.noteCanceled()
			return
		}
	}
}

// anthropicErrorTypes are the error types of each status (https://platform.claude.com/docs/en/api/errors).
var anthropicErrorTypes = map[int]string{
	400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
	403: "permission_error", 404: "not_found_error", 413: "request_too_large",
	429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}

var anthropicErrorMessages = map[string]string{
	"invalid_request_error": "Invalid request",
	"authentication_error":  "invalid x-api-key",
	"billing_error":         "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
	"permission_error":      "Your API key does not have permission to use the specified resource.",
	"not_found_error":       "Not Found",
	"request_too_large":     "Request exceeds the maximum allowed number of bytes.",
	"rate_limit_error":      "This request would exceed your organization's rate limit. Please reduce the prompt length or the maximum tokens requested, or try again later.",
	"api_error":             "Internal server error",
	"timeout_error":         "Request timeout",
	"overloaded_error":      "Overloaded",
}

func anthropicFaultError(f Fault) (typ, msg string) {
	typ = f.Code
	if typ == "" {
		typ = anthropicErrorTypes[f.Status]
	}
	if typ == "" {
		typ = "api_error"
		if f.Status < 500 {
			typ = "invalid_request_error"
		}
	}
	msg = f.Message
	if msg == "" {
		msg = anthropicErrorMessages[typ]
	}
	return typ, msg
}

func (h *anthropicHandler) fault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter > 0 {
		secs := int(math.Ceil(f.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Anthropic-Ratelimit-Requests-Remaining", "0")
			w.Header().Set("Anthropic-Ratelimit-Requests-Reset", time.Now().Add(f.RetryAfter).UTC().Format(time.RFC3339))
		}
	}
	typ, msg := anthropicFaultError(f)
	h.error(w, f.Status, typ, msg)
}

func (h *anthropicHandler) invalid(w http.ResponseWriter, msg string) {
	h.error(w, http.StatusBadRequest, "invalid_request_error", msg)
}

func (h *anthropicHandler) error(w http.ResponseWriter, status int, typ, msg string) {
	rid := fmt.Sprintf("req_%s_err_%d", h.b.Name, h.ids.Add(1))
	w.Header().Set("Request-Id", rid)
	writeJSON(w, status, map[string]any{"type": "error",
		"error": map[string]any{"type": typ, "message": msg}, "request_id": rid})
}
