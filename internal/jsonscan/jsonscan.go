// Package jsonscan validates a JSON document and reads the members of its top-level
// object in the same single pass, refusing members that two JSON decoders could read
// differently.
//
// # One meaning per request
//
// The proxy routes on a few members of a request body (model, stream, max_tokens,
// ...) and forwards the body as sent, with only model rewritten, to an upstream that
// decodes it again with its own JSON library. Decoders disagree on member names:
//
//   - a name written with escapes ("mod\u0065l") is "model" to every decoder, but not
//     to a scanner that compares raw bytes;
//   - a repeated member is the last one for encoding/json and Python's json, the
//     first one for others;
//   - encoding/json, which Go upstreams use (Ollama, Go gateways), matches struct
//     fields case-insensitively under Unicode simple folding ("Model", "ſtream" with
//     U+017F), while Python's json and JavaScript match names exactly.
//
// A body that the proxy and the upstream read differently lets a client pass the
// proxy's checks with one value (an allowed model, a capped max_tokens, no stream)
// and be served on another. Members refuses such bodies rather than rebuilding them,
// because a rebuild would cost a full decode and encode of every request (agent
// conversations of several hundred kilobytes), while refusing costs nothing beyond
// the validation the proxy does anyway. In an object whose members the caller
// reads, a member is refused when
//
//   - its name, after decoding escapes, repeats an earlier member's (any name);
//   - its name contains an escape and decodes to a name the caller reads;
//   - its name equals a name the caller reads under encoding/json's case folding
//     but is not spelled exactly so.
//
// Every other body is forwarded byte for byte, so the fields the proxy did not read
// mean to the upstream whatever they meant to the client.
package jsonscan

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit: deeper documents are invalid to it.
const maxDepth = 10000

var (
	// ErrSyntax: the document is not valid JSON (as encoding/json.Valid judges it).
	ErrSyntax = errors.New("jsonscan: invalid JSON")
	// ErrNotObject: the document is valid JSON but not an object.
	ErrNotObject = errors.New("jsonscan: not a JSON object")
)

// Kind is why a member is ambiguous.
type Kind uint8

// Kinds of ambiguity.
const (
	// Duplicate: the decoded name repeats an earlier member's.
	Duplicate Kind = iota + 1
	// Escaped: the name is an escaped spelling of a read name.
	Escaped
	// CaseVariant: the name folds to a read name without being spelled so.
	CaseVariant
)

// AmbiguousError is a member that decoders could read differently.
type AmbiguousError struct {
	Kind Kind
	// Name is the member's name after decoding escapes.
	Name string
	// Raw is the name as written, between its quotes.
	Raw string
	// Of is the read name it collides with (Escaped, CaseVariant).
	Of string
}

func (e *AmbiguousError) Error() string {
	switch e.Kind {
	case Duplicate:
		return "duplicate member " + strconv.Quote(e.Name)
	case Escaped:
		return "member " + strconv.Quote(e.Raw) + " is an escaped spelling of " + strconv.Quote(e.Of)
	}
	return "member " + strconv.Quote(e.Name) + " differs from " + strconv.Quote(e.Of) + " only in case"
}

// Names is the set of member names a caller reads in one object. The names must be
// distinct under case folding.
type Names struct {
	list  []string
	bytes [][]byte
}

// NewNames returns the set of names.
func NewNames(names ...string) *Names {
	n := &Names{list: names}
	for _, s := range names {
		n.bytes = append(n.bytes, []byte(s))
	}
	return n
}

// Valid reports whether doc is valid JSON. It agrees with encoding/json.Valid on
// every input (FuzzValid holds it to that): strings are not checked for valid UTF-8,
// and nesting deeper than 10000 levels is invalid.
func Valid(doc []byte) bool {
	var s scanner
	i, ok := s.value(doc, skipSpace(doc, 0), 0)
	return ok && skipSpace(doc, i) == len(doc)
}

// Members validates doc in one pass and calls fn, in order, with the decoded name and
// the raw value of every member of its top-level object. It stops at the first error
// of fn and returns it; it returns an *AmbiguousError for a member refused under the
// rules of the package comment (read names the set of names the caller reads), and
// ErrSyntax or ErrNotObject for a document that is not valid JSON or not an object.
// The name passed to fn is only valid during the call.
func Members(doc []byte, read *Names, fn func(name, value []byte) error) error {
	return walkMembers(doc, read, "", func(name, value []byte, _ bool, _ Text) error { return fn(name, value) })
}

// MembersFinding is Members that also tells fn, with each member, whether a string
// of its value (a member name or a string value, at any depth) decodes to find, an
// ASCII text ("" finds nothing), learnt in the same pass: an image part's "image_url" type in a
// chat request's messages, written plainly or with escapes.
func MembersFinding(doc []byte, read *Names, find string, fn func(name, value []byte, found bool) error) error {
	return walkMembers(doc, read, find, func(name, value []byte, found bool, _ Text) error { return fn(name, value, found) })
}

// Text is what the strings of a value hold (member names and string values, at
// any depth), as far as a caller copying them as written needs to know: valid
// UTF-8 without a \u escape (so without an escaped surrogate) means what
// decoding and encoding it again would.
type Text uint8

// What strings may hold.
const (
	// HasEscape: an escape of any kind.
	HasEscape Text = 1 << iota
	// HasUnicodeEscape: a \u escape.
	HasUnicodeEscape
)

// MembersNoting is Members that also tells fn, with each member, what the
// strings of its value hold, learnt in the same pass.
func MembersNoting(doc []byte, read *Names, fn func(name, value []byte, text Text) error) error {
	return walkMembers(doc, read, "", func(name, value []byte, _ bool, text Text) error { return fn(name, value, text) })
}

func walkMembers(doc []byte, read *Names, find string, fn func(name, value []byte, found bool, text Text) error) error {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		if Valid(doc) {
			return ErrNotObject
		}
		return ErrSyntax
	}
	var seen nameSet
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return end(doc, i+1)
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return ErrSyntax
		}
		keyEnd, text, ok := skipString(doc, i)
		if !ok {
			return ErrSyntax
		}
		escaped := text&HasEscape != 0
		raw := doc[i+1 : keyEnd-1]
		name := raw
		if escaped || !utf8.Valid(raw) {
			name = decodeString(doc[i:keyEnd])
		}
		if err := check(read, &seen, name, raw, escaped); err != nil {
			return err
		}
		i = skipSpace(doc, keyEnd)
		if i >= len(doc) || doc[i] != ':' {
			return ErrSyntax
		}
		i = skipSpace(doc, i+1)
		sc := scanner{find: find}
		valEnd, ok := sc.value(doc, i, 1)
		if !ok {
			return ErrSyntax
		}
		if err := fn(name, doc[i:valEnd], sc.found, sc.text); err != nil {
			return err
		}
		i = skipSpace(doc, valEnd)
		if i >= len(doc) {
			return ErrSyntax
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case '}':
			return end(doc, i+1)
		default:
			return ErrSyntax
		}
	}
}

// end checks that only whitespace follows the top-level value.
func end(doc []byte, i int) error {
	if skipSpace(doc, i) != len(doc) {
		return ErrSyntax
	}
	return nil
}

// check applies the refusal rules to one member name.
func check(read *Names, seen *nameSet, name, raw []byte, escaped bool) error {
	if !seen.add(name) {
		return &AmbiguousError{Kind: Duplicate, Name: string(name), Raw: string(raw)}
	}
	if read == nil {
		return nil
	}
	for k, w := range read.bytes {
		if string(name) == read.list[k] {
			if escaped {
				return &AmbiguousError{Kind: Escaped, Name: string(name), Raw: string(raw), Of: read.list[k]}
			}
			return nil // the read names are distinct under folding: no other can match
		}
		if equalFold(name, w) {
			return &AmbiguousError{Kind: CaseVariant, Name: string(name), Raw: string(raw), Of: read.list[k]}
		}
	}
	return nil
}

// decodeString decodes a valid JSON string literal as encoding/json does (invalid
// UTF-8 and lone surrogates become U+FFFD).
func decodeString(quoted []byte) []byte {
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return quoted // unreachable: quoted was validated
	}
	return []byte(s)
}

// nameSet holds the names seen in one object: a few in place, a map beyond, so that
// an object of many members costs linear time.
type nameSet struct {
	few  [16][]byte
	n    int
	many map[string]struct{}
}

// add reports whether name is new, and records it.
func (s *nameSet) add(name []byte) bool {
	if s.many != nil {
		if _, dup := s.many[string(name)]; dup {
			return false
		}
		s.many[string(name)] = struct{}{}
		return true
	}
	for _, n := range s.few[:s.n] {
		if string(n) == string(name) {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = name
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 4*len(s.few))
	for _, n := range s.few {
		s.many[string(n)] = struct{}{}
	}
	s.many[string(name)] = struct{}{}
	return true
}
