// Package jsonfield reads and edits the members of one JSON object in place, without
// decoding and re-encoding the rest of the document. The proxy uses it to rewrite
// "model" and a few other members of request bodies it otherwise forwards verbatim.
package jsonfield

import (
	"bytes"
	"errors"
)

// ErrNotObject is returned for input that is not a well-formed JSON object.
var ErrNotObject = errors.New("jsonfield: not a JSON object")

// Each calls fn for every member of the object in obj, in order, with the member's
// raw key (without quotes, escapes not decoded) and raw value. It stops early when fn
// returns false. It checks structure only: callers that need full validation (string
// escapes, number syntax) run json.Valid first.
func Each(obj []byte, fn func(key, value []byte) bool) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return ErrNotObject
		}
		keyEnd, ok := skipString(obj, i)
		if !ok {
			return ErrNotObject
		}
		key := obj[i+1 : keyEnd-1]
		i = skipSpace(obj, keyEnd)
		if i >= len(obj) || obj[i] != ':' {
			return ErrNotObject
		}
		i = skipSpace(obj, i+1)
		valEnd, ok := skipValue(obj, i)
		if !ok {
			return ErrNotObject
		}
		if !fn(key, obj[i:valEnd]) {
			return nil
		}
		i = skipSpace(obj, valEnd)
		if i >= len(obj) {
			return ErrNotObject
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return nil
		default:
			return ErrNotObject
		}
	}
}

// Get returns the raw value of the member key, or nil when absent.
func Get(obj []byte, key string) ([]byte, error) {
	var found []byte
	err := Each(obj, func(k, v []byte) bool {
		if string(k) == key {
			found = v
			return false
		}
		return true
	})
	return found, err
}

// Set returns a copy of obj whose member key has the raw JSON value value: replaced
// in place when present (every occurrence), appended otherwise. obj is not modified.
func Set(obj []byte, key string, value []byte) ([]byte, error) {
	type span struct{ start, end int }
	var spans []span
	var last int
	err := Each(obj, func(k, v []byte) bool {
		off := offset(obj, v)
		if string(k) == key {
			spans = append(spans, span{off, off + len(v)})
		}
		last = off + len(v)
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return appendMember(obj, last, key, value), nil
	}
	out := make([]byte, 0, len(obj)+len(spans)*(len(value)))
	prev := 0
	for _, s := range spans {
		out = append(out, obj[prev:s.start]...)
		out = append(out, value...)
		prev = s.end
	}
	return append(out, obj[prev:]...), nil
}

// Delete returns a copy of obj without the member key (every occurrence).
func Delete(obj []byte, key string) ([]byte, error) {
	out := make([]byte, 0, len(obj))
	out = append(out, '{')
	first := true
	err := Each(obj, func(k, v []byte) bool {
		if string(k) == key {
			return true
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '"')
		out = append(out, k...)
		out = append(out, '"', ':')
		out = append(out, v...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}

// appendMember inserts "key":value after the last member (ending at last), or into
// an empty object.
func appendMember(obj []byte, last int, key string, value []byte) []byte {
	out := make([]byte, 0, len(obj)+len(key)+len(value)+4)
	if last == 0 { // empty object: insert after '{'
		open := bytes.IndexByte(obj, '{')
		out = append(out, obj[:open+1]...)
		out = appendKV(out, key, value)
		return append(out, obj[open+1:]...)
	}
	out = append(out, obj[:last]...)
	out = append(out, ',')
	out = appendKV(out, key, value)
	return append(out, obj[last:]...)
}

func appendKV(out []byte, key string, value []byte) []byte {
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	return append(out, value...)
}

// offset is the index of sub within obj; sub is always a subslice of obj.
func offset(obj, sub []byte) int {
	return cap(obj) - cap(sub)
}

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

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return 0, false
				}
				return j, true
			}
			j++
		}
		if j == i {
			return 0, false
		}
		return j, true
	}
}
