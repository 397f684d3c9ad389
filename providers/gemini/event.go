package gemini

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/switchyard/switchyard/internal/jsonfield"
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
		*dst, ok = atoi(val)
		return ok
	})
	return ok && err == nil
}

// atoi reads a non-negative JSON integer; token counts are never negative.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// stringContents is the inside of a JSON string literal, nil for anything else.
func stringContents(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil
	}
	return v[1 : len(v)-1]
}

// unescape appends the decoded contents of a JSON string (without its quotes) to
// dst. Lone surrogates become U+FFFD, as encoding/json decodes them.
func unescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if low, ok := hex4(s[i+3:]); ok {
						if d := utf16.DecodeRune(r, low); d != utf8.RuneError {
							r2 = d
							i += 6
						}
					}
				}
				r = r2
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// bytesString views b as a string without copying it. Only for arguments that the
// callee copies at once and does not keep (the StreamEncoder's appends), so that a
// text delta costs no allocation.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
