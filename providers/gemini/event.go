package gemini

import (
	"bytes"
	"errors"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// A stream sends one event per few tokens, so its events are read without
// encoding/json: the members the translator needs are found in place, as views
// into the event's bytes (valid until the next event is read), and only the rare
// parts (function calls, errors, blocked prompts) are decoded into structs.

// streamPart is one part of candidate 0 of an event.
type streamPart struct {
	text      []byte // the text as in the JSON string, escapes not yet decoded
	escaped   bool   // text contains escapes
	thought   bool
	call      []byte // the raw functionCall object, nil for other parts
	signature []byte // the thoughtSignature as in the JSON string
}

// eventView is what the stream translator reads of one event.
type eventView struct {
	parts        []streamPart // reused from event to event
	finishReason []byte
	usage        usageMetadata
	hasUsage     bool
	responseID   []byte
	modelVersion []byte
	// special marks an event with an error or promptFeedback member, which
	// specialEvent decodes in full.
	special bool
}

var errMalformed = errors.New("malformed stream event")

// scanEvent fills v from the JSON object in data.
func scanEvent(data []byte, v *eventView) error {
	parts := v.parts[:0]
	*v = eventView{}
	bad := false
	err := jsonfield.Each(data, func(key, val []byte) bool {
		switch string(key) {
		case "candidates":
			err := jsonfield.EachElement(val, func(c []byte) bool {
				var ok bool
				parts, ok = scanCandidate(c, v, parts)
				bad = !ok
				return ok
			})
			bad = bad || err != nil
		case "usageMetadata":
			v.hasUsage = true
			bad = !scanUsage(val, &v.usage)
		case "responseId":
			v.responseID = stringContents(val)
		case "modelVersion":
			v.modelVersion = stringContents(val)
		case "error", "promptFeedback":
			v.special = true
		}
		return !bad
	})
	v.parts = parts
	if err != nil || bad {
		return errMalformed
	}
	return nil
}

// scanCandidate appends the parts of candidate 0 and notes its finish reason;
// other candidates (n > 1 is refused for streams) are skipped.
func scanCandidate(c []byte, v *eventView, parts []streamPart) ([]streamPart, bool) {
	index := []byte("0")
	var content, finish []byte
	if jsonfield.Each(c, func(key, val []byte) bool {
		switch string(key) {
		case "index":
			index = val
		case "content":
			content = val
		case "finishReason":
			finish = stringContents(val)
		}
		return true
	}) != nil {
		return parts, false
	}
	if !bytes.Equal(index, []byte("0")) {
		return parts, true
	}
	v.finishReason = finish
	if content == nil || bytes.Equal(content, []byte("null")) {
		return parts, true
	}
	ok := true
	err := jsonfield.Each(content, func(key, val []byte) bool {
		if string(key) != "parts" {
			return true
		}
		err := jsonfield.EachElement(val, func(p []byte) bool {
			var sp streamPart
			if jsonfield.Each(p, func(key, val []byte) bool {
				switch string(key) {
				case "text":
					sp.text = stringContents(val)
					sp.escaped = bytes.IndexByte(sp.text, '\\') >= 0
				case "thought":
					sp.thought = bytes.Equal(val, []byte("true"))
				case "functionCall":
					sp.call = val
				case "thoughtSignature":
					sp.signature = stringContents(val)
				}
				return true
			}) != nil {
				ok = false
				return false
			}
			parts = append(parts, sp)
			return true
		})
		ok = ok && err == nil
		return ok
	})
	return parts, ok && err == nil
}

// scanUsage reads the token counts of a usageMetadata object.
func scanUsage(obj []byte, u *usageMetadata) bool {
	if bytes.Equal(obj, []byte("null")) {
		return true
	}
	ok := true
	err := jsonfield.Each(obj, func(key, val []byte) bool {
		var dst *int
		switch string(key) {
		case "promptTokenCount":
			dst = &u.PromptTokenCount
		case "candidatesTokenCount":
			dst = &u.CandidatesTokenCount
		case "toolUsePromptTokenCount":
			dst = &u.ToolUsePromptTokenCount
		case "thoughtsTokenCount":
			dst = &u.ThoughtsTokenCount
		case "cachedContentTokenCount":
			dst = &u.CachedContentTokenCount
		case "totalTokenCount":
			dst = &u.TotalTokenCount
		default:
			return true
		}
		*dst = jsonstr.Index(val)
		ok = *dst >= 0
		return ok
	})
	return ok && err == nil
}

// stringContents is the inside of a JSON string literal, nil for anything else.
func stringContents(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil
	}
	return v[1 : len(v)-1]
}
