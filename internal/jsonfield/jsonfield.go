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
	return Apply(obj, Edit{Key: key, Value: value, Add: true})
}

// Edit is one change Apply makes: member Key gets the raw JSON value Value, in
// place wherever it is present; when it is absent, it is appended if Add is set.
// Names are matched as written: an escaped name is another name.
type Edit struct {
	Key   string
	Value []byte
	Add   bool
}

// Apply returns a copy of obj with the edits made, in one pass over its members
// and one copy; obj is not modified. At most 64 edits.
func Apply(obj []byte, edits ...Edit) ([]byte, error) {
	type span struct{ start, end, edit int }
	var spans []span
	var seen uint64
	last := 0
	err := Each(obj, func(k, v []byte) bool {
		off := offset(obj, v)
		for i := range edits {
			if string(k) == edits[i].Key {
				spans = append(spans, span{off, off + len(v), i})
				seen |= 1 << i
				break
			}
		}
		last = off + len(v)
		return true
	})
	if err != nil {
		return nil, err
	}
	size := len(obj)
	for _, s := range spans {
		size += len(edits[s.edit].Value) - (s.end - s.start)
	}
	for i, e := range edits {
		if e.Add && seen&(1<<i) == 0 {
			size += len(e.Key) + len(e.Value) + 4
		}
	}
	out := make([]byte, 0, size)
	prev, members := 0, last > 0
	for _, s := range spans {
		out = append(out, obj[prev:s.start]...)
		out = append(out, edits[s.edit].Value...)
		prev = s.end
	}
	tail := last
	if !members { // empty object: members go after '{'
		tail = bytes.IndexByte(obj, '{') + 1
	}
	out = append(out, obj[prev:tail]...)
	for i, e := range edits {
		if !e.Add || seen&(1<<i) != 0 {
			continue
		}
		if members {
			out = append(out, ',')
		}
		out = appendKV(out, e.Key, e.Value)
		members = true
	}
	return append(out, obj[tail:]...), nil
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

// skipString returns the index after the string starting at b[i] == '"'. The
// next quote is found by bytes.IndexByte, which is vectorized: strings are most
// of a request's bytes. A quote after an odd run of backslashes is escaped, and
// the search goes on past it.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false
		}
		q := j + k
		run := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			run++
		}
		if run%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
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
