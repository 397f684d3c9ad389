package bedrock

import (
	"encoding/json"
	"strconv"

	"github.com/switchyard/switchyard/providers"
)

// Reading the OpenAI messages of the client's body in place, as encoding/json
// would decode them into providers.Message (member names matched as it matches
// them, every member it would decode checked for its type), without copying
// their text: conversation.go writes it straight into the Converse body. A
// member repeated in one object (also under another case) is refused, as the
// proxy refuses it at the top level: encoding/json would merge the two, other
// decoders keep one of them.

// The members of a message, a content part, a tool call and its function that
// the translation reads or that encoding/json would check.
var (
	messageFields  = []string{"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content", "thinking_blocks"}
	partFields     = []string{"type", "text", "image_url", "cache_control"}
	callFields     = []string{"index", "id", "type", "function"}
	functionFields = []string{"name", "arguments"}
)

const (
	mRole = iota
	mContent
	mName
	mToolCalls
	mToolCallID
	mRefusal
	mReasoningContent
	mThinkingBlocks
)

// turn is one OpenAI message. The byte slices alias the body; strings are kept
// as tokens, quotes included.
type turn struct {
	index int
	role  string
	// content is the raw value: a string, an array of parts, or null; nil when
	// absent.
	content    []byte
	toolCalls  []byte // the raw array; nil when absent or null
	calls      int    // its length
	toolCallID []byte
	refusal    []byte
	thinking   []providers.ThinkingBlock
	// spec..specEnd hold the string content already written at the end of the
	// conversation's buffer (conversation.place); spec is -1 when it is not.
	spec, specEnd int
}

// readTurn reads messages[index], which starts b (b may go on after it), and
// returns it with the index in b after it. String content is written at the end
// of the buffer as it is read (spec): most messages are sent at once, and the
// text, most of the request, is then read once.
func (c *conversation) readTurn(index int, b []byte) (turn, int, error) {
	t := turn{index: index, spec: -1}
	if b[0] != '{' {
		end, ok := valueEnd(b, 0)
		switch {
		case !ok:
			return t, 0, malformedAt(t.loc(""))
		case !isNullValue(b[:end]):
			return t, 0, typeError(t.loc(""), "an object")
		}
		return t, end, nil
	}
	o, _ := newObject(b)
	var seen uint
	for {
		name, at, err := o.member()
		if err != nil {
			return t, 0, malformedAt(t.loc(""))
		}
		if name == nil {
			return t, o.end(), nil
		}
		f := fieldOf(name, messageFields)
		if f >= 0 && seen&(1<<f) != 0 {
			return t, 0, duplicate(t.loc(messageFields[f]))
		}
		if f >= 0 {
			seen |= 1 << f
		}
		if f == mToolCalls && b[at] == '[' {
			n, end, err := checkCalls(t.loc("tool_calls"), b[at:])
			if err != nil {
				return t, 0, err
			}
			t.calls, t.toolCalls = n, b[at:at+end]
			o.skipTo(at + end)
			continue
		}
		if f == mContent && b[at] == '"' {
			p0 := len(c.out)
			var end int
			var ok bool
			if c.out, end, ok = transcode(c.out, b, at); !ok {
				return t, 0, malformedAt(t.loc("content"))
			}
			t.content, t.spec, t.specEnd = b[at:end], p0, len(c.out)
			o.skipTo(end)
			continue
		}
		end, ok := valueEnd(b, at)
		if !ok {
			return t, 0, malformedAt(t.loc(""))
		}
		o.skipTo(end)
		if f < 0 {
			continue
		}
		if err := t.member(f, b[at:end]); err != nil {
			return t, 0, err
		}
	}
}

// member reads the value v of messageFields[f].
func (t *turn) member(f int, v []byte) error {
	if isNullValue(v) {
		if f == mContent {
			t.content = v
		}
		return nil // leaves the field at its zero value, as encoding/json does
	}
	switch f {
	case mRole:
		if v[0] != '"' {
			return typeError(t.loc("role"), "a string")
		}
		t.role = roleName(contents(v))
	case mContent:
		if err := checkContent(t.loc("content"), v); err != nil {
			return err
		}
		t.content = v
	case mToolCalls:
		n, _, err := checkCalls(t.loc("tool_calls"), v)
		if err != nil {
			return err
		}
		t.calls, t.toolCalls = n, v
	case mThinkingBlocks:
		var blocks []providers.ThinkingBlock
		if err := json.Unmarshal(v, &blocks); err != nil {
			return typeError(t.loc("thinking_blocks"), "an array of thinking blocks")
		}
		t.thinking = blocks
	default: // the string members
		if v[0] != '"' {
			return typeError(t.loc(messageFields[f]), "a string")
		}
		switch f {
		case mToolCallID:
			t.toolCallID = v
		case mRefusal:
			t.refusal = v
		}
	}
	return nil
}

// roleName is the decoded role, without a copy for the roles there are.
func roleName(s []byte) string {
	if needsDecode(s) {
		return string(unquote(nil, s))
	}
	switch string(s) {
	case "system":
		return "system"
	case "developer":
		return "developer"
	case "user":
		return "user"
	case "assistant":
		return "assistant"
	case "tool":
		return "tool"
	}
	return string(s)
}

// loc names a member of a message in errors, built only for an error:
// messages[msg].member[elem].sub.
type loc struct {
	msg    int
	member string // "" for the message itself
	elem   int    // -1 for none
	sub    string
}

func (l loc) String() string {
	if l.msg < 0 {
		return "messages"
	}
	p := "messages[" + strconv.Itoa(l.msg) + "]"
	if l.member != "" {
		p += "." + l.member
	}
	if l.elem >= 0 {
		p += "[" + strconv.Itoa(l.elem) + "]"
	}
	if l.sub != "" {
		p += "." + l.sub
	}
	return p
}

func (l loc) at(elem int) loc { l.elem = elem; return l }

func (l loc) in(sub string) loc {
	if l.sub != "" {
		sub = l.sub + "." + sub
	}
	l.sub = sub
	return l
}

func (t *turn) loc(member string) loc { return loc{msg: t.index, member: member, elem: -1} }

// checkContent checks content that is not null: a string or an array of parts.
func checkContent(l loc, v []byte) error {
	switch v[0] {
	case '"':
		return nil
	case '[':
		parts, _ := newArray(v)
		for i := 0; ; i++ {
			p, err := parts.next()
			if err != nil {
				return malformedAt(l)
			}
			if p == nil {
				return nil
			}
			if _, err := readPart(l.at(i), p); err != nil {
				return err
			}
		}
	}
	path := l.String()
	return providers.InvalidRequest(path, "Invalid type for '"+path+"': content must be a string, an array of content parts or null.")
}

// part is one content part; typ and text are string tokens.
type part struct {
	typ   []byte
	text  []byte
	image *providers.ImageURL
	cache *providers.CacheControl
}

// readPart reads one element of array content, at l.
func readPart(l loc, v []byte) (part, error) {
	var p part
	if isNullValue(v) {
		return p, nil
	}
	o, ok := newObject(v)
	if !ok {
		return p, typeError(l, "an object")
	}
	var seen uint
	for {
		name, val, err := o.next()
		if err != nil {
			return p, malformedAt(l)
		}
		if name == nil {
			return p, nil
		}
		f := fieldOf(name, partFields)
		if f < 0 {
			continue
		}
		if seen&(1<<f) != 0 {
			return p, duplicate(l.in(partFields[f]))
		}
		seen |= 1 << f
		switch f {
		case 0, 1:
			if isNullValue(val) {
				continue
			}
			if val[0] != '"' {
				return p, typeError(l.in(partFields[f]), "a string")
			}
			if f == 0 {
				p.typ = val
			} else {
				p.text = val
			}
		case 2:
			var image *providers.ImageURL
			if err := json.Unmarshal(val, &image); err != nil {
				return p, typeError(l.in("image_url"), "an object")
			}
			p.image = image
		case 3:
			var cache *providers.CacheControl
			if err := json.Unmarshal(val, &cache); err != nil {
				return p, typeError(l.in("cache_control"), "an object")
			}
			p.cache = cache
		}
	}
}

// isText reports whether a part's type is "text".
func (p *part) isText() bool { return decodedEquals(p.typ, "text") }

// typeName is the part's decoded type, for messages.
func (p *part) typeName() string { return string(unquote(nil, contents(p.typ))) }

// call is one tool call of an assistant message, its members string tokens.
type call struct {
	id, name, arguments []byte
}

// checkCalls checks the tool_calls array that starts b (b may go on after it)
// and returns the number of its calls and the index in b after it.
func checkCalls(l loc, b []byte) (n, end int, err error) {
	calls, ok := newArray(b)
	if !ok {
		return 0, 0, typeError(l, "an array")
	}
	for ; ; n++ {
		at, err := calls.start()
		if err != nil {
			return 0, 0, malformedAt(l)
		}
		if at < 0 {
			return n, calls.end(), nil
		}
		_, end, err := readCall(l.at(n), b[at:])
		if err != nil {
			return 0, 0, err
		}
		calls.skipTo(at + end)
	}
}

// readCall reads the element of tool_calls that starts b (b may go on after it),
// at l, and returns it with the index in b after it.
func readCall(l loc, b []byte) (call, int, error) {
	var c call
	if b[0] != '{' {
		end, ok := valueEnd(b, 0)
		switch {
		case !ok:
			return c, 0, malformedAt(l)
		case !isNullValue(b[:end]):
			return c, 0, typeError(l, "an object")
		}
		return c, end, nil
	}
	o, _ := newObject(b)
	var seen uint
	for {
		name, at, err := o.member()
		if err != nil {
			return c, 0, malformedAt(l)
		}
		if name == nil {
			return c, o.end(), nil
		}
		f := fieldOf(name, callFields)
		if f >= 0 && seen&(1<<f) != 0 {
			return c, 0, duplicate(l.in(callFields[f]))
		}
		if f >= 0 {
			seen |= 1 << f
		}
		if f == 3 && b[at] == '{' {
			var end int
			if c.name, c.arguments, end, err = readFunction(l.in("function"), b[at:]); err != nil {
				return c, 0, err
			}
			o.skipTo(at + end)
			continue
		}
		end, ok := valueEnd(b, at)
		if !ok {
			return c, 0, malformedAt(l)
		}
		o.skipTo(end)
		val := b[at:end]
		if f < 0 || isNullValue(val) {
			continue
		}
		switch f {
		case 0: // index, an int
			if _, err := strconv.ParseInt(string(val), 10, 64); err != nil {
				return c, 0, typeError(l.in("index"), "an integer")
			}
		case 1, 2:
			if val[0] != '"' {
				return c, 0, typeError(l.in(callFields[f]), "a string")
			}
			if f == 1 {
				c.id = val
			}
		case 3:
			return c, 0, typeError(l.in("function"), "an object")
		}
	}
}

// readFunction reads the function of a tool call, which starts b (b may go on
// after it): its name and arguments, and the index in b after it.
func readFunction(l loc, b []byte) (name, arguments []byte, end int, err error) {
	o, _ := newObject(b)
	var seen uint
	for {
		n, val, err := o.next()
		if err != nil {
			return nil, nil, 0, malformedAt(l)
		}
		if n == nil {
			return name, arguments, o.end(), nil
		}
		f := fieldOf(n, functionFields)
		if f < 0 {
			continue
		}
		if seen&(1<<f) != 0 {
			return nil, nil, 0, duplicate(l.in(functionFields[f]))
		}
		seen |= 1 << f
		if isNullValue(val) {
			continue
		}
		if val[0] != '"' {
			return nil, nil, 0, typeError(l.in(functionFields[f]), "a string")
		}
		if f == 0 {
			name = val
		} else {
			arguments = val
		}
	}
}

// decodedEquals reports whether the string token tok decodes to s.
func decodedEquals(tok []byte, s string) bool {
	contents := contents(tok)
	if !needsDecode(contents) {
		return string(contents) == s
	}
	var buf [32]byte
	return len(contents) <= 6*len(s) && string(unquote(buf[:0], contents)) == s
}

func typeError(l loc, want string) *providers.Error {
	path := l.String()
	return providers.InvalidRequest(path, "Invalid type for '"+path+"': expected "+want+".")
}

func duplicate(l loc) *providers.Error {
	path := l.String()
	err := providers.InvalidRequest(path, "Duplicate parameter '"+path+"': a member may appear only once in a JSON object.")
	err.Code = "ambiguous_parameter"
	return err
}

func malformedAt(l loc) *providers.Error {
	path := l.String()
	return providers.InvalidRequest(path, "Invalid request: '"+path+"' is not valid JSON.")
}
