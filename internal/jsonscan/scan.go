package jsonscan

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/switchyard/switchyard/internal/jsonstr"
)

// The grammar below is RFC 8259's, as encoding/json's scanner implements it.

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanner walks valid values. With find set, it also notes whether a string of the
// values it walks (a member name or a string value, at any depth) decodes to find,
// so that a caller looking for one learns it in the validating pass.
type scanner struct {
	find  string
	found bool
	text  Text // what the strings walked hold
}

// note records whether the string quoted (valid, quotes included) decodes to find.
// A string written without escapes is compared in place, an escaped one decoded as
// far as it matches, without allocating: agents' tool arguments are short escaped
// strings, by the hundred.
func (s *scanner) note(quoted []byte, escaped bool) {
	raw := quoted[1 : len(quoted)-1]
	if string(raw) == s.find || escaped && decodesTo(raw, s.find) {
		s.found = true
	}
}

// decodesTo reports whether the valid string contents raw decode to the ASCII text
// find. A byte of 0x80 or above, or a \u escape of a non-ASCII character (a
// surrogate included), is never part of ASCII text, so decoding one byte per
// character is exact.
func decodesTo(raw []byte, find string) bool {
	k := 0
	for i := 0; i < len(raw); k++ {
		if k == len(find) {
			return false
		}
		c := raw[i]
		i++
		if c == '\\' {
			c, i = raw[i], i+1
			switch c {
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'u':
				r := hexValue(raw[i])<<12 | hexValue(raw[i+1])<<8 | hexValue(raw[i+2])<<4 | hexValue(raw[i+3])
				if r >= 0x80 {
					return false
				}
				c, i = byte(r), i+4
			}
		}
		if c != find[k] {
			return false
		}
	}
	return k == len(find)
}

// str returns the index after the valid string starting at b[i].
func (s *scanner) str(b []byte, i int) (int, bool) {
	end, text, ok := skipString(b, i)
	s.text |= text
	if ok && s.find != "" && !s.found {
		s.note(b[i:end], text&HasEscape != 0)
	}
	return end, ok
}

// value returns the index after the valid value starting at b[i]; depth is the
// number of containers around it.
func (s *scanner) value(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; c {
	case '"':
		return s.str(b, i)
	case '{':
		return s.object(b, i, depth+1)
	case '[':
		return s.array(b, i, depth+1)
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		if c == '-' || isDigit(c) {
			return skipNumber(b, i)
		}
		return 0, false
	}
}

func (s *scanner) object(b []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		end, ok := s.str(b, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		if i, ok = s.value(b, skipSpace(b, i+1), depth); !ok {
			return 0, false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

func (s *scanner) array(b []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = s.value(b, i, depth); !ok {
			return 0, false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// skipString returns the index after the valid string starting at b[i] == '"', and
// what it holds (Text: HasEscape, HasUnicodeEscape). Bytes of 0x80 and above are
// not checked for UTF-8, as encoding/json.Valid does not check them. Eight bytes
// are looked at a time. Agents' text has an escape every few words: noting them
// must cost nothing in the loop (a compare there cost 9%).
func skipString(b []byte, i int) (end int, text Text, ok bool) {
	j := i + 1
	escaped, unicode := false, false
	for j+8 <= len(b) {
		base := j
		m := jsonstr.Specials(binary.LittleEndian.Uint64(b[base:]))
		j += 8
		for m != 0 {
			k := base + bits.TrailingZeros64(m)>>3
			switch b[k] {
			case '"':
				return k + 1, textFlags(escaped, unicode), true
			case '\\':
				escaped = true
				if k+1 < len(b) && shortEscape[b[k+1]] {
					// Agents' text has one every few words: the marks of the
					// backslash and of the byte it escapes are cleared
					// without going through k, which would lengthen the chain
					// from one mark to the next.
					if bit := m & -m; bit < 1<<56 {
						m &^= bit | bit<<8
					} else { // the escaped byte begins the next word
						m, j = 0, k+2
					}
					continue
				}
				if j = skipEscape(b, k, &unicode); j < 0 {
					return 0, 0, false
				}
				if j-base >= 8 {
					m = 0
				} else {
					m &= ^uint64(0) << ((j - base) * 8)
					j = max(j, base+8)
				}
			default: // a control character
				return 0, 0, false
			}
		}
	}
	for j < len(b) {
		switch c := b[j]; {
		case c == '"':
			return j + 1, textFlags(escaped, unicode), true
		case c == '\\':
			escaped = true
			if j = skipEscape(b, j, &unicode); j < 0 {
				return 0, 0, false
			}
		case c < 0x20:
			return 0, 0, false
		default:
			j++
		}
	}
	return 0, 0, false
}

func textFlags(escaped, unicode bool) Text {
	switch {
	case unicode:
		return HasEscape | HasUnicodeEscape
	case escaped:
		return HasEscape
	}
	return 0
}

// shortEscape marks the bytes that follow a backslash in a two-byte escape.
var shortEscape = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// skipEscape returns the index after the escape starting at b[k] == '\\', or -1 if
// it is not one, and sets unicode for a \u escape: the rare kind, so that the
// common ones cost nothing more.
func skipEscape(b []byte, k int, unicode *bool) int {
	if k+1 >= len(b) {
		return -1
	}
	switch b[k+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return k + 2
	case 'u':
		if k+6 > len(b) || !isHex(b[k+2]) || !isHex(b[k+3]) || !isHex(b[k+4]) || !isHex(b[k+5]) {
			return -1
		}
		*unicode = true
		return k + 6
	}
	return -1
}

// skipNumber returns the index after the number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) (int, bool) {
	j := i
	if b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && '1' <= b[j] && b[j] <= '9':
		j = digits(b, j+1)
	default:
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		if j+1 >= len(b) || !isDigit(b[j+1]) {
			return 0, false
		}
		j = digits(b, j+1)
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || !isDigit(b[j]) {
			return 0, false
		}
		j = digits(b, j)
	}
	return j, true
}

func digits(b []byte, j int) int {
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	return j
}

func literal(b []byte, i int, word string) (int, bool) {
	if !bytes.HasPrefix(b[i:], []byte(word)) {
		return 0, false
	}
	return i + len(word), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// hexValue is the value of the hex digit c.
func hexValue(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c - 'a' + 10)
	}
	return int(c - 'A' + 10)
}

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
