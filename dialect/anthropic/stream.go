package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/switchyard/switchyard/providers"
)

// The stream translation: a canonical stream (chat.completion.chunks from a
// target that does not speak Messages) into the events Anthropic sends
// (https://platform.claude.com/docs/en/build-with-claude/streaming):
//
//	message_start
//	content_block_start (index 0), ping, content_block_delta..., content_block_stop
//	content_block_start (index 1), content_block_delta..., content_block_stop
//	...
//	message_delta (stop_reason, stop_sequence, usage)
//	message_stop
//
// Blocks open in order, one at a time, each closed before the next opens, with
// indexes 0, 1, 2... as the official SDKs require: reasoning deltas make a
// thinking block (thinking_delta, then signature_delta when the target sends the
// block's signature), text and refusal deltas a text block (text_delta), each
// tool call its own tool_use block (input_json_delta with the argument
// fragments) even when several calls stream in one chunk.
//
// Usage: message_start must come before the first content, while a canonical
// stream reports usage at its end. message_start therefore carries the input
// tokens the caller estimated (StreamOptions.InputTokens) and output_tokens 0;
// the final message_delta carries the exact counts the target reported (input,
// cache read, cache creation, output), which the SDKs' accumulators take over
// message_start's (Anthropic's own message_delta repeats them the same way).

// StreamOptions name a translated stream.
type StreamOptions struct {
	// ID is the message id; empty makes a new "msg_…" one.
	ID string
	// Model is the model the client named (the alias).
	Model string
	// InputTokens is message_start's input_tokens: an estimate, as the target
	// reports usage only at the end (the final message_delta is exact).
	InputTokens int
}

type blockKind uint8

const (
	blockNone blockKind = iota
	blockText
	blockThinking
	blockTool
)

// maxToolCalls bounds the tool calls a stream may open: a real answer has a
// handful, and the bound keeps a hostile index from growing memory.
const maxToolCalls = 4096

// maxPending bounds the undecoded remainder Write keeps: one event.
const maxPending = 16 << 20

// StreamTranslator translates one canonical stream. It is not safe for
// concurrent use; each returned slice is valid until the next call.
type StreamTranslator struct {
	opts    StreamOptions
	out     []byte
	started bool
	done    bool

	kind     blockKind // the open block, blockNone between blocks
	index    int       // the open block's index
	next     int       // the next block's index
	text     bool      // the open thinking block has had a thinking_delta
	tools    map[int]int
	toolOpen int // the canonical index of the open tool block

	finish  string // the last finish_reason
	sawTool bool
	refused bool
	usage   *providers.Usage

	pending []byte // Write's undecoded remainder: an incomplete line
	data    []byte // the data lines of the event being read
}

// NewStreamTranslator starts the translation of one stream.
func NewStreamTranslator(opts StreamOptions) *StreamTranslator {
	if opts.ID == "" {
		opts.ID = providers.NewID("msg_")
	}
	return &StreamTranslator{opts: opts, tools: map[int]int{}}
}

// Chunk translates one chat.completion.chunk JSON document into the events it
// makes, possibly none. A chunk that cannot be decoded is a decode error; the
// caller ends the stream with Fail.
func (t *StreamTranslator) Chunk(data []byte) ([]byte, error) {
	t.out = t.out[:0]
	if t.done {
		return nil, nil
	}
	var c providers.ChatChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, decodeError(err)
	}
	t.start()
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // one choice is asked for; others are not this message's
		}
		if err := t.delta(&ch.Delta); err != nil {
			return nil, err
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			t.finish = *ch.FinishReason
			t.closeBlock()
		}
	}
	if c.Usage != nil {
		u := *c.Usage
		t.usage = &u
	}
	return t.out, nil
}

// SetUsage sets the usage the final message_delta reports: the provider's own
// reading of the stream's usage, which carries what a chat.completion.chunk
// cannot (the cache writes Bedrock reports), over the chunk's.
func (t *StreamTranslator) SetUsage(u providers.Usage) {
	t.usage = &u
}

// Write translates raw OpenAI server-sent events (`data: {...}` lines, split
// anywhere: a network read's worth) and keeps the incomplete rest for the next
// call. data: [DONE] is skipped: Finish ends the stream.
func (t *StreamTranslator) Write(p []byte) ([]byte, error) {
	var all []byte
	t.pending = append(t.pending, p...)
	off := 0
	defer func() {
		// Keep the remainder at the start of the buffer, so that it does not
		// grow with the stream.
		t.pending = t.pending[:copy(t.pending, t.pending[off:])]
	}()
	for {
		i := bytes.IndexByte(t.pending[off:], '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(t.pending[off:off+i], []byte("\r"))
		off += i + 1
		out, err := t.line(line)
		if err != nil {
			return all, err
		}
		all = append(all, out...)
	}
	if len(t.pending)-off > maxPending || len(t.data) > maxPending {
		return all, decodeError(errors.New("a stream event longer than the limit"))
	}
	return all, nil
}

// line handles one SSE line: data accumulates, a blank line dispatches it.
func (t *StreamTranslator) line(line []byte) ([]byte, error) {
	if len(line) == 0 {
		if len(t.data) == 0 {
			return nil, nil
		}
		data := t.data
		t.data = t.data[:0]
		if string(bytes.TrimSpace(data)) == "[DONE]" {
			return nil, nil
		}
		out, err := t.Chunk(data)
		return bytes.Clone(out), err
	}
	if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
		v = bytes.TrimPrefix(v, []byte(" "))
		if len(t.data) > 0 {
			t.data = append(t.data, '\n')
		}
		t.data = append(t.data, v...)
	}
	return nil, nil // comments, event names, ids: nothing to translate
}

// Finish ends a stream that completed: the open block closes, message_delta
// carries the stop reason and the usage, message_stop follows.
func (t *StreamTranslator) Finish() []byte {
	t.out = t.out[:0]
	if t.done {
		return nil
	}
	t.start()
	t.closeBlock()
	b := t.event("message_delta")
	reason := stopReason(t.finish, t.sawTool)
	if t.refused && !t.sawTool {
		reason = StopRefusal
	}
	b = append(b, `,"delta":{"stop_reason":`...)
	b = providers.AppendJSONString(b, reason)
	b = append(b, `,"stop_sequence":null},"usage":`...)
	if t.usage != nil {
		u := usageOf(*t.usage)
		b = appendUsage(b, u)
	} else {
		b = append(b, `{"output_tokens":0}`...)
	}
	t.out = t.end(b)
	t.out = t.end(t.event("message_stop"))
	t.done = true
	return t.out
}

// Fail ends a stream that failed after it began with Anthropic's error event;
// the stream has no message_stop. Before anything was sent, the caller answers
// an HTTP error instead.
func (t *StreamTranslator) Fail(e *Error) []byte {
	t.out = t.out[:0]
	if t.done {
		return nil
	}
	t.done = true
	t.out = ErrorEvent(t.out, e)
	return t.out
}

// Started reports whether message_start was sent: from then on a failure is an
// error event, no longer an HTTP error.
func (t *StreamTranslator) Started() bool { return t.started }

func (t *StreamTranslator) start() {
	if t.started {
		return
	}
	t.started = true
	b := t.event("message_start")
	b = append(b, `,"message":{"id":`...)
	b = providers.AppendJSONString(b, t.opts.ID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = providers.AppendJSONString(b, t.opts.Model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = appendUsage(b, Usage{InputTokens: t.opts.InputTokens})
	b = append(b, '}')
	t.out = t.end(b)
}

func (t *StreamTranslator) delta(d *providers.Delta) error {
	if d.ReasoningContent != nil && *d.ReasoningContent != "" {
		t.open(blockThinking, `{"type":"thinking","thinking":"","signature":""}`)
		t.thinkingDelta(*d.ReasoningContent)
	}
	for _, tb := range d.ThinkingBlocks {
		t.thinkingBlock(tb)
	}
	if d.Content != nil && *d.Content != "" {
		t.textDelta(*d.Content)
	}
	if d.Refusal != nil && *d.Refusal != "" {
		t.textDelta(*d.Refusal)
		t.refused = true
	}
	for i := range d.ToolCalls {
		if err := t.toolCall(&d.ToolCalls[i], i); err != nil {
			return err
		}
	}
	return nil
}

func (t *StreamTranslator) textDelta(s string) {
	t.open(blockText, `{"type":"text","text":""}`)
	b := t.deltaEvent()
	b = append(b, `{"type":"text_delta","text":`...)
	b = providers.AppendJSONString(b, s)
	t.out = t.end(append(b, '}'))
}

func (t *StreamTranslator) thinkingDelta(s string) {
	t.text = true
	b := t.deltaEvent()
	b = append(b, `{"type":"thinking_delta","thinking":`...)
	b = providers.AppendJSONString(b, s)
	t.out = t.end(append(b, '}'))
}

// thinkingBlock handles a finished block the target sends whole: a thinking
// block's signature (its text, when no delta carried it), or a redacted block.
func (t *StreamTranslator) thinkingBlock(tb providers.ThinkingBlock) {
	if tb.Type == "redacted_thinking" {
		t.closeBlock()
		var start []byte
		start = append(start, `{"type":"redacted_thinking","data":`...)
		start = providers.AppendJSONString(start, tb.Data)
		t.open(blockThinking, string(append(start, '}')))
		t.closeBlock()
		return
	}
	t.open(blockThinking, `{"type":"thinking","thinking":"","signature":""}`)
	if !t.text && tb.Thinking != "" {
		t.thinkingDelta(tb.Thinking)
	}
	if tb.Signature != "" {
		b := t.deltaEvent()
		b = append(b, `{"type":"signature_delta","signature":`...)
		b = providers.AppendJSONString(b, tb.Signature)
		t.out = t.end(append(b, '}'))
	}
	t.closeBlock() // the signature ends the block
}

// toolCall handles one tool call delta; pos is its place in the chunk, the index
// when the target sends none.
func (t *StreamTranslator) toolCall(tc *providers.ToolCall, pos int) error {
	idx := pos
	if tc.Index != nil {
		idx = *tc.Index
	}
	block, seen := t.tools[idx]
	if !seen {
		if len(t.tools) >= maxToolCalls {
			return decodeError(errors.New("too many tool calls"))
		}
		id := tc.ID
		if id == "" {
			id = toolID(t.opts.ID, idx)
		}
		var start []byte
		start = append(start, `{"type":"tool_use","id":`...)
		start = providers.AppendJSONString(start, id)
		start = append(start, `,"name":`...)
		start = providers.AppendJSONString(start, tc.Function.Name)
		start = append(start, `,"input":{}}`...)
		t.closeBlock()
		t.open(blockTool, string(start))
		t.tools[idx] = t.index
		t.toolOpen = idx
		t.sawTool = true
	} else if t.kind != blockTool || t.toolOpen != idx || block != t.index {
		// A block that closed cannot reopen: the targets stream each call's
		// arguments before the next call begins.
		return decodeError(errors.New("tool call arguments after the call ended"))
	}
	if args := tc.Function.Arguments; args != "" {
		b := t.deltaEvent()
		b = append(b, `{"type":"input_json_delta","partial_json":`...)
		b = providers.AppendJSONString(b, args)
		t.out = t.end(append(b, '}'))
	}
	return nil
}

// open makes sure a block of kind is open, closing another one first.
func (t *StreamTranslator) open(kind blockKind, contentBlock string) {
	if t.kind == kind && kind != blockTool {
		return
	}
	t.closeBlock()
	t.kind, t.index, t.text = kind, t.next, false
	t.next++
	b := t.event("content_block_start")
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(t.index), 10)
	b = append(b, `,"content_block":`...)
	b = append(b, contentBlock...)
	t.out = t.end(b)
	if t.index == 0 {
		t.out = t.end(t.event("ping")) // Anthropic pings after the first block opens
	}
}

func (t *StreamTranslator) closeBlock() {
	if t.kind == blockNone {
		return
	}
	b := t.event("content_block_stop")
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(t.index), 10)
	t.out = t.end(b)
	t.kind = blockNone
}

// event starts an event named name: the SSE framing and {"type":name, the
// caller appends the other members; end closes both.
func (t *StreamTranslator) event(name string) []byte {
	b := append(t.out, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, name...)
	return append(b, '"')
}

func (t *StreamTranslator) end(b []byte) []byte {
	return append(b, "}\n\n"...)
}

// deltaEvent starts a content_block_delta of the open block; the caller
// appends the delta object, and end closes the event.
func (t *StreamTranslator) deltaEvent() []byte {
	b := t.event("content_block_delta")
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(t.index), 10)
	return append(b, `,"delta":`...)
}

func appendUsage(b []byte, u Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.InputTokens), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CacheCreationInputTokens), 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CacheReadInputTokens), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(u.OutputTokens), 10)
	return append(b, '}')
}
