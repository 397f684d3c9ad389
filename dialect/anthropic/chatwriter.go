package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// The writer of chatBody: each Messages turn as chat messages, its text copied
// as written.

// chatWriter writes chat messages; every method reports false for what the fast
// path does not take.
type chatWriter struct {
	out    []byte
	n      int  // messages written
	images bool // an image part was written
	// noUnicodeEscape: no text holds a \u escape (Head.noUnicodeEscape).
	noUnicodeEscape bool
	blocks          []rawBlock
	compact         bytes.Buffer
}

// readBlocks reads an array of blocks depth levels below a turn's content into
// w.blocks, each member once, as quickBlock takes them.
func (w *chatWriter) readBlocks(arr []byte, depth int) ([]rawBlock, bool) {
	_, blocks, ok := w.readBlocksAt(arr, 0, depth)
	return blocks, ok
}

// readBlocksAt is readBlocks of the array that starts at b[i]; end is the
// index just past it.
func (w *chatWriter) readBlocksAt(b []byte, i, depth int) (end int, blocks []rawBlock, ok bool) {
	start := len(w.blocks)
	end, err := jsonfield.EachElementAt(b, i, func(v int) int {
		var rb rawBlock
		e := readBlockAt(&rb, b, v, depth)
		if e >= 0 {
			w.blocks = append(w.blocks, rb)
		}
		return e
	})
	return end, w.blocks[start:], err == nil
}

// open starts a message.
func (w *chatWriter) open(role string) {
	if w.n > 0 {
		w.out = append(w.out, ',')
	}
	w.n++
	w.out = append(w.out, `{"role":"`+role+`","content":`...)
}

// message writes the message of the conversation that starts at b[at], and
// returns the index just past it, or -1. Its blocks are read as its members
// are found, not stepped over first: the conversation's text is read once.
func (w *chatWriter) message(b []byte, at int) int {
	if b[at] != '{' {
		return -1
	}
	var role, content []byte
	var blocks []rawBlock
	w.blocks = w.blocks[:0]
	end, err := jsonfield.EachAt(b, at, func(k []byte, v int) int {
		var e int
		ok := false
		switch {
		case string(k) == "role" && role == nil && b[v] == '"':
			if e, ok = jsonfield.SkipAt(b, v); ok {
				role = b[v:e]
			}
		case string(k) == "content" && content == nil && b[v] == '"':
			if e, ok = jsonfield.SkipAt(b, v); ok {
				content = b[v:e]
			}
		case string(k) == "content" && content == nil && b[v] == '[':
			if e, blocks, ok = w.readBlocksAt(b, v, 0); ok {
				content = b[v:e]
			}
		}
		if !ok {
			return -1 // another member, one repeated, or a value of another type
		}
		return e
	})
	if err != nil {
		return -1
	}
	if content == nil {
		content = []byte(`""`)
	}
	var taken bool
	switch string(role) {
	case `"user"`:
		taken = w.user(content, blocks)
	case `"assistant"`:
		taken = w.assistant(content, blocks)
	case `"system"`:
		taken = w.system(content, blocks)
	}
	if !taken {
		return -1
	}
	return end
}

// system writes a system prompt, or nothing when it is empty; blocks are its
// blocks when content is an array.
func (w *chatWriter) system(content []byte, blocks []rawBlock) bool {
	if content[0] == '"' {
		text, ok := w.rawText(content)
		if ok && len(text) > 0 {
			w.open("system")
			w.out = append(w.out, content...)
			w.out = append(w.out, '}')
		}
		return ok
	}
	for _, b := range blocks {
		if string(b.typ) != `"text"` {
			return false
		}
	}
	if len(blocks) == 0 {
		return true
	}
	w.open("system")
	return w.parts(blocks) && w.end()
}

// user writes a user turn: its tool results as tool messages, then the rest.
func (w *chatWriter) user(content []byte, blocks []rawBlock) bool {
	if content[0] == '"' {
		if _, ok := w.rawText(content); !ok {
			return false
		}
		w.open("user")
		w.out = append(w.out, content...)
		return w.end()
	}
	parts := 0
	for _, b := range blocks {
		switch string(b.typ) {
		case `"tool_result"`:
			if !w.toolResult(b) {
				return false
			}
		case `"text"`, `"image"`, `"document"`:
			parts++
		default:
			return false
		}
	}
	if parts == 0 {
		return true
	}
	w.open("user")
	return w.parts(blocks) && w.end()
}

func (w *chatWriter) end() bool {
	w.out = append(w.out, '}')
	return true
}

// parts writes the text, image and document blocks of blocks as an array of
// content parts; it passes over the others.
func (w *chatWriter) parts(blocks []rawBlock) bool {
	w.out = append(w.out, '[')
	n := 0
	for _, b := range blocks {
		kind := string(b.typ)
		if kind != `"text"` && kind != `"image"` && kind != `"document"` {
			continue
		}
		if n++; n > 1 {
			w.out = append(w.out, ',')
		}
		var ok bool
		switch kind {
		case `"text"`:
			ok = w.textPart(b.text)
		case `"image"`:
			ok = w.imagePart(b.source)
		default:
			ok = w.documentPart(b.source)
		}
		if !ok || !w.cacheControl(b.cacheControl) {
			return false
		}
		w.out = append(w.out, '}')
	}
	w.out = append(w.out, ']')
	return true
}

// textPart opens {"type":"text","text":…}.
func (w *chatWriter) textPart(text []byte) bool {
	w.out = append(w.out, `{"type":"text"`...)
	if text == nil {
		return true
	}
	if _, ok := w.rawText(text); !ok {
		return false
	}
	w.out = append(w.out, `,"text":`...)
	w.out = append(w.out, text...)
	return true
}

// imagePart opens an image_url part: a base64 source as a data: URL, a url
// source as its URL.
func (w *chatWriter) imagePart(src []byte) bool {
	if src == nil {
		return false
	}
	typ, mediaType, data, url, ok := source(src)
	if !ok {
		return false
	}
	w.images = true
	w.out = append(w.out, `{"type":"image_url","image_url":{"url":"`...)
	switch string(typ) {
	case `"base64"`:
		mt, ok1 := w.rawText(mediaType)
		d, ok2 := w.rawText(data)
		if !ok1 || !ok2 || len(mt) == 0 || len(d) == 0 {
			return false
		}
		w.out = append(w.out, "data:"...)
		w.out = append(w.out, mt...)
		w.out = append(w.out, ";base64,"...)
		w.out = append(w.out, d...)
	case `"url"`:
		u, ok := w.rawText(url)
		if !ok || len(u) == 0 {
			return false
		}
		w.out = append(w.out, u...)
	default:
		return false
	}
	w.out = append(w.out, `"}`...)
	return true
}

// documentPart opens a plain-text document as a text part.
func (w *chatWriter) documentPart(src []byte) bool {
	if src == nil {
		return false
	}
	typ, _, data, _, ok := source(src)
	if !ok || string(typ) != `"text"` {
		return false
	}
	return w.textPart(data)
}

// cacheControl writes a part's cache_control, as the canonical request keeps
// it (its type and ttl).
func (w *chatWriter) cacheControl(v []byte) bool {
	if v == nil {
		return true
	}
	var cc CacheControl
	if json.Unmarshal(v, &cc) != nil {
		return false
	}
	w.out = append(w.out, `,"cache_control":{"type":`...)
	w.out = providers.AppendJSONString(w.out, cc.Type)
	if cc.TTL != "" {
		w.out = append(w.out, `,"ttl":`...)
		w.out = providers.AppendJSONString(w.out, cc.TTL)
	}
	w.out = append(w.out, '}')
	return true
}

// toolResult writes a tool_result as a tool message: its text (a string, or
// text blocks joined by newlines), after "Error: " when is_error is true.
func (w *chatWriter) toolResult(b rawBlock) bool {
	id, ok := w.rawText(b.toolUseID)
	if !ok || len(id) == 0 {
		return false
	}
	var blocks []rawBlock
	if b.content != nil && b.content[0] == '[' {
		if blocks, ok = w.readBlocks(b.content, 1); !ok {
			return false
		}
	}
	w.open("tool")
	if b.cacheControl != nil {
		w.out = append(w.out, `[{"type":"text","text":`...)
	}
	w.out = append(w.out, '"')
	if string(b.isError) == "true" {
		w.out = append(w.out, "Error: "...)
	}
	switch {
	case b.content == nil:
	case b.content[0] == '"':
		text, ok := w.rawText(b.content)
		if !ok {
			return false
		}
		w.out = append(w.out, text...)
	default:
		for k, rb := range blocks {
			text, ok := w.rawText(rb.text)
			if string(rb.typ) != `"text"` || rb.text != nil && !ok {
				return false
			}
			if k > 0 {
				w.out = append(w.out, `\n`...)
			}
			w.out = append(w.out, text...)
		}
	}
	w.out = append(w.out, '"')
	if b.cacheControl != nil {
		if !w.cacheControl(b.cacheControl) {
			return false
		}
		w.out = append(w.out, "}]"...)
	}
	w.out = append(w.out, `,"tool_call_id":`...)
	w.out = append(w.out, b.toolUseID...)
	return w.end()
}

// assistant writes an assistant turn: its text (parts when one is marked for
// the cache, else joined), tool calls and thinking blocks.
func (w *chatWriter) assistant(content []byte, blocks []rawBlock) bool {
	w.open("assistant")
	if content[0] == '"' {
		if _, ok := w.rawText(content); !ok {
			return false
		}
		w.out = append(w.out, content...)
		return w.end()
	}
	texts, cached, calls, thinking := 0, false, 0, 0
	for _, b := range blocks {
		switch string(b.typ) {
		case `"text"`:
			texts++
			cached = cached || b.cacheControl != nil
		case `"tool_use"`:
			calls++
		case `"thinking"`, `"redacted_thinking"`:
			thinking++
		default:
			return false
		}
	}
	switch {
	case cached:
		if !w.parts(blocks) {
			return false
		}
	case texts > 0:
		w.out = append(w.out, '"')
		for _, b := range blocks {
			if string(b.typ) != `"text"` || b.text == nil {
				continue
			}
			text, ok := w.rawText(b.text)
			if !ok {
				return false
			}
			w.out = append(w.out, text...)
		}
		w.out = append(w.out, '"')
	default:
		w.out = append(w.out, "null"...)
	}
	if calls > 0 && !w.toolCalls(blocks) {
		return false
	}
	if thinking > 0 && !w.thinkingBlocks(blocks) {
		return false
	}
	return w.end()
}

// toolCalls writes the tool_use blocks as tool_calls, each input compacted into
// its arguments string.
func (w *chatWriter) toolCalls(blocks []rawBlock) bool {
	w.out = append(w.out, `,"tool_calls":[`...)
	n := 0
	for _, b := range blocks {
		if string(b.typ) != `"tool_use"` {
			continue
		}
		id, ok1 := w.rawText(b.id)
		name, ok2 := w.rawText(b.name)
		if !ok1 || !ok2 || len(id) == 0 || len(name) == 0 {
			return false
		}
		if n++; n > 1 {
			w.out = append(w.out, ',')
		}
		w.out = append(w.out, `{"id":`...)
		w.out = append(w.out, b.id...)
		w.out = append(w.out, `,"type":"function","function":{"name":`...)
		w.out = append(w.out, b.name...)
		w.out = append(w.out, `,"arguments":`...)
		switch in := bytes.TrimSpace(b.input); {
		case len(in) == 0:
			w.out = append(w.out, `"{}"`...)
		case in[0] != '{':
			return false
		default:
			w.compact.Reset()
			if json.Compact(&w.compact, in) != nil {
				return false
			}
			w.out = providers.AppendJSONString(w.out, jsonstr.View(w.compact.Bytes()))
		}
		w.out = append(w.out, "}}"...)
	}
	w.out = append(w.out, ']')
	return true
}

// thinkingBlocks writes the thinking and redacted_thinking blocks, signatures
// and data as they came.
func (w *chatWriter) thinkingBlocks(blocks []rawBlock) bool {
	w.out = append(w.out, `,"thinking_blocks":[`...)
	n := 0
	for _, b := range blocks {
		var members [][2][]byte
		switch string(b.typ) {
		case `"thinking"`:
			members = [][2][]byte{{[]byte(`"thinking"`), b.thinking}, {[]byte(`"signature"`), b.signature}}
		case `"redacted_thinking"`:
			members = [][2][]byte{{[]byte(`"data"`), b.data}}
		default:
			continue
		}
		if n++; n > 1 {
			w.out = append(w.out, ',')
		}
		w.out = append(w.out, `{"type":`...)
		w.out = append(w.out, b.typ...)
		for _, m := range members {
			if m[1] == nil {
				continue
			}
			if _, ok := w.rawText(m[1]); !ok {
				return false
			}
			w.out = append(w.out, ',')
			w.out = append(w.out, m[0]...)
			w.out = append(w.out, ':')
			w.out = append(w.out, m[1]...)
		}
		w.out = append(w.out, '}')
	}
	w.out = append(w.out, ']')
	return true
}
