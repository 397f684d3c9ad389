package openai

import (
	"errors"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

// shape is what a 200 answer must look like: an object with an array member (a
// chat completion's choices, an embeddings list's data) and, when it names its
// object type, the right one.
type shape struct {
	what   string // for errors
	list   string
	object string
	// optional: the list may be absent (a stream's usage chunk on some servers),
	// and the object may be "" (Azure's prompt-filter chunk).
	optional bool
}

var (
	chatCompletion = shape{what: "a chat completion", list: "choices", object: `"chat.completion"`}
	embeddingsList = shape{what: "an embeddings list", list: "data", object: `"list"`}
	chunkShape     = shape{what: "a chat.completion.chunk", list: "choices", object: `"chat.completion.chunk"`, optional: true}
)

// check reports how doc, valid JSON, fails the shape.
func (s shape) check(doc []byte) error {
	var list, object []byte
	if err := jsonfield.Each(doc, func(k, v []byte) bool {
		switch string(k) {
		case s.list:
			list = v
		case "object":
			object = v
		}
		return true
	}); err != nil {
		return errors.New("a JSON document that is not " + s.what)
	}
	return s.verify(list, object)
}

// verify checks the raw list and object members of a document (nil when absent).
func (s shape) verify(list, object []byte) error {
	switch {
	case list == nil && !s.optional, list != nil && list[0] != '[':
		return errors.New("a document without the " + s.list + " array of " + s.what)
	case object == nil, string(object) == s.object, string(object) == "null", s.optional && string(object) == `""`:
		return nil
	}
	return errors.New("an object of type " + string(truncate(object, 64)) + ", not " + s.what)
}
