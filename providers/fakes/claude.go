package fakes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// The Anthropic-shaped answers shared by the fakes that serve Claude in
// Anthropic's Messages format: Anthropic's API when scripted, Bedrock's
// InvokeModel and Vertex AI's rawPredict always. An answer is a list of content
// blocks rendered two ways: a Message JSON document, or the stream events of
// https://platform.claude.com/docs/en/build-with-claude/streaming (message_start,
// per block content_block_start / _delta... / _stop with a ping after the first
// start, message_delta, message_stop).

// ClaudeReply is a scripted answer of a fake serving Claude. Its content blocks
// go out byte for byte in a non-streamed Message and rebuild to the same blocks
// from a stream (thinking with its signature, redacted_thinking, tool_use, text
// with citations, server tool blocks), so a replay test can compare answers.
type ClaudeReply struct {
	// Content are the content blocks as the API sends them.
	Content []json.RawMessage
	// StopReason defaults to tool_use when a tool_use block is present, else
	// end_turn.
	StopReason   string
	StopSequence string
	// Usage overrides the emulated counts (input from the prompt, output from
	// the content's size) when set.
	Usage *ClaudeUsage
}

// ClaudeUsage is Anthropic's token count.
type ClaudeUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// claudeScript is a queue of scripted replies, used before the responder.
type claudeScript struct {
	mu      sync.Mutex
	replies []ClaudeReply
}

func (s *claudeScript) add(r []ClaudeReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, r...)
}

func (s *claudeScript) next() (ClaudeReply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		return ClaudeReply{}, false
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r, true
}

// claudeAnswer is an answer ready to render.
type claudeAnswer struct {
	blocks     []claudeBlock
	stopReason string
	stopSeq    string // "" is null
	usage      ClaudeUsage
}

// claudeBlock is one content block: its non-streamed form, and what a stream
// sends of it.
type claudeBlock struct {
	raw       json.RawMessage // in a Message
	start     json.RawMessage // content_block_start's content_block
	deltaType string          // text_delta, thinking_delta, input_json_delta; "" sends none
	deltaKey  string          // text, thinking, partial_json
	pieces    []string
	signature string            // a thinking block's, sent as signature_delta
	citations []json.RawMessage // a text block's, sent as citations_delta
}

// answerFromReply renders a responder's reply: a text block, then tool_use blocks.
func answerFromReply(p *Prompt, r Reply, stopSeq string) claudeAnswer {
	a := claudeAnswer{stopReason: stopReason(r, stopSeq), usage: ClaudeUsage{
		InputTokens: max(r.PromptTokens-r.CachedTokens-r.CacheWriteTokens, 0), CacheReadInputTokens: r.CachedTokens,
		CacheCreationInputTokens: r.CacheWriteTokens, OutputTokens: r.CompletionTokens}}
	if a.stopReason == "stop_sequence" {
		a.stopSeq = stopSeq
	}
	if r.Content != "" {
		a.blocks = append(a.blocks, claudeBlock{raw: mustJSON(map[string]any{"type": "text", "text": r.Content}),
			start: json.RawMessage(`{"type":"text","text":""}`), deltaType: "text_delta", deltaKey: "text", pieces: r.Chunks})
	}
	for _, c := range r.ToolCalls {
		a.blocks = append(a.blocks, toolBlock(toolUseID(c.ID), c.Name, toolInputObject(c.Arguments), nil))
	}
	return a
}

func toolBlock(id, name string, input, raw json.RawMessage) claudeBlock {
	var compact bytes.Buffer
	if json.Compact(&compact, input) != nil {
		compact.Reset()
		compact.WriteString("{}")
	}
	if raw == nil {
		raw = mustJSON(map[string]any{"type": "tool_use", "id": id, "name": name, "input": json.RawMessage(compact.Bytes())})
	}
	return claudeBlock{raw: raw,
		start:     mustJSON(map[string]any{"type": "tool_use", "id": id, "name": name, "input": map[string]any{}}),
		deltaType: "input_json_delta", deltaKey: "partial_json",
		// Anthropic opens tool input with an empty fragment.
		pieces: append([]string{""}, fragments(compact.String(), 8)...)}
}

// answerFromScript renders a scripted reply; a block that is not an object with a
// "type" is the test's mistake, reported as the message.
func answerFromScript(p *Prompt, s ClaudeReply) (claudeAnswer, string) {
	a := claudeAnswer{stopReason: s.StopReason, stopSeq: s.StopSequence}
	out := 0
	for i, raw := range s.Content {
		var b struct {
			Type      string            `json:"type"`
			Text      string            `json:"text"`
			Thinking  string            `json:"thinking"`
			Signature string            `json:"signature"`
			ID        string            `json:"id"`
			Name      string            `json:"name"`
			Input     json.RawMessage   `json:"input"`
			Citations []json.RawMessage `json:"citations"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || b.Type == "" {
			return a, fmt.Sprintf("scripted content block %d is not a content block: %s", i, raw)
		}
		switch b.Type {
		case "text":
			a.blocks = append(a.blocks, claudeBlock{raw: raw, start: json.RawMessage(`{"type":"text","text":""}`),
				deltaType: "text_delta", deltaKey: "text", pieces: splitWords(b.Text), citations: b.Citations})
			out += len(b.Text)
		case "thinking":
			a.blocks = append(a.blocks, claudeBlock{raw: raw, start: json.RawMessage(`{"type":"thinking","thinking":"","signature":""}`),
				deltaType: "thinking_delta", deltaKey: "thinking", pieces: splitWords(b.Thinking), signature: b.Signature})
			out += len(b.Thinking)
		case "tool_use":
			a.blocks = append(a.blocks, toolBlock(b.ID, b.Name, b.Input, raw))
			out += len(b.Input)
			if a.stopReason == "" {
				a.stopReason = "tool_use"
			}
		default: // redacted_thinking, server_tool_use, web_search_tool_result, ...: whole in its start
			a.blocks = append(a.blocks, claudeBlock{raw: raw, start: raw})
		}
	}
	if a.stopReason == "" {
		a.stopReason = "end_turn"
	}
	a.usage = ClaudeUsage{InputTokens: p.PromptTokens(), OutputTokens: out/4 + 1}
	if s.Usage != nil {
		a.usage = *s.Usage
	}
	return a, ""
}

// message is the answer as a Message JSON document, its blocks byte for byte.
func (a *claudeAnswer) message(id, model string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.Write(mustJSON(id))
	b.WriteString(`,"type":"message","role":"assistant","model":`)
	b.Write(mustJSON(model))
	b.WriteString(`,"content":[`)
	for i, blk := range a.blocks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(blk.raw)
	}
	b.WriteString(`],"stop_reason":`)
	b.Write(mustJSON(a.stopReason))
	b.WriteString(`,"stop_sequence":`)
	b.Write(a.stopSequence())
	b.WriteString(`,"usage":`)
	b.Write(a.usageJSON())
	b.WriteByte('}')
	return b.Bytes()
}

func (a *claudeAnswer) stopSequence() []byte {
	if a.stopSeq == "" {
		return []byte("null")
	}
	return mustJSON(a.stopSeq)
}

func (a *claudeAnswer) usageJSON() []byte {
	return mustJSON(map[string]any{
		"input_tokens": a.usage.InputTokens, "output_tokens": a.usage.OutputTokens,
		"cache_creation_input_tokens": a.usage.CacheCreationInputTokens,
		"cache_read_input_tokens":     a.usage.CacheReadInputTokens, "service_tier": "standard",
	})
}

// events is the answer as stream events. stopExtra, when set, is added to
// message_stop's members (Bedrock's amazon-bedrock-invocationMetrics).
func (a *claudeAnswer) events(id, model string, stopExtra map[string]any) []anthropicEvent {
	var evs []anthropicEvent
	add := func(name string, v map[string]any) {
		v["type"] = name
		evs = append(evs, anthropicEvent{name, mustJSON(v)})
	}
	start := a.usage
	start.OutputTokens = 1 // Anthropic's message_start counts the first token
	startUsage := map[string]any{"input_tokens": start.InputTokens, "output_tokens": start.OutputTokens,
		"cache_creation_input_tokens": start.CacheCreationInputTokens, "cache_read_input_tokens": start.CacheReadInputTokens,
		"service_tier": "standard"}
	add("message_start", map[string]any{"message": map[string]any{"id": id, "type": "message", "role": "assistant",
		"model": model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": startUsage}})
	for i, blk := range a.blocks {
		add("content_block_start", map[string]any{"index": i, "content_block": blk.start})
		if i == 0 {
			evs = append(evs, anthropicEvent{"ping", []byte(`{"type": "ping"}`)})
		}
		for _, c := range blk.citations {
			add("content_block_delta", map[string]any{"index": i, "delta": map[string]any{"type": "citations_delta", "citation": c}})
		}
		if blk.deltaType != "" {
			for _, piece := range blk.pieces {
				add("content_block_delta", map[string]any{"index": i, "delta": map[string]any{"type": blk.deltaType, blk.deltaKey: piece}})
			}
		}
		if blk.signature != "" {
			add("content_block_delta", map[string]any{"index": i, "delta": map[string]any{"type": "signature_delta", "signature": blk.signature}})
		}
		add("content_block_stop", map[string]any{"index": i})
	}
	var seq any
	if a.stopSeq != "" {
		seq = a.stopSeq
	}
	add("message_delta", map[string]any{"delta": map[string]any{"stop_reason": a.stopReason, "stop_sequence": seq},
		"usage": json.RawMessage(a.usageJSON())})
	stop := map[string]any{}
	for k, v := range stopExtra {
		stop[k] = v
	}
	add("message_stop", stop)
	return evs
}

// claudePrompt validates a Messages body as Anthropic's API does and reduces it
// to a Prompt; msg is the invalid_request_error message of a body the API would
// refuse. model, when set, is the model a cloud takes from the path instead of
// the body. Clouds that take the version in the body validate as API version
// 2023-06-01 does.
func claudePrompt(body []byte, model, version string) (*anthropicRequest, *Prompt, string) {
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, "There was an issue with the format or content of your request: " + err.Error()
	}
	if model != "" {
		req.Model = model
	}
	p, msg := (&anthropicHandler{}).prompt(&req, version)
	return &req, p, msg
}

// betaFlags splits anthropic-beta header values.
func betaFlags(values []string) []string {
	var out []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// writeClaudeSSE streams events as Anthropic does, applying the fault: CutAfter
// ends the stream after that many events, with Anthropic's "error" event when
// the fault has a status (e.g. 529 → overloaded_error mid-stream).
func writeClaudeSSE(w http.ResponseWriter, r *http.Request, b *Backend, requestID string, events []anthropicEvent, f Fault) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Request-Id", requestID)
	w.WriteHeader(http.StatusOK)
	fw := newFlushWriter(w)
	if f.CutAfter < 0 {
		_ = fw.rc.Flush()
		return
	}
	for i, ev := range events {
		if f.CutAfter > 0 && i >= f.CutAfter {
			if f.Status != 0 {
				typ, msg := anthropicFaultError(f)
				_ = fw.event("error", mustJSON(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}))
			}
			return
		}
		if i > 0 && f.ChunkDelay > 0 && !sleep(r.Context(), f.ChunkDelay) {
			b.noteCanceled()
			return
		}
		if fw.event(ev.name, ev.data) != nil {
			b.noteCanceled()
			return
		}
	}
}

// bodyVersion reads the anthropic_version of a cloud that takes it in the body:
// the cloud's own value (validated as API version 2023-06-01), or an Anthropic
// API version date, validated as that version.
func bodyVersion(v, cloud string) (string, bool) {
	switch {
	case v == cloud:
		return "2023-06-01", true
	case len(v) == len("2006-01-02") && v[4] == '-' && v[7] == '-':
		return v, true
	}
	return "", false
}
