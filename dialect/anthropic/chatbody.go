package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/switchyard/switchyard/internal/jsonfield"
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
// new buffer when buf is nil. read is what ReadHead read of body, or nil.
func chatBody(body, buf []byte, read *Head) (chat, bool) {
	var r *Request
	var messages, system []byte
	ok := false
	from, located := 0, false
	if read != nil {
		from, located = read.messagesAt(body)
	}
	if located {
		r, messages, system, ok = decodeMembers(body, from, from+len(read.messages))
	} else {
		r, messages, system, ok = decodeHead(body)
	}
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
	w := chatWriter{out: buf[:0], noUnicodeEscape: located && read.noUnicodeEscape}
	if buf == nil {
		w.out = make([]byte, 0, chatBodySize(len(body)))
	}
	w.out = append(w.out, head[:at]...)
	if system != nil {
		var blocks []rawBlock
		if system[0] == '[' {
			if blocks, ok = w.readBlocks(system, 0); !ok {
				return chat{}, false
			}
		}
		if !w.system(system, blocks) {
			return chat{}, false
		}
	}
	if _, err := jsonfield.EachElementAt(messages, 0, func(at int) int {
		return w.message(messages, at)
	}); err != nil || w.n == 0 {
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
	return decodeMembers(body, -1, -1)
}

// decodeMembers is decodeHead, told that the value starting at body[at] ends
// at end (none when at is -1): ReadHead located the conversation, which is
// then not read again only to be stepped over.
func decodeMembers(body []byte, at, end int) (r *Request, messages, system []byte, ok bool) {
	r = new(Request)
	ok = true
	if _, err := jsonfield.EachAt(body, 0, func(k []byte, i int) int {
		e := end
		if i != at {
			var good bool
			if e, good = jsonfield.SkipAt(body, i); !good {
				return -1
			}
		}
		v := body[i:e]
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
		return e
	}); err != nil {
		return nil, nil, nil, false
	}
	return r, messages, system, ok
}
