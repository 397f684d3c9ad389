package providers

import (
	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// embeddingMembers are the members of an embeddings request the proxy or a
// translating provider reads; model is rewritten on pass-through.
var embeddingMembers = jsonscan.NewNames("model", "input", "encoding_format", "dimensions", "user")

// ParseEmbeddings validates an embeddings request body and decodes it, under the
// same rules as ParseChat: a body two JSON decoders could read differently is
// refused, so that the model the proxy routes on is the only one an upstream reads.
// The error is an *Error of class InvalidRequest naming the offending parameter.
func ParseEmbeddings(body []byte) (*EmbeddingRequest, error) {
	req := &EmbeddingRequest{}
	err := jsonscan.Members(body, embeddingMembers, func(name, v []byte) error {
		if isNull(v) && string(name) != "model" {
			return nil // input: null is refused below as missing
		}
		ok := true
		switch string(name) {
		case "model":
			req.Model, ok = jsonstr.String(v)
		case "input":
			_ = req.Input.UnmarshalJSON(v) // keeps any shape raw; translators refuse what they cannot send
		case "encoding_format":
			req.EncodingFormat, ok = jsonstr.String(v)
		case "dimensions":
			var n int
			n, ok = jsonInt(v)
			req.Dimensions = &n
		case "user":
			req.User, ok = jsonstr.String(v)
		}
		if !ok {
			return InvalidRequest(string(name), "Invalid type for '"+string(name)+"'.")
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, bodyError(err, "")
	case req.Model == "":
		return nil, InvalidRequest("model", "you must provide a model parameter")
	case req.Input.Raw == nil:
		return nil, InvalidRequest("input", "'input' is a required property")
	}
	return req, nil
}
