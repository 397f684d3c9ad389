// Package jsonstr decodes JSON string values in place, without encoding/json's
// reflection and allocations: the stream decoders of translating providers read
// every text delta through it.
package jsonstr

import (
	"encoding/binary"
	"math/bits"
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
// decodes it. The text between escapes is copied a run at a time.
func Unescape(dst, s []byte) ([]byte, bool) {
	for i := 0; ; i++ {
		j := Plain(s, i)
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			return dst, true
		}
		if s[j] != '\\' || j+1 >= len(s) {
			return dst, false
		}
		i = j + 1
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
}

const (
	lanes01 = 0x0101010101010101
	lanes7f = 0x7f7f7f7f7f7f7f7f
	lanes80 = 0x8080808080808080
	quotes  = '"' * lanes01
	slashes = '\\' * lanes01
)

// Specials marks, with 0x80 in its lane, each byte of x that needs attention inside
// a string: a quote, a backslash or a control character (below 0x20). The marks are
// exact: lanes are compared in their low seven bits, where no sum carries into the
// next lane, and a byte of 0x80 or above is never marked. Exact marks let one load
// serve every special byte in it: agents' tool results have an escape every few
// words.
func Specials(x uint64) uint64 {
	t := x & lanes7f
	notQuote := (t ^ quotes) + lanes7f
	notSlash := (t ^ slashes) + lanes7f
	atLeast20 := t + (0x80-0x20)*lanes01
	return ^(notQuote&notSlash&atLeast20 | x) & lanes80
}

// Plain returns the index of the first byte of s at or after i that is a quote,
// a backslash or a control character, or len(s): s[i:Plain(s, i)] is text a JSON
// string holds as it is. Eight bytes are looked at a time.
func Plain(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := Specials(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
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
	j := Plain(s, 0)
	if j == len(s) {
		return s, buf, true
	}
	if s[j] != '\\' {
		return nil, buf, false
	}
	out, ok := Unescape(append(buf[:0], s[:j]...), s[j:])
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
	j := Plain(s, 0)
	if j == len(s) {
		if !utf8.Valid(s) {
			return replaceInvalid(s), true
		}
		return string(s), true
	}
	if s[j] != '\\' {
		return "", false
	}
	// Unescape refuses a bare quote or a control character after the first
	// escape. Its output is new and kept by nothing else: the string takes it.
	out, ok := Unescape(append(make([]byte, 0, len(s)), s[:j]...), s[j:])
	switch {
	case !ok:
		return "", false
	case !utf8.Valid(out):
		return replaceInvalid(out), true
	}
	return unsafe.String(unsafe.SliceData(out), len(out)), true
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
