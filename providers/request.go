package providers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

// Request is one client chat request as it travels through the proxy: the body as
// the client sent it (OpenAI wire format), the few members routing needs, read in one
// cheap pass, and the canonical form, decoded only when a translating provider or a
// feature needs it.
type Request struct {
	// Body is the request JSON. Policy edits (a max_tokens cap) replace it before the
	// first attempt; it is read-only afterwards.
	Body []byte

	Model        string // the alias the client named
	Stream       bool
	IncludeUsage bool // the client asked for stream usage
	// MaxTokens is max_completion_tokens or max_tokens, 0 when absent.
	MaxTokens   int
	N           int // 0 when absent
	Temperature *float64
	HasTools    bool
	HasImages   bool
	// PromptBytes is the size of the messages array.
	PromptBytes int
	// Messages is the raw messages array (a slice of Body), for token estimates.
	Messages []byte
	// Metadata holds the request's metadata object, kept raw.
	Metadata []byte

	once      sync.Once
	canonical *ChatRequest
	err       error
}

var imageMarker = []byte(`"image_url"`)

// ParseChat validates a chat request body and reads what routing needs. The error is
// an *Error of class InvalidRequest naming the offending parameter.
func ParseChat(body []byte) (*Request, error) {
	if !json.Valid(body) {
		return nil, InvalidRequest("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)")
	}
	r := &Request{Body: body}
	var bad string
	err := jsonfield.Each(body, func(key, v []byte) bool {
		switch string(key) {
		case "model":
			if s, ok := jsonString(v); ok {
				r.Model = s
			} else {
				bad = "model"
			}
		case "stream":
			r.Stream = bytes.Equal(v, []byte("true"))
		case "stream_options":
			if u, _ := jsonfield.Get(v, "include_usage"); bytes.Equal(u, []byte("true")) {
				r.IncludeUsage = true
			}
		case "max_tokens", "max_completion_tokens":
			if n, ok := jsonInt(v); ok {
				r.MaxTokens = max(r.MaxTokens, n)
			} else if !isNull(v) {
				bad = string(key)
			}
		case "n":
			if n, ok := jsonInt(v); ok {
				r.N = n
			} else if !isNull(v) {
				bad = "n"
			}
		case "temperature":
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				r.Temperature = &f
			} else if !isNull(v) {
				bad = "temperature"
			}
		case "tools":
			r.HasTools = len(v) > 2 && v[0] == '['
		case "messages":
			if len(v) == 0 || v[0] != '[' {
				bad = "messages"
			}
			r.PromptBytes = len(v)
			r.Messages = v
			r.HasImages = bytes.Contains(v, imageMarker)
		case "metadata":
			if !isNull(v) {
				r.Metadata = v
			}
		}
		return bad == ""
	})
	switch {
	case err != nil:
		return nil, InvalidRequest("", "The request body must be a JSON object.")
	case bad != "":
		return nil, InvalidRequest(bad, "Invalid type for '"+bad+"'.")
	case r.Model == "":
		return nil, InvalidRequest("model", "you must provide a model parameter")
	case r.PromptBytes == 0:
		return nil, InvalidRequest("messages", "Missing required parameter: 'messages'.")
	}
	return r, nil
}

// Canonical decodes the full request once; translating providers and features that
// rewrite the conversation share the result and must not modify it.
func (r *Request) Canonical() (*ChatRequest, error) {
	r.once.Do(func() {
		var c ChatRequest
		if err := json.Unmarshal(r.Body, &c); err != nil {
			r.err = InvalidRequest("", "Invalid request: "+err.Error())
			return
		}
		r.canonical = &c
	})
	return r.canonical, r.err
}

// NewRequest wraps a canonical request built by the proxy itself (the Responses API).
func NewRequest(c *ChatRequest) (*Request, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	r, err := ParseChat(body)
	if err != nil {
		return nil, err
	}
	r.once.Do(func() { r.canonical = c })
	return r, nil
}

func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

func jsonInt(v []byte) (int, bool) {
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

func isNull(v []byte) bool { return bytes.Equal(v, []byte("null")) }
