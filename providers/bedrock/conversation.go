package bedrock

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"iter"
	"slices"

	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/providers"
)

// Converse requires user and assistant turns to alternate, starting with a user
// turn; OpenAI allows consecutive turns of one role and sends tool results as their
// own "tool" turns. So consecutive turns of one role merge into one message, and
// tool results become toolResult blocks of a user turn, placed before any other
// block of that turn (Anthropic models require tool results first). System and
// developer messages, wherever they appear, become system blocks in their order.
// A turn that gives no block (blank text) is left out: Converse rejects blank text.
//
// The messages are written as they are read, each text copied once from the
// client's JSON into the Converse body (transcode): a 400 KB agent conversation
// is read once and its text copied once.

// conversation writes the messages array of a Converse body.
type conversation struct {
	out     []byte
	scratch []byte // decoded tool-call arguments and names, one at a time
	// keepReasoning keeps signed thinking blocks (Claude models only).
	keepReasoning bool

	open     string // the role of the message being written; "" before the first
	messages int    // messages opened
	blocks   int    // blocks written in the open message
	// deferred are the blocks of the open user message that follow its tool
	// results: user turns, and the cachePoints of tool results.
	deferred []deferred
	system   []turn
	// used are the tool names the history's calls use, in order.
	used []string
	// unsignedLoop is providers.UnsignedToolLoop of the messages read so far.
	unsignedLoop bool
	// hash hashes out as its turns are written (hash.go).
	hash bodyHash
}

// deferred is a user turn, or the cachePoint of a tool result when cache is set.
type deferred struct {
	cache *providers.CacheControl
	t     turn
}

// writeMessages writes the messages array raw (a JSON array) as Converse messages.
func (c *conversation) writeMessages(raw []byte) error {
	msgs, ok := newArray(raw)
	if !ok {
		return typeError(loc{msg: -1}, "an array")
	}
	c.out = append(c.out, '[')
	for i := 0; ; i++ {
		at, err := msgs.start()
		if err != nil {
			return malformedAt(loc{msg: -1})
		}
		if at < 0 {
			break
		}
		t, n, err := c.readTurn(i, raw[at:])
		if err != nil {
			return err
		}
		msgs.skipTo(at + n)
		if err := c.turn(&t); err != nil {
			return err
		}
		if t.spec < 0 { // nothing before the end moves again
			c.hash.feed(c.out)
		}
	}
	if err := c.close(); err != nil {
		return err
	}
	c.out = append(c.out, ']')
	c.hash.feed(c.out)
	return nil
}

// turn writes one message (or defers it).
func (c *conversation) turn(t *turn) error {
	if t.role != "tool" && t.role != "assistant" {
		c.drop(t)
	}
	if t.role != "tool" {
		c.unsignedLoop = t.role == "assistant" && t.calls > 0 && !hasSigned(t.thinking)
	}
	switch t.role {
	case "system", "developer":
		if !cachedContent(t.content) {
			if err := checkTextOnly(t, t.role); err != nil {
				return err
			}
		}
		c.system = append(c.system, *t)
		return nil
	case "user":
		if !userHasBlocks(t) {
			return nil
		}
		if err := c.enter("user"); err != nil {
			return err
		}
		c.deferred = append(c.deferred, deferred{t: *t})
		return nil
	case "assistant":
		return c.assistant(t)
	case "tool":
		return c.toolResult(t)
	case "function":
		return providers.Unsupported("messages", "The deprecated 'function' role is not supported on the Bedrock backend: use tool calls and 'tool' messages.")
	}
	return providers.InvalidRequest("messages", fmt.Sprintf("Invalid value for 'messages[%d].role': %q.", t.index, t.role))
}

// enter opens a message of role unless one is open.
func (c *conversation) enter(role string) error {
	if c.open == role {
		return nil
	}
	if err := c.close(); err != nil {
		return err
	}
	if c.messages > 0 {
		c.out = append(c.out, ',')
	}
	c.out = append(c.out, `{"role":"`...)
	c.out = append(c.out, role...)
	c.out = append(c.out, `","content":[`...)
	c.open, c.blocks = role, 0
	c.messages++
	return nil
}

// close writes the open message's deferred blocks and ends it.
func (c *conversation) close() error {
	if c.open == "" {
		return nil
	}
	for i := range c.deferred {
		d := &c.deferred[i]
		if d.cache != nil {
			c.cachePoint(d.cache)
			continue
		}
		if err := c.userBlocks(&d.t); err != nil {
			return err
		}
	}
	c.deferred = c.deferred[:0]
	c.out = append(c.out, "]}"...)
	c.open = ""
	return nil
}

// place moves t's text, written ahead at the end of the buffer when t was read,
// after what was written since: the start of its block.
func (c *conversation) place(t *turn) {
	p0, p1 := t.spec, t.specEnd
	t.spec = -1
	n := len(c.out) - p1
	if n == 0 {
		return
	}
	c.scratch = append(c.scratch[:0], c.out[p1:]...)
	copy(c.out[p0+n:], c.out[p0:p1])
	copy(c.out[p0:], c.scratch)
}

// drop removes t's text written ahead, for a turn written later or not at all.
// Nothing may have been written since.
func (c *conversation) drop(t *turn) {
	if t.spec >= 0 {
		c.out = c.out[:t.spec]
		t.spec = -1
	}
}

// block starts a block of the open message.
func (c *conversation) block() {
	if c.blocks > 0 {
		c.out = append(c.out, ',')
	}
	c.blocks++
}

func (c *conversation) cachePoint(cc *providers.CacheControl) {
	c.block()
	c.out = appendCachePoint(c.out, cc)
}

// appendCachePoint writes {"cachePoint":{"type":"default","ttl"?}}: the client's
// cache_control becomes a cachePoint right after the block it marks (cache.go).
func appendCachePoint(b []byte, cc *providers.CacheControl) []byte {
	b = append(b, `{"cachePoint":{"type":"default"`...)
	if cc.TTL != "" {
		b = append(b, `,"ttl":`...)
		b = providers.AppendJSONString(b, cc.TTL)
	}
	return append(b, "}}"...)
}

// toolResult writes a tool message as a toolResult block of a user message.
func (c *conversation) toolResult(t *turn) error {
	if err := checkTextOnly(t, "tool"); err != nil {
		return err
	}
	if err := c.enter("user"); err != nil {
		return err
	}
	c.block()
	c.out = append(c.out, `{"toolResult":{"toolUseId":"`...)
	c.out = appendContents(c.out, t.toolCallID)
	c.out = append(c.out, `","content":[{"text":`...)
	c.text(t)
	c.out = append(c.out, "}]}}"...)
	if cc := lastCacheControl(t.content); cc != nil {
		c.deferred = append(c.deferred, deferred{cache: cc})
	}
	return nil
}

// userBlocks writes a user message's text and image blocks.
func (c *conversation) userBlocks(t *turn) error {
	if t.content[0] == '"' {
		c.block()
		c.out = append(c.out, `{"text":`...)
		c.out = appendString(c.out, t.content)
		c.out = append(c.out, '}')
		return nil
	}
	for p, err := range partsOf(t.content) {
		if err != nil {
			return err
		}
		switch {
		case p.isText():
			if blank(p.text) {
				continue
			}
			c.block()
			c.out = append(c.out, `{"text":"`...)
			c.out = appendContents(c.out, p.text)
			c.out = append(c.out, `"}`...)
		case decodedEquals(p.typ, "image_url"):
			if p.image == nil {
				return providers.InvalidRequest("messages", "An 'image_url' content part needs an 'image_url' object.")
			}
			img, err := providers.ParseImageURL(p.image.URL)
			if err != nil {
				return err
			}
			c.block()
			c.out = append(c.out, `{"image":{"format":"`...)
			c.out = append(c.out, imageFormat(img.MediaType)...)
			c.out = append(c.out, `","source":{"bytes":"`...)
			c.out = base64.StdEncoding.AppendEncode(c.out, img.Data)
			c.out = append(c.out, `"}}}`...)
		default:
			return providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported on the Bedrock backend.", p.typeName()))
		}
		if p.cache != nil {
			c.cachePoint(p.cache)
		}
	}
	return nil
}

// userHasBlocks reports whether a user message gives a block: text that is not
// blank, or a part other than text (an image, or one refused when written).
func userHasBlocks(t *turn) bool {
	if len(t.content) == 0 || t.content[0] == 'n' {
		return false
	}
	if t.content[0] == '"' {
		return len(t.content) > 2
	}
	for p, err := range partsOf(t.content) {
		if err != nil || !p.isText() || !blank(p.text) {
			return true // a block, or refused when written
		}
	}
	return false
}

// assistant writes an assistant message: its signed thinking blocks (Claude
// models only), its text (or refusal), and its tool calls as toolUse blocks with
// the same ids, so that the following tool results still match.
func (c *conversation) assistant(t *turn) error {
	if err := checkTextOnly(t, "assistant"); err != nil {
		return err
	}
	text := hasText(t.content)
	if !text {
		c.drop(t)
	}
	signed := hasSigned(t.thinking)
	if !text && blank(t.refusal) && !signed && t.calls == 0 {
		return nil
	}
	if err := c.enter("assistant"); err != nil {
		return err
	}
	if signed && c.keepReasoning {
		c.reasoning(t.thinking)
	}
	if text || !blank(t.refusal) {
		c.block()
		c.out = append(c.out, `{"text":`...)
		if text {
			c.text(t)
		} else {
			c.out = appendString(c.out, t.refusal)
		}
		c.out = append(c.out, '}')
		if cc := lastCacheControl(t.content); cc != nil {
			c.cachePoint(cc)
		}
	}
	if t.calls == 0 {
		return nil
	}
	calls, _ := newArray(t.toolCalls)
	for {
		at, err := calls.start()
		if err != nil || at < 0 {
			return err
		}
		call, end, err := readCall(loc{}, t.toolCalls[at:])
		if err != nil {
			return err
		}
		calls.skipTo(at + end)
		if err := c.toolUse(call); err != nil {
			return err
		}
	}
}

// toolUse writes one tool call; its input is the arguments' JSON object as the
// client wrote it (compacted), so that numbers stay exact.
func (c *conversation) toolUse(call call) error {
	c.scratch = unquote(c.scratch[:0], contents(call.name))
	if !slices.Contains(c.used, string(c.scratch)) {
		c.used = append(c.used, string(c.scratch))
	}
	c.block()
	c.out = append(c.out, `{"toolUse":{"toolUseId":"`...)
	c.out = appendContents(c.out, call.id)
	c.out = append(c.out, `","name":"`...)
	c.out = appendContents(c.out, call.name)
	c.out = append(c.out, `","input":`...)
	c.scratch = unquote(c.scratch[:0], contents(call.arguments))
	input, err := jsonObject(c.scratch, true)
	if err != nil {
		return providers.InvalidRequest("messages", fmt.Sprintf("The arguments of tool call %q must be a JSON object: %v", unquote(nil, contents(call.id)), err))
	}
	c.out = appendCompact(c.out, input)
	c.out = append(c.out, "}}"...)
	return nil
}

// reasoning writes an assistant's signed thinking blocks as reasoningContent
// blocks, first in its turn (reasoning.go).
func (c *conversation) reasoning(blocks []providers.ThinkingBlock) {
	for _, b := range blocks {
		if !providers.SignedBlock(b) {
			continue
		}
		switch b.Type {
		case "thinking":
			c.block()
			c.out = append(c.out, `{"reasoningContent":{"reasoningText":{"text":`...)
			c.out = providers.AppendJSONString(c.out, b.Thinking)
			c.out = append(c.out, `,"signature":`...)
			c.out = providers.AppendJSONString(c.out, b.Signature)
			c.out = append(c.out, "}}}"...)
		case "redacted_thinking":
			data, err := base64.StdEncoding.DecodeString(b.Data)
			if err != nil {
				data = []byte(b.Data)
			}
			c.block()
			c.out = append(c.out, `{"reasoningContent":{"redactedContent":"`...)
			c.out = base64.StdEncoding.AppendEncode(c.out, data)
			c.out = append(c.out, `"}}`...)
		}
	}
}

func hasSigned(blocks []providers.ThinkingBlock) bool {
	return slices.ContainsFunc(blocks, providers.SignedBlock)
}

// writeSystem writes the system blocks of the system and developer messages, and
// extra (the json_object instruction) when set, as the "system" member; nothing
// when there is no block.
func (c *conversation) writeSystem(extra string) {
	n := 0
	sep := func() {
		if n == 0 {
			c.out = append(c.out, `,"system":[`...)
		} else {
			c.out = append(c.out, ',')
		}
		n++
	}
	for i := range c.system {
		t := &c.system[i]
		if !cachedContent(t.content) {
			if hasText(t.content) {
				sep()
				c.out = append(c.out, `{"text":`...)
				c.out = appendText(c.out, t.content)
				c.out = append(c.out, '}')
			}
			continue
		}
		// Each text part its own block, with a cachePoint after every part that
		// asks for one; other parts are left out.
		for p := range parts(t.content) {
			if !p.isText() || blank(p.text) {
				continue
			}
			sep()
			c.out = append(c.out, `{"text":"`...)
			c.out = appendContents(c.out, p.text)
			c.out = append(c.out, `"}`...)
			if p.cache != nil {
				sep()
				c.out = appendCachePoint(c.out, p.cache)
			}
		}
	}
	if extra != "" {
		sep()
		c.out = append(c.out, `{"text":`...)
		c.out = providers.AppendJSONString(c.out, extra)
		c.out = append(c.out, '}')
	}
	if n > 0 {
		c.out = append(c.out, ']')
	}
}

// text writes t's text as one JSON string: its string content (written ahead),
// or its text parts joined.
func (c *conversation) text(t *turn) {
	if t.spec < 0 {
		c.out = appendText(c.out, t.content)
		return
	}
	c.out = append(c.out, '"')
	c.place(t)
	c.out = append(c.out, '"')
}

// partsOf yields the parts of array content, none of other content; an error
// ends them.
func partsOf(content []byte) iter.Seq2[part, error] {
	return func(yield func(part, error) bool) {
		if len(content) == 0 || content[0] != '[' {
			return
		}
		parts, _ := newArray(content)
		for {
			v, err := parts.next()
			if err != nil {
				yield(part{}, malformedAt(loc{msg: -1}))
				return
			}
			if v == nil {
				return
			}
			p, err := readPart(loc{}, v)
			if !yield(p, err) || err != nil {
				return
			}
		}
	}
}

// parts yields the parts of array content that readTurn checked: they read
// without an error.
func parts(content []byte) iter.Seq[part] {
	return func(yield func(part) bool) {
		for p, err := range partsOf(content) {
			if err != nil || !yield(p) {
				return
			}
		}
	}
}

// appendText appends the text of content that holds only text as one JSON
// string: a string as it is, the text parts joined.
func appendText(out, content []byte) []byte {
	switch {
	case len(content) == 0 || content[0] == 'n':
		return append(out, `""`...)
	case content[0] == '"':
		return appendString(out, content)
	}
	out = append(out, '"')
	for p := range parts(content) {
		out = appendContents(out, p.text)
	}
	return append(out, '"')
}

// checkTextOnly refuses content parts other than text in a role that carries only
// text.
func checkTextOnly(t *turn, role string) error {
	for p, err := range partsOf(t.content) {
		if err != nil {
			return err
		}
		if !p.isText() {
			return providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported in %s messages on the Bedrock backend.", p.typeName(), role))
		}
	}
	return nil
}

// hasText reports whether content holds text that is not blank.
func hasText(content []byte) bool {
	switch {
	case len(content) == 0 || content[0] == 'n':
		return false
	case content[0] == '"':
		return len(content) > 2
	}
	for p := range parts(content) {
		if p.isText() && !blank(p.text) {
			return true
		}
	}
	return false
}

// lastCacheControl is the cache breakpoint of content that becomes one block: the
// last part's that has one.
func lastCacheControl(content []byte) *providers.CacheControl {
	var cc *providers.CacheControl
	for p := range parts(content) {
		if p.cache != nil {
			cc = p.cache
		}
	}
	return cc
}

// cachedContent reports whether content has a part with cache_control.
func cachedContent(content []byte) bool { return lastCacheControl(content) != nil }

// jsonObject checks that b holds one JSON object and returns it, to be sent as
// written: a Converse document (tool input, input schema) must be an object, and
// passing the bytes through keeps every number exact. emptyIsObject lets blank
// input stand for {} (tool calls without arguments).
func jsonObject(b []byte, emptyIsObject bool) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 && emptyIsObject {
		return []byte("{}"), nil
	}
	if !jsonscan.Valid(b) {
		return nil, fmt.Errorf("not valid JSON")
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	return b, nil
}
