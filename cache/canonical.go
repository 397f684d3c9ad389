package cache

import (
	"bytes"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// maxDepth bounds the nesting canon follows. Each level rescans its value (jsonfield
// finds a value's end by scanning it), so the bound keeps the cost linear in the body
// size; real requests, tool schemas included, stay far below it. A deeper body is not
// cached.
const maxDepth = 64

// canon writes the canonical JSON of a valid JSON document: object members sorted by
// key (the last of duplicate keys only, as encoding/json and Python's json keep),
// strings with escapes decoded and re-encoded one way, numbers with a fraction or
// exponent in shortest decimal form, no whitespace. Two documents a JSON parser reads
// as equal get the same bytes. It works on the raw bytes, building no tree.
type canon struct {
	out     []byte
	members []member // a stack: each object being written owns a tail
	keys    []byte   // decoded keys that had escapes; grows for one document
	scratch []byte   // one decoded string at a time
}

type member struct{ key, value []byte }

func (c *canon) reset() {
	c.out, c.members, c.keys, c.scratch = c.out[:0], c.members[:0], c.keys[:0], c.scratch[:0]
}

// value appends the canonical form of v; false when v is nested deeper than maxDepth
// or malformed.
func (c *canon) value(v []byte, depth int) bool {
	switch v[0] {
	case '{':
		if depth >= maxDepth {
			return false
		}
		base := len(c.members)
		return c.collect(v) && c.object(base, depth)
	case '[':
		if depth >= maxDepth {
			return false
		}
		c.out = append(c.out, '[')
		n, ok := 0, true
		err := jsonfield.EachElement(v, func(e []byte) bool {
			if n > 0 {
				c.out = append(c.out, ',')
			}
			n++
			ok = c.value(e, depth+1)
			return ok
		})
		c.out = append(c.out, ']')
		return err == nil && ok
	case '"':
		c.str(v)
	case 't', 'f', 'n':
		c.out = append(c.out, v...)
	default:
		c.number(v)
	}
	return true
}

// collect pushes the members of object v, sorted by decoded key, keeping the last
// of equal keys.
func (c *canon) collect(v []byte) bool {
	base := len(c.members)
	if jsonfield.Each(v, func(k, val []byte) bool {
		c.members = append(c.members, member{c.key(k), val})
		return true
	}) != nil {
		return false
	}
	slices.SortStableFunc(c.members[base:], func(a, b member) int { return bytes.Compare(a.key, b.key) })
	kept := base
	for i := base; i < len(c.members); i++ {
		if i+1 < len(c.members) && bytes.Equal(c.members[i].key, c.members[i+1].key) {
			continue
		}
		c.members[kept] = c.members[i]
		kept++
	}
	c.members = c.members[:kept]
	return true
}

// object writes the members pushed from base on, then pops them. Nested objects push
// above them, so members are indexed afresh after each value.
func (c *canon) object(base, depth int) bool {
	end := len(c.members)
	c.out = append(c.out, '{')
	for i := base; i < end; i++ {
		if i > base {
			c.out = append(c.out, ',')
		}
		m := c.members[i]
		c.out = providers.AppendJSONString(c.out, jsonstr.View(m.key))
		c.out = append(c.out, ':')
		if !c.value(m.value, depth+1) {
			return false
		}
	}
	c.out = append(c.out, '}')
	c.members = c.members[:base]
	return true
}

// key decodes a raw member key (without quotes); most have no escape and are used
// in place.
func (c *canon) key(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw
	}
	start := len(c.keys)
	c.keys = unescape(c.keys, raw)
	return c.keys[start:len(c.keys):len(c.keys)]
}

func (c *canon) str(v []byte) {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		c.out = providers.AppendJSONString(c.out, jsonstr.View(inner))
		return
	}
	c.scratch = unescape(c.scratch[:0], inner)
	c.out = providers.AppendJSONString(c.out, jsonstr.View(c.scratch))
}

// number keeps integers as written (a seed may exceed float64's precision) and
// writes other numbers in shortest decimal form, so 0, 0.0 and 0e0 agree.
func (c *canon) number(v []byte) {
	if bytes.ContainsAny(v, ".eE") {
		if f, err := strconv.ParseFloat(jsonstr.View(v), 64); err == nil {
			c.out = strconv.AppendFloat(c.out, f, 'f', -1, 64)
			return
		}
	}
	c.out = append(c.out, v...)
}

// unescape appends the decoded content of a JSON string (s without its quotes) to
// dst. Like encoding/json, it turns each invalid UTF-8 byte and each unpaired
// surrogate into U+FFFD, so that a string and its re-encoding by encoding/json
// decode alike. Malformed escapes, which valid JSON does not have, are kept as they
// are.
func unescape(dst, s []byte) []byte {
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '\\' && len(s) >= 2:
			if s[1] == 'u' {
				r, ok := jsonstr.Hex4(s[2:])
				if !ok {
					dst = append(dst, s[:2]...)
					s = s[2:]
					continue
				}
				s = s[6:]
				if utf16.IsSurrogate(r) {
					next := rune(-1)
					if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
						next, _ = jsonstr.Hex4(s[2:])
					}
					if d := utf16.DecodeRune(r, next); d != utf8.RuneError {
						r = d
						s = s[6:]
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			}
			dst = append(dst, unescaped(s[1]))
			s = s[2:]
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			s = s[1:]
		default:
			r, size := utf8.DecodeRune(s)
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[:size]...)
			}
			s = s[size:]
		}
	}
	return dst
}

// unescaped is the byte a one-letter escape stands for ("\"", "\\" and "\/" stand
// for themselves).
func unescaped(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c
}
