// Package jsonstr decodes JSON string values in place, without encoding/json's
// reflection and allocations: the stream decoders of translating providers read
// every text delta through it.
package jsonstr

import (
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Contents returns what lies between the quotes of a raw JSON string value.
func Contents(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	return v[1 : len(v)-1], true
}

// Unescape appends the decoded contents of a JSON string (s, without its quotes) to
// dst. It reports false for what valid JSON cannot hold: a raw control character,
// a bare quote, a malformed escape. A lone surrogate becomes U+FFFD, as encoding/json
// decodes it. Text without escapes is copied as is.
func Unescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			if c < 0x20 || c == '"' {
				return dst, false
			}
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
			r, ok := Hex4(s[i+1:])
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair spans two escapes; a lone half is U+FFFD.
				low, okLow := rune(-1), false
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					low, okLow = Hex4(s[i+3:])
				}
				if d := utf16.DecodeRune(r, low); okLow && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

// NeedsUnescape reports whether s holds an escape; without one it is its own
// decoded value.
func NeedsUnescape(s []byte) bool {
	for _, c := range s {
		if c == '\\' {
			return true
		}
	}
	return false
}

// Hex4 reads the four hex digits of a \u escape.
func Hex4(b []byte) (rune, bool) {
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

// View views b as a string without copying it. Only for a callee that copies the
// string at once and does not keep it (a StreamEncoder's appends), so that a text
// delta costs no allocation; b must not change while the string is in use.
func View(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Decode returns the decoded value of a raw JSON string: its contents in place when
// they hold no escape (the common case: no copy), else decoded into buf, which is
// returned for reuse. ok is false for what is not a well-formed JSON string.
func Decode(buf, v []byte) (value, reuse []byte, ok bool) {
	s, ok := Contents(v)
	if !ok {
		return nil, buf, false
	}
	if !NeedsUnescape(s) {
		for _, c := range s {
			if c < 0x20 || c == '"' {
				return nil, buf, false
			}
		}
		return s, buf, true
	}
	out, ok := Unescape(buf[:0], s)
	return out, out, ok
}

// String decodes a raw JSON string value as encoding/json does, without its
// reflection: in place when it holds no escape, and with each byte that is not
// UTF-8 replaced by U+FFFD, as encoding/json replaces it. ok is false for what is
// not a well-formed JSON string.
func String(v []byte) (string, bool) {
	s, ok := Contents(v)
	if !ok {
		return "", false
	}
	escaped, quoted, ascii := false, false, true
	for _, c := range s {
		switch {
		case c < 0x20:
			return "", false
		case c == '"':
			quoted = true
		case c == '\\':
			escaped = true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	out := s
	if escaped {
		// Unescape refuses a bare quote; its escapes write whole UTF-8 sequences.
		if out, ok = Unescape(make([]byte, 0, len(s)), s); !ok {
			return "", false
		}
	} else if quoted {
		return "", false
	}
	if !ascii && !utf8.Valid(out) {
		return replaceInvalid(out), true
	}
	return string(out), true
}

// replaceInvalid is b with each byte that begins no UTF-8 sequence as U+FFFD, as
// encoding/json decodes it.
func replaceInvalid(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}

// Index reads a non-negative JSON integer (an index, a token count) of at most 18
// digits without allocating; -1 when v is not one.
func Index(v []byte) int {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
