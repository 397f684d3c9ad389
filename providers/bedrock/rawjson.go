package bedrock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// Reading the client's JSON in place. Every request body was validated by
// providers.ParseChat (jsonscan, as strict as encoding/json.Valid); these walk
// it again without building a tree, delimiting strings and containers rather
// than validating them again, and check every index they use: a malformed
// document gives an error or a malformed translation, never a panic or a read
// out of bounds.

var errMalformed = errors.New("malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index after the value starting at b[i]. Strings and
// containers are only delimited: a string ends at its closing quote, found by
// memchr (strings are most of a chat request), a container at its closing
// bracket; numbers and literals are checked.
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		return containerEnd(b, i)
	}
	return jsonscan.End(b, i)
}

// containerEnd returns the index after the object or array starting at b[i]:
// after the bracket that closes it, strings stepped over whole.
func containerEnd(b []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, ok := stringEnd(b, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// stringEnd returns the index after the string starting at b[i] == '"': after
// the first quote that an even number of backslashes precedes (short strings:
// names, ids; text goes through scanString).
func stringEnd(b []byte, i int) (int, bool) {
	// Most are a few bytes: walked, escapes stepped over; past 16, memchr.
	j := i + 1
	for lim := min(len(b), j+16); j < lim; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	if j > len(b) {
		return 0, false
	}
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false
		}
		j += k
		if !escaped(b, i, j) {
			return j + 1, true
		}
		j++
	}
}

// object walks the members of a JSON object.
type object struct {
	b    []byte
	i    int
	name []byte // a decoded name with escapes; reused
}

// newObject starts walking the object that begins b; ok is false when b does
// not begin with one. b may go on after the object (see end).
func newObject(b []byte) (object, bool) {
	if len(b) == 0 || b[0] != '{' {
		return object{}, false
	}
	return object{b: b, i: 1}, true
}

// next returns the next member's name (escapes decoded) and raw value; a nil
// name after the last.
func (o *object) next() (name, value []byte, err error) {
	name, at, err := o.member()
	if err != nil || name == nil {
		return nil, nil, err
	}
	end, ok := valueEnd(o.b, at)
	if !ok {
		return nil, nil, errMalformed
	}
	o.i = end
	return name, o.b[at:end], nil
}

// member returns the next member's name (escapes decoded) and the index in b
// where its value starts; a nil name after the last. The caller reads the value
// and calls skipTo with its end.
func (o *object) member() (name []byte, at int, err error) {
	b := o.b
	i := skipSpace(b, o.i)
	if i < len(b) && b[i] == ',' && o.i > 1 {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) {
		return nil, 0, errMalformed
	}
	if b[i] == '}' {
		o.i = i + 1
		return nil, 0, nil
	}
	if b[i] != '"' {
		return nil, 0, errMalformed
	}
	end, ok := stringEnd(b, i)
	if !ok {
		return nil, 0, errMalformed
	}
	name = b[i+1 : end-1]
	if needsDecode(name) {
		o.name = unquote(o.name[:0], name)
		name = o.name
	}
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, 0, errMalformed
	}
	if i = skipSpace(b, i+1); i >= len(b) {
		return nil, 0, errMalformed
	}
	return name, i, nil
}

// skipTo records that the member's value ends at index end.
func (o *object) skipTo(end int) { o.i = end }

// end is the index in b after the object, once next has returned its last member.
func (o *object) end() int { return o.i }

// array walks the elements of a JSON array value.
type array struct {
	b []byte
	i int
}

// newArray starts walking the array that begins v; ok is false when v does not
// begin with one. v may go on after the array (see end).
func newArray(v []byte) (array, bool) {
	if len(v) == 0 || v[0] != '[' {
		return array{}, false
	}
	return array{b: v, i: 1}, true
}

// start moves to the next element and returns its index in the array's bytes,
// or -1 after the last. The caller reads the element and calls skipTo with its
// end, or calls next instead.
func (a *array) start() (int, error) {
	b := a.b
	i := skipSpace(b, a.i)
	if i < len(b) && b[i] == ',' && a.i > 1 {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) {
		return 0, errMalformed
	}
	if b[i] == ']' {
		a.i = i + 1
		return -1, nil
	}
	a.i = i
	return i, nil
}

// end is the index in b after the array, once start has returned -1.
func (a *array) end() int { return a.i }

// skipTo records that the element ends at index end.
func (a *array) skipTo(end int) { a.i = end }

// next returns the next element; nil after the last.
func (a *array) next() ([]byte, error) {
	i, err := a.start()
	if err != nil || i < 0 {
		return nil, err
	}
	end, ok := valueEnd(a.b, i)
	if !ok {
		return nil, errMalformed
	}
	a.i = end
	return a.b[i:end], nil
}

// fieldOf is the index in fields of the struct field encoding/json would decode
// a member called name into: the one spelled exactly so, else one equal under its
// case folding (bytes.EqualFold); -1 for none.
func fieldOf(name []byte, fields []string) int {
	for k, f := range fields {
		if string(name) == f {
			return k
		}
	}
	for k, f := range fields {
		if bytes.EqualFold(name, []byte(f)) {
			return k
		}
	}
	return -1
}

func isNullValue(v []byte) bool { return string(v) == "null" }

// needsDecode reports whether string contents differ from their decoded value or
// may: an escape, or a byte that may be invalid UTF-8.
func needsDecode(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// SWAR constants: a byte repeated in every lane of a uint64.
const (
	lanes01 = 0x0101010101010101
	lanes7f = 0x7f7f7f7f7f7f7f7f
	lanes80 = 0x8080808080808080
)

// attention marks (with its high bit) each byte of x that scanString stops at: a
// quote, a backslash, a control character or a byte of 0x80 and above. The marks
// are exact (lanes are compared in their low seven bits, where no sum carries into
// the next lane), so one load serves every mark in it.
func attention(x uint64) uint64 {
	t := x & lanes7f
	notQuote := (t ^ '"'*lanes01) + lanes7f
	notSlash := (t ^ '\\'*lanes01) + lanes7f
	atLeast20 := t + (0x80-0x20)*lanes01
	return (^(notQuote & notSlash & atLeast20) | x) & lanes80
}

// scanString returns the index after the string that starts at b[i] (a quote),
// and whether its contents are their own canonical encoding (see transcode):
// printable ASCII with no \u or \/ escape. It reads eight bytes at a time, and
// every mark of a word from one load: agent text is dense with \n, \t and \"
// (all canonical).
func scanString(b []byte, i int) (end int, canonical, ok bool) {
	canonical = true
	j := i + 1
	for j+8 <= len(b) {
		base := j
		m := attention(binary.LittleEndian.Uint64(b[base:]))
		j += 8
		for m != 0 {
			k := base + bits.TrailingZeros64(m)>>3
			switch c := b[k]; {
			case c == '"':
				return k + 1, canonical, true
			case c == '\\':
				if k+1 >= len(b) {
					return 0, false, false
				}
				if e := b[k+1]; e == 'u' || e == '/' {
					canonical = false
				}
				// The marks of the backslash and the byte it escapes are
				// cleared from the lowest mark, not through k: a shorter chain
				// from one mark to the next (agents' text has one every few
				// words).
				if bit := m & -m; bit < 1<<56 {
					m &^= bit | bit<<8
				} else { // the escaped byte begins the next word
					m, j = 0, k+2
				}
			default: // a control character or non-ASCII
				canonical = false
				m &= m - 1
			}
		}
	}
	for ; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, canonical, true
		case c == '\\':
			if j+1 >= len(b) {
				return 0, false, false
			}
			if e := b[j+1]; e == 'u' || e == '/' {
				canonical = false
			}
			j++
		case c < 0x20, c >= utf8.RuneSelf:
			canonical = false
		}
	}
	return 0, false, false
}

// escaped reports whether b[j] follows an odd number of backslashes, counting
// back to b[i], the opening quote.
func escaped(b []byte, i, j int) bool {
	n := 0
	for k := j - 1; k > i && b[k] == '\\'; k-- {
		n++
	}
	return n&1 == 1
}

const hexDigits = "0123456789abcdef"

// transcode appends the contents of the JSON string that starts at b[i] (a
// quote) as encoding/json (without HTML escaping) writes the string it decodes
// to, and returns the index after the closing quote: the escapes \" \\ \b \f \n
// \r \t as they are, \/ and every other \u escape decoded, control characters,
// U+2028 and U+2029 escaped, invalid UTF-8 and lone surrogates as U+FFFD. ok is
// false when the string does not end. The string must be valid JSON (the body
// was validated): in canonical text an invalid escape would be copied as it is.
func transcode(dst, b []byte, i int) (out []byte, end int, ok bool) {
	end, canonical, ok := scanString(b, i)
	if !ok {
		return dst, 0, false
	}
	s := b[i+1 : end-1]
	if canonical {
		return append(dst, s...), end, true
	}
	start := 0
	for j := 0; j < len(s); {
		switch c := s[j]; {
		case c == '\\':
			switch {
			case j+1 < len(s) && (s[j+1] == 'u' || s[j+1] == '/'):
				dst = append(dst, s[start:j]...)
				r, n := unescapeAt(s, j)
				dst = appendRune(dst, r)
				j += n
				start = j
			default:
				j += 2 // written as it is
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(s[j:])
			if n == 1 || r == '\u2028' || r == '\u2029' {
				dst = append(dst, s[start:j]...)
				dst = appendRune(dst, r)
				start = j + n
			}
			j += n
		case c < 0x20:
			// Not in valid JSON: escaped all the same.
			dst = append(dst, s[start:j]...)
			dst = appendRune(dst, rune(c))
			j++
			start = j
		default:
			j++
		}
	}
	return append(dst, s[start:]...), end, true
}

// appendString appends a JSON string token in encoding/json's encoding.
func appendString(dst, tok []byte) []byte {
	return append(appendContents(append(dst, '"'), tok), '"')
}

// appendContents appends what appendString puts between the quotes; nothing for
// a nil token.
func appendContents(dst, tok []byte) []byte {
	if len(tok) > 0 {
		dst, _, _ = transcode(dst, tok, 0)
	}
	return dst
}

// blank reports whether a string token is absent or empty.
func blank(tok []byte) bool { return len(tok) <= 2 }

// appendRune appends a decoded character in encoding/json's escaping.
func appendRune(dst []byte, r rune) []byte {
	switch r {
	case '"', '\\':
		return append(dst, '\\', byte(r))
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\u2028', '\u2029':
		return append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
	}
	return utf8.AppendRune(dst, r)
}

// unescapeAt decodes the escape at s[i] (a backslash) as encoding/json does and
// returns the character and the bytes it spans. A surrogate pair spans two \u
// escapes; a lone surrogate, and a malformed escape, is U+FFFD.
func unescapeAt(s []byte, i int) (rune, int) {
	if i+1 >= len(s) {
		return utf8.RuneError, 1
	}
	switch c := s[i+1]; c {
	case '"', '\\', '/':
		return rune(c), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := jsonstr.Hex4(s[i+2:])
		if !ok {
			return utf8.RuneError, 2
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if lo, ok := jsonstr.Hex4(s[i+8:]); ok {
				if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return utf8.RuneError, 2
}

// unquote appends the decoded value of a JSON string's contents (s, between its
// quotes), as encoding/json decodes it: invalid UTF-8 becomes U+FFFD.
func unquote(dst, s []byte) []byte {
	start, i := 0, 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\':
			dst = append(dst, s[start:i]...)
			r, n := unescapeAt(s, i)
			dst = utf8.AppendRune(dst, r)
			i += n
			start = i
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(s[i:])
			if n == 1 {
				dst = append(dst, s[start:i]...)
				dst = utf8.AppendRune(dst, r)
				start = i + 1
			}
			i += n
		default:
			i++
		}
	}
	return append(dst, s[start:]...)
}

// contents is what lies between a JSON string token's quotes.
func contents(tok []byte) []byte {
	if len(tok) < 2 {
		return nil
	}
	return tok[1 : len(tok)-1]
}

// appendCompact appends the valid JSON document src without insignificant
// whitespace, everything else as written, as encoding/json writes a RawMessage.
func appendCompact(dst, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			i = skipSpace(src, i)
			start = i
		case '"':
			end, ok := stringEnd(src, i)
			if !ok {
				return append(dst, src[start:]...)
			}
			i = end
		default:
			i++
		}
	}
	return append(dst, src[start:]...)
}
