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
	bad := false
	_, err := EachAt(obj, 0, func(key []byte, v int) int {
		end, ok := skipValue(obj, v)
		if bad = !ok; bad || !fn(key, obj[v:end]) {
			return -1
		}
		return end
	})
	switch {
	case bad:
		return ErrNotObject
	case err == ErrStopped:
		return nil
	}
	return err
}

// ErrStopped is EachAt's and EachElementAt's error when their fn stopped them.
var ErrStopped = errors.New("jsonfield: stopped")

// EachAt is Each for the object that starts at b[i] (after any space), for a
// caller that reads each value itself: fn gets the member's raw key and the
// index of its value's first byte, and returns the index just past the value
// as it read it, or -1 to stop (ErrStopped). EachAt returns the index just past
// the object. Each steps over every value to find where it ends before its fn
// reads it; a caller that reads nested values (a conversation's turns, their
// blocks) would step over the same text once per level.
func EachAt(b []byte, i int, fn func(key []byte, v int) int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, ErrNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrNotObject
		}
		keyEnd, ok := skipString(b, i)
		if !ok {
			return 0, ErrNotObject
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, ErrNotObject
		}
		i = skipSpace(b, i+1)
		valEnd := fn(key, i)
		if valEnd < 0 {
			return 0, ErrStopped
		}
		next, done, ok := afterValue(b, i, valEnd, '}')
		switch {
		case !ok:
			return 0, ErrNotObject
		case done:
			return next, nil
		}
		i = next
	}
}

// afterValue steps past the space and the comma after the value b[i:end] of a
// container that closes with close: next is where the next member or element
// starts, or, when done, the index just past the container. ok is false for
// anything else, and for an end a reader returned that is not past i or is past
// b.
func afterValue(b []byte, i, end int, close byte) (next int, done, ok bool) {
	if end <= i || end > len(b) {
		return 0, false, false
	}
	j := skipSpace(b, end)
	switch {
	case j >= len(b):
		return 0, false, false
	case b[j] == ',':
		return skipSpace(b, j+1), false, true
	case b[j] == close:
		return j + 1, true, true
	}
	return 0, false, false
}

// SkipAt returns the index just past the value that starts at b[i].
func SkipAt(b []byte, i int) (int, bool) { return skipValue(b, i) }

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
	pieces, err := Splice(obj, edits...)
	if err != nil {
		return nil, err
	}
	return bytes.Join(pieces, nil), nil
}

// Splice is Apply without the copy: obj with the edits made, in pieces to be sent
// one after another, every byte of obj in place (slices of it) and the new values
// between them. For a body of hundreds of kilobytes whose model alone changes.
func Splice(obj []byte, edits ...Edit) ([][]byte, error) {
	var at Layout
	err := Each(obj, func(k, v []byte) bool {
		// Only the members edited are noted: a body of a million members would
		// otherwise hold a span for each.
		for i := range edits {
			if string(k) == edits[i].Key {
				at.Note(obj, k, v)
				return true
			}
		}
		at.NoteEnd(obj, v)
		return true
	})
	if err != nil {
		return nil, err
	}
	return SpliceAt(obj, at, edits...), nil
}

// Layout is where the members of an object lie, noted by a caller's own pass over
// it (Note), so that SpliceAt edits it without a second pass.
type Layout struct {
	spans []span
	// last is the offset just past the last member's value; 0 for no member.
	last int
}

type span struct {
	key        []byte // a slice of the object
	start, end int
}

// Note records member k of obj, whose raw name k and value v are slices of obj.
func (l *Layout) Note(obj, k, v []byte) {
	if l.spans == nil {
		l.spans = make([]span, 0, 4)
	}
	off := offset(obj, v)
	l.spans = append(l.spans, span{k, off, off + len(v)})
	l.last = off + len(v)
}

// NoteEnd records the end of the last member of obj, v its raw value, for a
// caller that notes only the members it will edit.
func (l *Layout) NoteEnd(obj, v []byte) { l.last = offset(obj, v) + len(v) }

// SpliceAt is Splice of obj at the layout noted of it: the members noted that an
// edit names get its value. At most 64 edits.
func SpliceAt(obj []byte, at Layout, edits ...Edit) [][]byte {
	var seen uint64
	pieces := make([][]byte, 0, 2*len(at.spans)+3)
	prev, members := 0, at.last > 0
	for _, s := range at.spans {
		for i := range edits {
			if string(s.key) == edits[i].Key {
				pieces = append(pieces, obj[prev:s.start:s.start], edits[i].Value)
				prev = s.end
				seen |= 1 << i
				break
			}
		}
	}
	tail := at.last
	if !members { // empty object: members go after '{'
		tail = bytes.IndexByte(obj, '{') + 1
	}
	pieces = append(pieces, obj[prev:tail:tail])
	var added []byte
	for i, e := range edits {
		if !e.Add || seen&(1<<i) != 0 {
			continue
		}
		if members {
			added = append(added, ',')
		}
		added = appendKV(added, e.Key, e.Value)
		members = true
	}
	if len(added) > 0 {
		pieces = append(pieces, added)
	}
	return append(pieces, obj[tail:])
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
