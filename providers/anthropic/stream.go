package anthropic

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/sse"
)

// The Messages API stream (https://platform.claude.com/docs/en/build-with-claude/streaming):
// message_start, then per content block content_block_start, content_block_delta...,
// content_block_stop, then message_delta (stop_reason, cumulative usage) and
// message_stop; ping anywhere; error for a failure after the 200. New event and
// delta types may appear within an API version ("handle unknown event types
// gracefully"), so they are skipped.

// maxBlocks bounds the content block index a stream may use; a real message has a
// handful of blocks, and the bound keeps a hostile index from growing memory.
const maxBlocks = 4096

type blockKind uint8

const (
	kindOther blockKind = iota // thinking, server tools: not shown to the client
	kindText
	kindTool
	kindJSON // the json_response tool: its input is the answer's text
	kindThinking
)

type blockState struct {
	kind blockKind
	tool int // the OpenAI tool call index of a kindTool block
	// thinking accumulates a thinking block (thinking.go), sent whole at its end.
	thinking *providers.ThinkingBuilder
}

// stream translates one Messages API stream into chat.completion.chunks.
type stream struct {
	body io.ReadCloser
	r    *sse.Reader
	tr   translation
	enc  *providers.StreamEncoder

	blocks []blockState // by Anthropic content block index
	// tools counts the client tool calls so far: OpenAI's index numbers tool calls,
	// not content blocks (a text block usually comes first).
	tools int
	usage usage
	// finish is the OpenAI finish reason, once message_delta said it.
	finish     string
	finishSent bool
	stopped    bool // message_stop seen: the usage chunk is next
	done       bool
	out        providers.Usage // what Chunk.Usage points to
	str        []byte          // unescaped string buffer, reused
}

func newStream(body io.ReadCloser, tr translation) *stream {
	return &stream{body: body, r: sse.NewReader(body), tr: tr}
}

func (s *stream) Recv() (providers.Chunk, error) {
	for {
		switch {
		case s.done:
			return providers.Chunk{}, io.EOF
		case s.stopped && !s.finishSent:
			// message_stop without message_delta: still close the choice.
			s.finishSent = true
			return providers.Chunk{Data: s.enc.Finish(orStop(s.finish))}, nil
		case s.stopped:
			s.done = true
			s.out = s.usage.canonical()
			return providers.Chunk{Data: s.enc.Usage(s.out), Usage: &s.out, UsageOnly: true}, nil
		}
		ev, err := s.r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return providers.Chunk{}, &providers.Error{Class: providers.ClassConnection,
					Err: providers.ErrTruncated, Message: providers.ErrTruncated.Error()}
			}
			return providers.Chunk{}, providers.AsError(err)
		}
		data, ok, err := s.event(ev.Name, ev.Data)
		if err != nil {
			return providers.Chunk{}, err
		}
		if ok {
			return providers.Chunk{Data: data}, nil
		}
	}
}

func (s *stream) Close() error { return s.body.Close() }

// event translates one event; ok is false for events that make no chunk.
func (s *stream) event(name, data []byte) (chunk []byte, ok bool, err error) {
	if len(name) == 0 {
		// Every Anthropic event is named; the data's "type" says the same.
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &t) != nil {
			return nil, false, malformed(nil)
		}
		name = []byte(t.Type)
	}
	switch string(name) {
	case "content_block_delta":
		if s.enc == nil {
			return nil, false, outOfOrder()
		}
		return s.delta(data)
	case "ping":
		return nil, false, nil
	case "content_block_stop":
		if s.enc == nil {
			return nil, false, outOfOrder()
		}
		return s.blockStop(data)
	case "message_start":
		return s.start(data)
	case "content_block_start":
		if s.enc == nil {
			return nil, false, outOfOrder()
		}
		return s.blockStart(data)
	case "message_delta":
		if s.enc == nil {
			return nil, false, outOfOrder()
		}
		return s.messageDelta(data)
	case "message_stop":
		if s.enc == nil {
			return nil, false, outOfOrder()
		}
		s.stopped = true
		return nil, false, nil
	case "error":
		return nil, false, parseError(0, data)
	}
	return nil, false, nil
}

func (s *stream) start(data []byte) ([]byte, bool, error) {
	var ev struct {
		Message struct {
			ID    string `json:"id"`
			Model string `json:"model"`
			Usage usage  `json:"usage"`
		} `json:"message"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, malformed(err)
	}
	if s.enc != nil {
		return nil, false, malformed(errors.New("second message_start"))
	}
	s.usage = ev.Message.Usage
	s.enc = providers.NewStreamEncoder(ev.Message.ID, ev.Message.Model, time.Now().Unix())
	return s.enc.Role(), true, nil
}

func (s *stream) blockStart(data []byte) ([]byte, bool, error) {
	var ev struct {
		Index        int `json:"index"`
		ContentBlock struct {
			Type string `json:"type"`
			Text string `json:"text"`
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"content_block"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, malformed(err)
	}
	b, err := s.block(ev.Index)
	if err != nil {
		return nil, false, err
	}
	switch cb := ev.ContentBlock; cb.Type {
	case "thinking", "redacted_thinking":
		return s.thinkingStart(b, data)
	case "text":
		b.kind = kindText
		if cb.Text != "" {
			return s.enc.Text(cb.Text), true, nil
		}
	case "tool_use":
		if s.tr.jsonTool && cb.Name == jsonToolName {
			b.kind = kindJSON
			return nil, false, nil
		}
		b.kind, b.tool = kindTool, s.tools
		s.tools++
		return s.enc.ToolCallStart(b.tool, cb.ID, cb.Name), true, nil
	default:
		b.kind = kindOther
	}
	return nil, false, nil
}

// block returns the state of content block i, growing the table as blocks open.
func (s *stream) block(i int) (*blockState, error) {
	if i < 0 || i >= maxBlocks {
		return nil, malformed(errors.New("content block index out of range"))
	}
	for len(s.blocks) <= i {
		s.blocks = append(s.blocks, blockState{})
	}
	return &s.blocks[i], nil
}

// delta is the hot path: one content_block_delta, read with jsonfield and a reused
// buffer instead of a decode into maps or structs.
func (s *stream) delta(data []byte) ([]byte, bool, error) {
	index := -1
	var delta []byte
	err := jsonfield.Each(data, func(k, v []byte) bool {
		switch string(k) {
		case "index":
			index = jsonstr.Index(v)
		case "delta":
			delta = v
		}
		return true
	})
	if err != nil || delta == nil {
		return nil, false, malformed(err)
	}
	var typ, val []byte
	err = jsonfield.Each(delta, func(k, v []byte) bool {
		switch string(k) {
		case "type":
			typ = v
		case "text", "partial_json", "thinking", "signature":
			val = v
		}
		return true
	})
	if err != nil {
		return nil, false, malformed(err)
	}
	switch string(typ) {
	case `"text_delta"`, `"input_json_delta"`:
	case `"thinking_delta"`, `"signature_delta"`:
		return s.thinkingDelta(index, string(typ) == `"signature_delta"`, val)
	default:
		return nil, false, nil // citation deltas
	}
	b, err := s.block(index)
	if err != nil {
		return nil, false, err
	}
	text, err := s.unquote(val)
	if err != nil {
		return nil, false, malformed(err)
	}
	if text == "" {
		return nil, false, nil // Anthropic opens tool input with an empty fragment
	}
	if string(typ) == `"text_delta"` {
		return s.enc.Text(text), true, nil
	}
	switch b.kind {
	case kindTool:
		return s.enc.ToolCallArgs(b.tool, text), true, nil
	case kindJSON:
		return s.enc.Text(text), true, nil
	}
	return nil, false, malformed(errors.New("input_json_delta outside a tool_use block"))
}

func (s *stream) messageDelta(data []byte) ([]byte, bool, error) {
	var ev struct {
		Delta struct {
			StopReason string `json:"stop_reason"`
		} `json:"delta"`
		// Cumulative counts; input and cache counts are repeated here by newer API
		// versions (MessageDeltaUsage) and kept from message_start otherwise.
		Usage struct {
			InputTokens              *int `json:"input_tokens"`
			OutputTokens             *int `json:"output_tokens"`
			CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, malformed(err)
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.usage.InputTokens, ev.Usage.InputTokens)
	set(&s.usage.OutputTokens, ev.Usage.OutputTokens)
	set(&s.usage.CacheCreationInputTokens, ev.Usage.CacheCreationInputTokens)
	set(&s.usage.CacheReadInputTokens, ev.Usage.CacheReadInputTokens)
	s.finish = finishReason(ev.Delta.StopReason)
	if s.finish == providers.FinishToolCalls && s.tools == 0 {
		s.finish = providers.FinishStop // only the json_response tool answered
	}
	if s.finishSent {
		return nil, false, nil
	}
	s.finishSent = true
	return s.enc.Finish(s.finish), true, nil
}

func orStop(finish string) string {
	if finish == "" {
		return providers.FinishStop
	}
	return finish
}

var errBadString = errors.New("malformed JSON string")

// unquote decodes a raw JSON string value, through the stream's reused buffer when
// it has escapes.
func (s *stream) unquote(v []byte) (string, error) {
	out, buf, ok := jsonstr.Decode(s.str, v)
	s.str = buf
	if !ok {
		return "", errBadString
	}
	return string(out), nil
}

func malformed(err error) *providers.Error {
	return &providers.Error{Class: providers.ClassDecode, Err: err, Message: "upstream sent a malformed stream event"}
}

func outOfOrder() *providers.Error {
	return malformed(errors.New("stream event before message_start"))
}
