package anthropic

import (
	"bytes"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// Head is what the gateway decides on, read from a Messages body without
// decoding the conversation: a native target gets the body as it came, so the
// whole decode (ParseRequest) waits until a target needs the translation or a
// budget needs the token estimate. Reading the head costs one pass over the
// bytes, without reflection (eachMember validates as it reads); the search for
// image blocks is a second, made only for a rule that asks.
type Head struct {
	Model  string
	Stream bool
	// MaxTokens is 0 when absent (a count_tokens request).
	MaxTokens int
	// Tools is set when the request offers at least one tool.
	Tools bool
	// messages is the raw conversation, searched for images when asked.
	messages []byte
	// layout locates model and stream in the body, for native targets' edit.
	layout jsonfield.Layout
	// noUnicodeEscape is set when no string of messages and system holds a \u
	// escape, so none an escaped surrogate: such text, valid UTF-8, means as
	// written what decoding and encoding it again would (chatBody).
	noUnicodeEscape bool
}

// messagesAt returns where the messages ReadHead read lie in body: ok is false
// for another body (one rewritten since), which nothing read here describes.
func (h *Head) messagesAt(body []byte) (at int, ok bool) {
	at = cap(body) - cap(h.messages)
	ok = len(h.messages) > 0 && at >= 0 && at+len(h.messages) <= len(body) && &body[at] == &h.messages[0]
	return at, ok
}

// Images reports whether a turn, or a tool result in one, holds an image block
// (a search of the conversation: ask only when a rule matches on images).
func (h *Head) Images() bool { return mentionsImage(h.messages) }

// ReadHead reads and checks the head of a Messages request (count false) or a
// count_tokens request (count true, max_tokens not required): a JSON object
// whose members are unambiguous (eachMember), a model, max_tokens of at least
// 1, messages as a list. Anything else is left to the target: the upstream
// validates what it takes natively, and the translation (ParseRequest) refuses
// what it cannot carry. The error is a 400 invalid_request_error naming the
// member.
func ReadHead(body []byte, count bool) (*Head, error) {
	var h Head
	var model, maxTokens, messages []byte
	var text jsonscan.Text
	err := eachMember(body, func(k, v []byte, t jsonscan.Text) error {
		h.layout.NoteEnd(body, v)
		switch string(k) {
		case "model":
			model = v
			h.layout.Note(body, k, v)
		case "max_tokens":
			maxTokens = v
		case "messages":
			messages = v
			text |= t
		case "system":
			text |= t
		case "stream":
			h.layout.Note(body, k, v)
			switch string(v) {
			case "true":
				h.Stream = true
			case "false", "null":
			default:
				return invalid("stream: Input should be a valid boolean")
			}
		case "tools":
			if err := jsonfield.EachElement(v, func([]byte) bool { h.Tools = true; return false }); err != nil && !isNull(v) {
				return invalid("tools: Input should be a valid list")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if model == nil || isNull(model) {
		return nil, invalid("model: Field required")
	}
	if h.Model, err = stringValue(model, "model"); err != nil {
		return nil, err
	}
	if h.Model == "" {
		return nil, invalid("model: Field required")
	}
	if maxTokens != nil && !isNull(maxTokens) {
		n, err := strconv.Atoi(string(maxTokens))
		if err != nil {
			return nil, invalid("max_tokens: Input should be a valid integer")
		}
		h.MaxTokens = n
	}
	if !count && h.MaxTokens < 1 {
		if maxTokens == nil || isNull(maxTokens) {
			return nil, invalid("max_tokens: Field required")
		}
		return nil, invalid("max_tokens: Input should be greater than or equal to 1")
	}
	switch {
	case messages == nil || isNull(messages):
		return nil, invalid("messages: Field required")
	case messages[0] != '[':
		return nil, invalid("messages: Input should be a valid list")
	}
	h.messages = messages
	h.noUnicodeEscape = text&jsonscan.HasUnicodeEscape == 0
	return &h, nil
}

// mentionsImage reports whether any object in v (valid JSON) has a "type"
// member whose value is "image", names and values read decoded (names in any
// case, as encoding/json matches them). It covers the
// image blocks of every turn and of tool results, and tool inputs that happen to
// hold such an object: an image any parser sees is one here, so that a rule on
// images cannot be passed by. One pass, the strings skipped by a vectorized
// search for their closing quote.
func mentionsImage(v []byte) bool {
	// "image" is written with those letters or with \u escapes: without either
	// (most requests), two vectorized searches decide.
	if !bytes.Contains(v, []byte("image")) && !bytes.Contains(v, []byte(`\u`)) {
		return false
	}
	for i := 0; ; {
		k := bytes.IndexByte(v[i:], '"')
		if k < 0 {
			return false
		}
		start := i + k
		end := stringEnd(v, start)
		i = end
		j := skipSpace(v, end)
		if j >= len(v) || v[j] != ':' || !nameIs(v[start+1:end-1], "type") {
			continue
		}
		if j = skipSpace(v, j+1); j < len(v) && v[j] == '"' {
			i = stringEnd(v, j)
			if stringIs(v[j:i], "image") {
				return true
			}
		}
	}
}

// stringEnd is the index after the JSON string that starts at v[i] (v is valid
// JSON, so the string ends).
func stringEnd(v []byte, i int) int {
	for j := i + 1; ; {
		q := j + bytes.IndexByte(v[j:], '"')
		run := 0
		for p := q - 1; p > i && v[p] == '\\'; p-- {
			run++
		}
		if run%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// nameIs reports whether the raw member name k decodes to name.
func nameIs(k []byte, name string) bool {
	// encoding/json, which decodes the blocks of a translated request, takes a
	// member whose name differs from a field's only by case ("Type") for it.
	if bytes.IndexByte(k, '\\') < 0 {
		return bytes.EqualFold(k, []byte(name))
	}
	out, ok := jsonstr.Unescape(nil, k)
	return ok && bytes.EqualFold(out, []byte(name))
}

// stringIs reports whether the raw JSON string v decodes to s.
func stringIs(v []byte, s string) bool {
	if string(v) == `"`+s+`"` {
		return true
	}
	c, ok := jsonstr.Contents(v)
	if !ok || bytes.IndexByte(c, '\\') < 0 {
		return false
	}
	out, ok := jsonstr.Unescape(nil, c)
	return ok && string(out) == s
}

func stringValue(v []byte, name string) (string, error) {
	out, ok := jsonstr.String(v)
	if !ok {
		return "", invalid("%s: Input should be a valid string", name)
	}
	return out, nil
}

func isNull(v []byte) bool { return string(v) == "null" }
