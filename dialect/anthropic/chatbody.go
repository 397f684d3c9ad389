package anthropic

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// chatBody writes the canonical chat body of a Messages body (what
// Canonical, then the chat encoding, would write) with the conversation's text
// copied as the client escaped it, never decoded and encoded again: for an
// agent-sized request that round trip was most of its translation. The members
// around the conversation go through Canonical as before.
//
// It takes what ordinary clients send: text, images, plain-text documents,
// tool_use, tool_result, thinking and cache_control, every member spelled once
// and plainly. Anything else (and anything Canonical would refuse) reports
// false, and the caller translates the request the long way, which decides it
// and words its error. FuzzChatBody holds the two to the same chat request on
// every body this takes.
//
// body is one ReadHead accepted: valid JSON whose members are unambiguous. It
// is not validated again: its members and strings are found by structure alone.
// The chat body is written in buf (grown out of it if it does not fit), or in a
// new buffer when buf is nil.
func chatBody(body, buf []byte) (chat, bool) {
	r, messages, system, ok := decodeHead(body)
	if !ok || r.Model == "" || messages == nil || r.MaxTokens == nil || *r.MaxTokens < 1 {
		return chat{}, false
	}
	c, err := r.Canonical()
	if err != nil {
		return chat{}, false
	}
	c.Messages = []providers.Message{}
	head, err := json.Marshal(c)
	model, err2 := json.Marshal(c.Model)
	if err != nil || err2 != nil {
		return chat{}, false
	}
	// head is {"model":…,"messages":[],…}: the conversation goes between the
	// brackets.
	at := len(`{"model":`) + len(model) + len(`,"messages":[`)
	if !bytes.HasPrefix(head, []byte(`{"model":`)) || len(head) <= at || string(head[at-len(`,"messages":[`):at+1]) != `,"messages":[]` {
		return chat{}, false
	}
	w := chatWriter{out: buf[:0]}
	if buf == nil {
		w.out = make([]byte, 0, chatBodySize(len(body)))
	}
	w.out = append(w.out, head[:at]...)
	if system != nil && !w.system(system) {
		return chat{}, false
	}
	if err := jsonfield.EachElement(messages, func(v []byte) bool {
		ok = w.message(v)
		return ok
	}); err != nil || !ok || w.n == 0 {
		return chat{}, false // without messages, the long way words the 400
	}
	return chat{body: append(w.out, head[at:]...), head: head, at: at, images: w.images}, true
}

// chat is a chat body, and what providers.NewChatBody needs to read it without
// scanning the conversation: its head (the body without the conversation), and
// where the conversation was written.
type chat struct {
	body, head []byte
	at         int
	images     bool
}

// chatBodySize is room for the chat body of a Messages body of n bytes: its
// text as it is, the wrappers of its turns and tools a little longer.
func chatBodySize(n int) int { return n + n/8 + 512 }

// decodeHead is decode without the conversation, of a body ReadHead accepted:
// messages (an array) and system (a string or an array) are returned raw, the
// other members decoded. ok is false where decode would fall back to
// encoding/json.
func decodeHead(body []byte) (r *Request, messages, system []byte, ok bool) {
	r = new(Request)
	ok = true
	if err := jsonfield.Each(body, func(k, v []byte) bool {
		name := string(k)
		switch {
		case !knownMembers[name]:
			r.Unknown = append(r.Unknown, name)
		case name == "messages":
			messages, ok = v, ok && v[0] == '['
		case name == "system":
			system, ok = v, ok && (v[0] == '"' || v[0] == '[')
		default:
			ok = ok && r.quickMember(name, v)
		}
		return true
	}); err != nil {
		return nil, nil, nil, false
	}
	return r, messages, system, ok
}

// chatWriter writes chat messages; every method reports false for what the fast
// path does not take.
type chatWriter struct {
	out     []byte
	n       int  // messages written
	images  bool // an image part was written
	blocks  []rawBlock
	compact bytes.Buffer
}

// rawBlock is a content block's members as written (raw JSON values).
type rawBlock struct {
	typ, text, source, id, name, input, toolUseID, content, isError, thinking, signature, data, cacheControl []byte
}

// readBlocks reads an array of blocks into w.blocks, each member once, as
// quickBlock takes them.
func (w *chatWriter) readBlocks(arr []byte) ([]rawBlock, bool) {
	start := len(w.blocks)
	ok := true
	err := jsonfield.EachElement(arr, func(v []byte) bool {
		var b rawBlock
		if ok = readBlock(&b, v); ok {
			w.blocks = append(w.blocks, b)
		}
		return ok
	})
	return w.blocks[start:], err == nil && ok
}

func readBlock(b *rawBlock, obj []byte) bool {
	if obj[0] != '{' {
		return false
	}
	var citations, title []byte
	taken := true
	err := jsonfield.Each(obj, func(k, v []byte) bool {
		var dst *[]byte
		str := true
		switch string(k) {
		case "type":
			dst = &b.typ
		case "text":
			dst = &b.text
		case "title":
			dst = &title
		case "id":
			dst = &b.id
		case "name":
			dst = &b.name
		case "tool_use_id":
			dst = &b.toolUseID
		case "thinking":
			dst = &b.thinking
		case "signature":
			dst = &b.signature
		case "data":
			dst = &b.data
		case "citations":
			dst, str = &citations, false
		case "input":
			dst, str = &b.input, false
		case "source":
			dst, str = &b.source, false
		case "cache_control":
			dst, str = &b.cacheControl, false
		case "is_error":
			dst, str = &b.isError, false
		case "content":
			dst, str = &b.content, false
		default:
			taken = false
			return false
		}
		taken = *dst == nil && string(v) != "null" && (!str || v[0] == '"')
		*dst = v
		return taken
	})
	if err != nil || !taken {
		return false
	}
	// What decode would refuse is refused wherever it is, also in a member the
	// block's type does not use.
	var cc CacheControl
	switch {
	case b.isError != nil && string(b.isError) != "true" && string(b.isError) != "false",
		b.content != nil && !validContent(b.content),
		b.source != nil && !validSource(b.source),
		b.cacheControl != nil && (b.cacheControl[0] != '{' || json.Unmarshal(b.cacheControl, &cc) != nil):
		return false
	}
	return true
}

// validContent reports whether a block's content is a string or blocks this
// reader takes.
func validContent(v []byte) bool {
	if v[0] == '"' {
		return true
	}
	if v[0] != '[' {
		return false
	}
	ok := true
	err := jsonfield.EachElement(v, func(el []byte) bool {
		var b rawBlock
		ok = readBlock(&b, el)
		return ok
	})
	return err == nil && ok
}

func validSource(v []byte) bool {
	if v[0] != '{' {
		return false
	}
	_, _, _, _, ok := source(v)
	return ok
}

// open starts a message.
func (w *chatWriter) open(role string) {
	if w.n > 0 {
		w.out = append(w.out, ',')
	}
	w.n++
	w.out = append(w.out, `{"role":"`+role+`","content":`...)
}

// message writes one message of the conversation.
func (w *chatWriter) message(obj []byte) bool {
	if obj[0] != '{' {
		return false
	}
	var role, content []byte
	taken := true
	err := jsonfield.Each(obj, func(k, v []byte) bool {
		switch string(k) {
		case "role":
			taken = role == nil && v[0] == '"'
			role = v
		case "content":
			taken = content == nil && (v[0] == '"' || v[0] == '[')
			content = v
		default:
			taken = false
		}
		return taken
	})
	if err != nil || !taken {
		return false
	}
	if content == nil {
		content = []byte(`""`)
	}
	w.blocks = w.blocks[:0]
	switch string(role) {
	case `"user"`:
		return w.user(content)
	case `"assistant"`:
		return w.assistant(content)
	case `"system"`:
		return w.system(content)
	}
	return false
}

// system writes a system prompt, or nothing when it is empty.
func (w *chatWriter) system(content []byte) bool {
	if content[0] == '"' {
		text, ok := rawText(content)
		if ok && len(text) > 0 {
			w.open("system")
			w.out = append(w.out, content...)
			w.out = append(w.out, '}')
		}
		return ok
	}
	blocks, ok := w.readBlocks(content)
	if !ok {
		return false
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
func (w *chatWriter) user(content []byte) bool {
	if content[0] == '"' {
		if _, ok := rawText(content); !ok {
			return false
		}
		w.open("user")
		w.out = append(w.out, content...)
		return w.end()
	}
	blocks, ok := w.readBlocks(content)
	if !ok {
		return false
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
	if _, ok := rawText(text); !ok {
		return false
	}
	w.out = append(w.out, `,"text":`...)
	w.out = append(w.out, text...)
	return true
}

// source reads an image's or a document's source: its members spelled once
// and plainly, each a string.
func source(obj []byte) (typ, mediaType, data, url []byte, ok bool) {
	var fileID []byte
	ok = true
	err := jsonfield.Each(obj, func(k, v []byte) bool {
		var dst *[]byte
		switch string(k) {
		case "type":
			dst = &typ
		case "media_type":
			dst = &mediaType
		case "data":
			dst = &data
		case "url":
			dst = &url
		case "file_id":
			dst = &fileID
		default:
			ok = false
			return false
		}
		ok = *dst == nil && v[0] == '"'
		*dst = v
		return ok
	})
	return typ, mediaType, data, url, err == nil && ok
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
		mt, ok1 := rawText(mediaType)
		d, ok2 := rawText(data)
		if !ok1 || !ok2 || len(mt) == 0 || len(d) == 0 {
			return false
		}
		w.out = append(w.out, "data:"...)
		w.out = append(w.out, mt...)
		w.out = append(w.out, ";base64,"...)
		w.out = append(w.out, d...)
	case `"url"`:
		u, ok := rawText(url)
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
	id, ok := rawText(b.toolUseID)
	if !ok || len(id) == 0 {
		return false
	}
	var blocks []rawBlock
	if b.content != nil && b.content[0] == '[' {
		if blocks, ok = w.readBlocks(b.content); !ok {
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
		text, ok := rawText(b.content)
		if !ok {
			return false
		}
		w.out = append(w.out, text...)
	default:
		for k, rb := range blocks {
			text, ok := rawText(rb.text)
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
func (w *chatWriter) assistant(content []byte) bool {
	w.open("assistant")
	if content[0] == '"' {
		if _, ok := rawText(content); !ok {
			return false
		}
		w.out = append(w.out, content...)
		return w.end()
	}
	blocks, ok := w.readBlocks(content)
	if !ok {
		return false
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
			text, ok := rawText(b.text)
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
		id, ok1 := rawText(b.id)
		name, ok2 := rawText(b.name)
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
			if _, ok := rawText(m[1]); !ok {
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

// rawText is the contents of the JSON string v, when copying them as written
// means what decoding and encoding them again would: valid UTF-8 (encoding/json
// decodes other bytes as U+FFFD) and no unpaired surrogate escape (decoded as
// U+FFFD too). v is a string of a body jsonscan validated.
func rawText(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	if !utf8.Valid(s) {
		return nil, false
	}
	if !bytes.Contains(s, []byte(`\u`)) {
		return s, true // no \u escape, so no surrogate
	}
	for j := 0; ; {
		k := bytes.IndexByte(s[j:], '\\')
		if k < 0 {
			return s, true
		}
		i := j + k
		if s[i+1] != 'u' {
			j = i + 2
			continue
		}
		r, _ := jsonstr.Hex4(s[i+2:])
		j = i + 6
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r >= 0xdc00 || j+6 > len(s) || s[j] != '\\' || s[j+1] != 'u' {
			return nil, false
		}
		if lo, _ := jsonstr.Hex4(s[j+2:]); lo < 0xdc00 || lo > 0xdfff {
			return nil, false
		}
		j += 6
	}
}
