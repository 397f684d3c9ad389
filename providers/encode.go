package providers

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Finish reasons in OpenAI terms, the canonical ones every translator maps to.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// NewID returns prefix followed by 24 random hex digits, e.g. "chatcmpl-…".
func NewID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// EncodeCompletion is a translated response in OpenAI's chat.completion format.
func EncodeCompletion(r *ChatResponse) ([]byte, error) {
	if r.Object == "" {
		r.Object = "chat.completion"
	}
	return json.Marshal(r)
}

// StreamEncoder writes chat.completion.chunk JSON for translated streams, by hand
// into one reused buffer: a translated chunk costs no allocation once the buffer has
// grown. Each returned slice is valid until the next call.
type StreamEncoder struct {
	prefix []byte // {"id":"…","object":"chat.completion.chunk","created":…,"model":"…"
	buf    []byte
}

// NewStreamEncoder starts the chunks of one response.
func NewStreamEncoder(id, model string, created int64) *StreamEncoder {
	p := make([]byte, 0, 128)
	p = append(p, `{"id":`...)
	p = AppendJSONString(p, id)
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, created, 10)
	p = append(p, `,"model":`...)
	p = AppendJSONString(p, model)
	// buf grows to the largest chunk: an idle stream holds it for its whole life.
	return &StreamEncoder{prefix: p}
}

func (e *StreamEncoder) start() {
	e.buf = append(e.buf[:0], e.prefix...)
	e.buf = append(e.buf, `,"choices":[{"index":0,"delta":{`...)
}

func (e *StreamEncoder) end(finish string) []byte {
	e.buf = append(e.buf, `},"finish_reason":`...)
	if finish == "" {
		e.buf = append(e.buf, "null"...)
	} else {
		e.buf = AppendJSONString(e.buf, finish)
	}
	e.buf = append(e.buf, "}]}"...)
	return e.buf
}

// Role is the first chunk: {"role":"assistant","content":""}.
func (e *StreamEncoder) Role() []byte {
	e.start()
	e.buf = append(e.buf, `"role":"assistant","content":""`...)
	return e.end("")
}

// Text is a content delta.
func (e *StreamEncoder) Text(s string) []byte {
	e.start()
	e.buf = append(e.buf, `"content":`...)
	e.buf = AppendJSONString(e.buf, s)
	return e.end("")
}

// Reasoning is a reasoning_content delta.
func (e *StreamEncoder) Reasoning(s string) []byte {
	e.start()
	e.buf = append(e.buf, `"reasoning_content":`...)
	e.buf = AppendJSONString(e.buf, s)
	return e.end("")
}

// Thinking is a finished thinking block, whole (text and signature, or a redacted
// block's data), sent once the block ends so that a client accumulating the
// message holds blocks it can send back as they came.
func (e *StreamEncoder) Thinking(b ThinkingBlock) []byte {
	e.start()
	e.buf = append(e.buf, `"thinking_blocks":[`...)
	e.buf = AppendThinkingBlock(e.buf, b)
	e.buf = append(e.buf, ']')
	return e.end("")
}

// AppendThinkingBlock writes one thinking block as the thinking_blocks field
// holds it: "thinking" always carries its text (which may be empty), as
// Anthropic requires it back.
func AppendThinkingBlock(b []byte, t ThinkingBlock) []byte {
	b = append(b, `{"type":`...)
	b = AppendJSONString(b, t.Type)
	if t.Type == "thinking" {
		b = append(b, `,"thinking":`...)
		b = AppendJSONString(b, t.Thinking)
	}
	if t.Signature != "" {
		b = append(b, `,"signature":`...)
		b = AppendJSONString(b, t.Signature)
	}
	if t.Data != "" {
		b = append(b, `,"data":`...)
		b = AppendJSONString(b, t.Data)
	}
	return append(b, '}')
}

// ToolCallStart opens tool call index with its id and function name.
func (e *StreamEncoder) ToolCallStart(index int, id, name string) []byte {
	e.start()
	e.buf = append(e.buf, `"tool_calls":[{"index":`...)
	e.buf = strconv.AppendInt(e.buf, int64(index), 10)
	e.buf = append(e.buf, `,"id":`...)
	e.buf = AppendJSONString(e.buf, id)
	e.buf = append(e.buf, `,"type":"function","function":{"name":`...)
	e.buf = AppendJSONString(e.buf, name)
	e.buf = append(e.buf, `,"arguments":""}}]`...)
	return e.end("")
}

// ToolCallArgs is a fragment of tool call index's JSON arguments.
func (e *StreamEncoder) ToolCallArgs(index int, fragment string) []byte {
	e.start()
	e.buf = append(e.buf, `"tool_calls":[{"index":`...)
	e.buf = strconv.AppendInt(e.buf, int64(index), 10)
	e.buf = append(e.buf, `,"function":{"arguments":`...)
	e.buf = AppendJSONString(e.buf, fragment)
	e.buf = append(e.buf, `}}]`...)
	return e.end("")
}

// Finish is the chunk with an empty delta and the finish reason.
func (e *StreamEncoder) Finish(reason string) []byte {
	e.start()
	return e.end(reason)
}

// Usage is the final chunk: empty choices and the usage.
func (e *StreamEncoder) Usage(u Usage) []byte {
	e.buf = append(e.buf[:0], e.prefix...)
	e.buf = append(e.buf, `,"choices":[],"usage":{"prompt_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, int64(u.PromptTokens), 10)
	e.buf = append(e.buf, `,"completion_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, int64(u.CompletionTokens), 10)
	e.buf = append(e.buf, `,"total_tokens":`...)
	e.buf = strconv.AppendInt(e.buf, int64(u.TotalTokens), 10)
	e.buf = AppendUsageDetails(e.buf, u)
	e.buf = append(e.buf, "}}"...)
	return e.buf
}

// AppendUsageDetails writes the usage's detail members, after its counts:
// prompt_tokens_details (cached_tokens always, cache_write_tokens when there
// were writes) and completion_tokens_details when reasoning tokens are known.
func AppendUsageDetails(b []byte, u Usage) []byte {
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CachedTokens()), 10)
	if n := u.CacheWriteTokens(); n > 0 {
		b = append(b, `,"cache_write_tokens":`...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	b = append(b, '}')
	if n := u.ReasoningTokens(); n > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '}')
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, escaping as encoding/json does
// (without its HTML escaping, which no API client needs). Invalid UTF-8 becomes
// U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
