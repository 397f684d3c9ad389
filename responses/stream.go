package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// StreamBuilder turns one streamed chat completion (the chat.completion.chunk JSON
// the executor relays) into the Responses event stream: response.created and
// response.in_progress (Start), then per chunk the output item, content part, text,
// refusal and function call argument events, and response.completed (or
// response.incomplete) with the whole Response (Finish), or response.failed (Fail).
// Every event carries sequence_number, from 0, and is framed as
// "event: <type>\ndata: <json>\n\n", as the API streams them.
//
// Items: the assistant text is one message item with an output_text part (a
// refusal gets a refusal part); each tool call is its own function_call item, with
// its own output_index. The message is done when the first tool call starts (text
// after tool calls opens a new message); tool calls are done when the stream ends,
// so interleaved argument deltas of parallel calls, which some upstreams send,
// stay consistent.
//
// Text and arguments are kept as the escaped JSON string bodies they arrive as: a
// delta is copied into its event without decoding and re-encoding, and a chunk
// costs no allocation once the buffers have grown. The returned bytes are valid
// until the next call. A StreamBuilder is not safe for concurrent use.
type StreamBuilder struct {
	base   *Response
	seq    int64
	out    []byte
	items  []*streamItem // in output_index order
	msg    *streamItem   // the open message, nil when none
	rs     *streamItem   // the open reasoning item, nil when none
	calls  []*streamItem // by the chat tool call index
	finish string
	usage  *providers.Usage
	ended  bool
	final  *Response
	// scratch holds a sanitised delta (invalid UTF-8 replaced).
	scratch []byte
}

type streamItem struct {
	call bool
	// a reasoning item (stream_reasoning.go): its summary text, an escaped JSON
	// string body, and its thinking blocks
	reasoning bool
	summary   []byte
	blocks    []providers.ThinkingBlock
	id        string
	index     int
	closed    bool
	status    string // set when closed
	// a message: its parts, the last one open until the message closes
	parts []streamPart
	// a function call; args is an escaped JSON string body
	callID, name string
	args         []byte
}

type streamPart struct {
	refusal bool
	body    []byte // escaped JSON string body
}

// NewStreamBuilder starts the events of the response base (in_progress, its id and
// echoed settings; see NewResponse). base is not modified.
func NewStreamBuilder(base *Response) *StreamBuilder {
	return &StreamBuilder{base: base, out: make([]byte, 0, 1024)}
}

// errEnded is returned for chunks after Finish or Fail.
var errEnded = errors.New("responses: stream already ended")

// Start returns response.created and response.in_progress.
func (b *StreamBuilder) Start() []byte {
	b.out = b.out[:0]
	body, _ := json.Marshal(b.base) // a Response always encodes
	for _, typ := range [2]string{"response.created", "response.in_progress"} {
		b.begin(typ)
		b.out = append(b.out, `,"response":`...)
		b.out = append(b.out, body...)
		b.end()
	}
	return b.out
}

// Chunk consumes one chat.completion.chunk and returns the events it produces
// (none for a role-only or usage chunk). A chunk that is not a JSON object is an
// error, never a panic; the stream can still be failed with Fail.
func (b *StreamBuilder) Chunk(data []byte) ([]byte, error) {
	b.out = b.out[:0]
	if b.ended {
		return nil, errEnded
	}
	if !json.Valid(data) {
		return nil, errors.New("responses: upstream chunk is not valid JSON")
	}
	var choices, usage []byte
	err := jsonfield.Each(data, func(k, v []byte) bool {
		switch string(k) {
		case "choices":
			choices = v
		case "usage":
			usage = v
		}
		return true
	})
	if err != nil {
		return nil, errors.New("responses: upstream chunk is not a JSON object")
	}
	if len(choices) > 0 && choices[0] == '[' {
		err = jsonfield.EachElement(choices, func(c []byte) bool {
			b.choice(c)
			return true
		})
		if err != nil {
			return nil, errors.New("responses: upstream chunk has malformed choices")
		}
	}
	if len(usage) > 0 && usage[0] == '{' {
		b.readUsage(usage)
	}
	return b.out, nil
}

// choice reads one choice; only the first (index 0) exists for the Responses API.
func (b *StreamBuilder) choice(c []byte) {
	var delta, finish []byte
	index := 0
	_ = jsonfield.Each(c, func(k, v []byte) bool {
		switch string(k) {
		case "index":
			index = jsonIndex(v)
		case "delta":
			delta = v
		case "finish_reason":
			finish = v
		}
		return true
	})
	if index != 0 {
		return
	}
	if len(delta) > 0 && delta[0] == '{' {
		_ = jsonfield.Each(delta, func(k, v []byte) bool {
			switch string(k) {
			case "content":
				b.text(stringBody(v), false)
			case "refusal":
				b.text(stringBody(v), true)
			case "reasoning_content":
				b.reasoningText(stringBody(v))
			case "thinking_blocks":
				b.thinkingBlocks(v)
			case "tool_calls":
				if len(v) > 0 && v[0] == '[' {
					_ = jsonfield.EachElement(v, func(tc []byte) bool {
						b.toolCall(tc)
						return true
					})
				}
			}
			return true
		})
	}
	if s := stringBody(finish); len(s) > 0 {
		// Finish reasons are plain ASCII words: the conversion is the only copy.
		b.finish = string(s)
	}
}

// text appends a text or refusal delta to the open message, opening the message or
// a new part as needed.
func (b *StreamBuilder) text(body []byte, refusal bool) {
	if len(body) == 0 {
		return
	}
	body = b.sanitize(body)
	b.closeReasoning(StatusCompleted)
	m := b.msg
	if m == nil {
		m = &streamItem{id: newItemID(prefixMessage, b.base.ID), index: len(b.items)}
		b.items = append(b.items, m)
		b.msg = m
		b.begin("response.output_item.added")
		b.outputIndex(m)
		b.out = append(b.out, `,"item":{"id":`...)
		b.out = providers.AppendJSONString(b.out, m.id)
		b.out = append(b.out, `,"type":"message","status":"in_progress","role":"assistant","content":[]}`...)
		b.end()
	}
	if n := len(m.parts); n == 0 || m.parts[n-1].refusal != refusal {
		if n > 0 {
			b.closePart(m, n-1)
		}
		m.parts = append(m.parts, streamPart{refusal: refusal})
		b.begin("response.content_part.added")
		b.partRef(m, len(m.parts)-1)
		b.out = append(b.out, `,"part":`...)
		b.appendPart(&m.parts[len(m.parts)-1])
		b.end()
	}
	p := &m.parts[len(m.parts)-1]
	p.body = append(p.body, body...)
	if refusal {
		b.begin("response.refusal.delta")
	} else {
		b.begin("response.output_text.delta")
	}
	b.partRef(m, len(m.parts)-1)
	b.out = append(b.out, `,"delta":"`...)
	b.out = append(b.out, body...)
	b.out = append(b.out, '"')
	if !refusal {
		b.out = append(b.out, `,"logprobs":[]`...)
	}
	b.end()
}

// toolCall reads one tool call delta: the first for an index opens its
// function_call item (closing the open message), later ones carry arguments.
func (b *StreamBuilder) toolCall(tc []byte) {
	index := -1
	var id, name, args []byte
	_ = jsonfield.Each(tc, func(k, v []byte) bool {
		switch string(k) {
		case "index":
			index = jsonIndex(v)
		case "id":
			id = stringBody(v)
		case "function":
			_ = jsonfield.Each(v, func(fk, fv []byte) bool {
				switch string(fk) {
				case "name":
					name = stringBody(fv)
				case "arguments":
					args = stringBody(fv)
				}
				return true
			})
		}
		return true
	})
	if index < 0 || index > 1<<10 {
		// Without an index there is no telling calls apart; chat streams always send it.
		return
	}
	for len(b.calls) <= index {
		b.calls = append(b.calls, nil)
	}
	c := b.calls[index]
	if c == nil {
		b.closeReasoning(StatusCompleted)
		b.closeMessage(StatusCompleted)
		c = &streamItem{call: true, id: newItemID(prefixCall, b.base.ID), index: len(b.items),
			callID: unescape(id), name: unescape(name)}
		if c.callID == "" {
			c.callID = newID(prefixCallID)
		}
		b.items = append(b.items, c)
		b.calls[index] = c
		b.begin("response.output_item.added")
		b.outputIndex(c)
		b.out = append(b.out, `,"item":`...)
		b.appendCall(c, StatusInProgress)
		b.end()
	} else if c.name == "" && len(name) > 0 {
		c.name = unescape(name)
	}
	if len(args) == 0 {
		return
	}
	args = b.sanitize(args)
	c.args = append(c.args, args...)
	b.begin("response.function_call_arguments.delta")
	b.out = append(b.out, `,"item_id":`...)
	b.out = providers.AppendJSONString(b.out, c.id)
	b.out = append(b.out, `,"output_index":`...)
	b.out = strconv.AppendInt(b.out, int64(c.index), 10)
	b.out = append(b.out, `,"delta":"`...)
	b.out = append(b.out, args...)
	b.out = append(b.out, `"`...)
	b.end()
}

func (b *StreamBuilder) readUsage(v []byte) {
	u := providers.Usage{}
	_ = jsonfield.Each(v, func(k, val []byte) bool {
		switch string(k) {
		case "prompt_tokens":
			u.PromptTokens = jsonIndex(val)
		case "completion_tokens":
			u.CompletionTokens = jsonIndex(val)
		case "total_tokens":
			u.TotalTokens = jsonIndex(val)
		case "prompt_tokens_details":
			if n := nestedInt(val, "cached_tokens"); n > 0 {
				u.PromptTokensDetails = &providers.PromptTokensDetails{CachedTokens: n}
			}
		case "completion_tokens_details":
			if n := nestedInt(val, "reasoning_tokens"); n > 0 {
				u.CompletionTokensDetails = &providers.CompletionTokensDetails{ReasoningTokens: n}
			}
		}
		return true
	})
	b.usage = &u
}

// Finish ends a stream that reached its end: open items are closed, and the events
// end with response.completed, or response.incomplete when the answer was cut by
// max_output_tokens or a content filter. It returns the events and the final
// Response (to store and to account). Calling it again returns no events and the
// same Response.
func (b *StreamBuilder) Finish() ([]byte, *Response) {
	ev, final, _ := b.FinishSaved(func(*Response) error { return nil })
	return ev, final
}

// NotStored is the error of a response that the gateway could not store.
const NotStored = "The response could not be stored (the gateway's state store is unavailable), so it could " +
	"be neither retrieved nor continued; try again."

// FinishSaved is Finish with the final Response handed to save before the terminal
// event is written. When save fails, the stream ends with response.failed (error
// code server_error, message NotStored) instead of response.completed, so that a
// client never holds the id of a response that does not exist; save's error is
// returned.
func (b *StreamBuilder) FinishSaved(save func(*Response) error) ([]byte, *Response, error) {
	b.out = b.out[:0]
	if b.ended {
		return nil, b.final, nil
	}
	status := StatusCompleted
	if b.finish == providers.FinishLength || b.finish == providers.FinishContentFilter {
		status = StatusIncomplete
	}
	for _, it := range b.items {
		switch {
		case it.call:
			b.closeCall(it, status)
		case it == b.msg:
			b.closeMessage(status)
		case it == b.rs:
			b.closeReasoning(status)
		}
	}
	final := b.snapshot(status)
	final.complete(b.finish, usageFromChat(b.usage), time.Now())
	if err := save(final); err != nil {
		final.Status, final.CompletedAt, final.IncompleteDetails = ResponseFailed, nil, nil
		final.Error = &ResponseError{Code: "server_error", Message: NotStored}
		b.terminal("response.failed", final)
		return b.out, final, err
	}
	typ := "response.completed"
	if final.Status == ResponseIncomplete {
		typ = "response.incomplete"
	}
	b.terminal(typ, final)
	return b.out, final, nil
}

// Fail ends a stream that broke after it was committed (the upstream failed or was
// cut): response.failed with the items so far, marked incomplete, and the error.
func (b *StreamBuilder) Fail(e *providers.Error) ([]byte, *Response) {
	b.out = b.out[:0]
	if b.ended {
		return nil, b.final
	}
	final := b.snapshot(StatusIncomplete)
	final.Usage = usageFromChat(b.usage)
	final.fail(e)
	b.terminal("response.failed", final)
	return b.out, final
}

func (b *StreamBuilder) terminal(typ string, final *Response) {
	b.ended, b.final = true, final
	body, _ := json.Marshal(final) // a Response always encodes
	b.begin(typ)
	b.out = append(b.out, `,"response":`...)
	b.out = append(b.out, body...)
	b.end()
}

// snapshot is the Response with the items so far; items still open get status.
func (b *StreamBuilder) snapshot(status string) *Response {
	r := *b.base
	r.Output = make([]Item, 0, len(b.items))
	for _, it := range b.items {
		st := status
		if it.closed {
			st = it.status
		}
		if it.call {
			r.Output = append(r.Output, Item{Type: ItemFunctionCall, ID: it.id, Status: st,
				CallID: it.callID, Name: it.name, Arguments: unescape(it.args)})
			continue
		}
		if it.reasoning {
			r.Output = append(r.Output, b.reasoningSnapshot(it, st))
			continue
		}
		m := Item{Type: ItemMessage, ID: it.id, Status: st, Role: "assistant", Content: make([]Part, 0, len(it.parts))}
		for _, p := range it.parts {
			typ := PartOutputText
			if p.refusal {
				typ = PartRefusal
			}
			m.Content = append(m.Content, Part{Type: typ, Text: unescape(p.body)})
		}
		r.Output = append(r.Output, m)
	}
	return &r
}

// closeMessage ends the open message: its last part, then the item.
func (b *StreamBuilder) closeMessage(status string) {
	m := b.msg
	if m == nil {
		return
	}
	b.msg = nil
	m.closed, m.status = true, status
	b.closePart(m, len(m.parts)-1)
	b.begin("response.output_item.done")
	b.outputIndex(m)
	b.out = append(b.out, `,"item":{"id":`...)
	b.out = providers.AppendJSONString(b.out, m.id)
	b.out = append(b.out, `,"type":"message","status":`...)
	b.out = providers.AppendJSONString(b.out, status)
	b.out = append(b.out, `,"role":"assistant","content":[`...)
	for i := range m.parts {
		if i > 0 {
			b.out = append(b.out, ',')
		}
		b.appendPart(&m.parts[i])
	}
	b.out = append(b.out, "]}"...)
	b.end()
}

// closePart emits the done events of part i: the text (or refusal), then the part.
func (b *StreamBuilder) closePart(m *streamItem, i int) {
	p := &m.parts[i]
	if p.refusal {
		b.begin("response.refusal.done")
		b.partRef(m, i)
		b.out = append(b.out, `,"refusal":"`...)
		b.out = append(b.out, p.body...)
		b.out = append(b.out, '"')
	} else {
		b.begin("response.output_text.done")
		b.partRef(m, i)
		b.out = append(b.out, `,"text":"`...)
		b.out = append(b.out, p.body...)
		b.out = append(b.out, `","logprobs":[]`...)
	}
	b.end()
	b.begin("response.content_part.done")
	b.partRef(m, i)
	b.out = append(b.out, `,"part":`...)
	b.appendPart(p)
	b.end()
}

func (b *StreamBuilder) closeCall(c *streamItem, status string) {
	if c.closed {
		return
	}
	c.closed, c.status = true, status
	b.begin("response.function_call_arguments.done")
	b.out = append(b.out, `,"item_id":`...)
	b.out = providers.AppendJSONString(b.out, c.id)
	b.out = append(b.out, `,"output_index":`...)
	b.out = strconv.AppendInt(b.out, int64(c.index), 10)
	b.out = append(b.out, `,"arguments":"`...)
	b.out = append(b.out, c.args...)
	b.out = append(b.out, '"')
	b.end()
	b.begin("response.output_item.done")
	b.outputIndex(c)
	b.out = append(b.out, `,"item":`...)
	b.appendCall(c, status)
	b.end()
}

func (b *StreamBuilder) appendCall(c *streamItem, status string) {
	b.out = append(b.out, `{"id":`...)
	b.out = providers.AppendJSONString(b.out, c.id)
	b.out = append(b.out, `,"type":"function_call","status":`...)
	b.out = providers.AppendJSONString(b.out, status)
	b.out = append(b.out, `,"arguments":"`...)
	b.out = append(b.out, c.args...)
	b.out = append(b.out, `","call_id":`...)
	b.out = providers.AppendJSONString(b.out, c.callID)
	b.out = append(b.out, `,"name":`...)
	b.out = providers.AppendJSONString(b.out, c.name)
	b.out = append(b.out, '}')
}

func (b *StreamBuilder) appendPart(p *streamPart) {
	if p.refusal {
		b.out = append(b.out, `{"type":"refusal","refusal":"`...)
		b.out = append(b.out, p.body...)
		b.out = append(b.out, `"}`...)
		return
	}
	b.out = append(b.out, `{"type":"output_text","annotations":[],"logprobs":[],"text":"`...)
	b.out = append(b.out, p.body...)
	b.out = append(b.out, `"}`...)
}

// begin opens an event: the SSE event line, then the JSON up to sequence_number.
func (b *StreamBuilder) begin(typ string) {
	b.out = append(b.out, "event: "...)
	b.out = append(b.out, typ...)
	b.out = append(b.out, "\ndata: {\"type\":\""...)
	b.out = append(b.out, typ...)
	b.out = append(b.out, `","sequence_number":`...)
	b.out = strconv.AppendInt(b.out, b.seq, 10)
	b.seq++
}

func (b *StreamBuilder) end() { b.out = append(b.out, "}\n\n"...) }

func (b *StreamBuilder) outputIndex(it *streamItem) {
	b.out = append(b.out, `,"output_index":`...)
	b.out = strconv.AppendInt(b.out, int64(it.index), 10)
}

// partRef writes item_id, output_index and content_index.
func (b *StreamBuilder) partRef(m *streamItem, part int) {
	b.out = append(b.out, `,"item_id":`...)
	b.out = providers.AppendJSONString(b.out, m.id)
	b.outputIndex(m)
	b.out = append(b.out, `,"content_index":`...)
	b.out = strconv.AppendInt(b.out, int64(part), 10)
}

// sanitize returns body, an escaped JSON string body from a valid JSON document,
// re-encoded when it holds invalid UTF-8 (which JSON decoders would reject or
// replace), so that what the client reads is what the final Response holds.
func (b *StreamBuilder) sanitize(body []byte) []byte {
	if utf8.Valid(body) {
		return body
	}
	b.scratch = providers.AppendJSONString(b.scratch[:0], unescape(body))
	return b.scratch[1 : len(b.scratch)-1]
}

// stringBody is the body of a JSON string value (without quotes), nil for null or
// any other type.
func stringBody(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return nil
	}
	return v[1 : len(v)-1]
}

// unescape decodes an escaped JSON string body.
func unescape(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body)
	}
	q := make([]byte, 0, len(body)+2)
	q = append(append(append(q, '"'), body...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(body)
	}
	return s
}

func nestedInt(obj []byte, key string) int {
	n := 0
	_ = jsonfield.Each(obj, func(k, v []byte) bool {
		if string(k) == key {
			n = jsonIndex(v)
			return false
		}
		return true
	})
	return n
}

// jsonIndex reads a non-negative JSON integer; anything else is 0.
func jsonIndex(v []byte) int { return max(jsonstr.Index(v), 0) }
