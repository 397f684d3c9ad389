package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/internal/jsonstr"
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
	// Tags is metadata.tags when it is a string (comma-separated, for policy rules).
	Tags string

	// spans locate in Body the values of the members Rewrite may replace; last is
	// where the last member's value ends, after which Rewrite appends.
	spans [len(fieldNames)]span
	last  int

	once      sync.Once
	canonical *ChatRequest
	err       error
	// decode is the canonical form of a body the proxy wrote from another
	// dialect's request: cheaper than decoding Body again.
	decode func() (*ChatRequest, error)
}

// span is where a member's value lies in a body; end is 0 when the member is absent.
type span struct{ start, end int }

// Field is a top-level member of a chat request whose value Rewrite replaces: the
// target's model, a stream's usage option, a policy's max tokens cap.
type Field uint8

// Fields.
const (
	FieldModel Field = iota
	FieldStreamOptions
	FieldMaxTokens
	FieldMaxCompletionTokens
)

var fieldNames = [...]string{"model", "stream_options", "max_tokens", "max_completion_tokens"}

// chatMembers are the members of a chat request the proxy reads or rewrites; the
// objects inside it the proxy reads have their own.
var (
	chatMembers = jsonscan.NewNames("model", "stream", "stream_options", "max_tokens", "max_completion_tokens",
		"n", "temperature", "tools", "messages", "metadata")
	streamOptionsMembers = jsonscan.NewNames("include_usage")
	metadataMembers      = jsonscan.NewNames("tags")
)

// imagePart is the type of a message's image part, which rules match on.
const imagePart = "image_url"

// ParseChat validates a chat request body and reads what routing needs, in one pass.
// It refuses a body that two JSON decoders could read differently (see package
// internal/jsonscan): what the proxy decides on is what the upstream reads. The
// error is an *Error of class InvalidRequest naming the offending parameter.
func ParseChat(body []byte) (*Request, error) {
	r := &Request{Body: body}
	err := jsonscan.MembersFinding(body, chatMembers, imagePart, func(name, v []byte, found bool) error {
		r.locate(name, v)
		if string(name) == "messages" {
			// Any string of the messages that decodes to image_url, an image part's
			// type, however written: conservative, rules matching images must not
			// be evaded by an escape.
			r.HasImages = found
		}
		return r.member(name, v)
	})
	if err != nil {
		return nil, bodyError(err, "")
	}
	switch {
	case r.Model == "":
		return nil, InvalidRequest("model", "you must provide a model parameter")
	case r.Messages == nil:
		return nil, InvalidRequest("messages", "Missing required parameter: 'messages'.")
	}
	return r, nil
}

// member reads one top-level member of a chat request.
func (r *Request) member(name, v []byte) error {
	if isNull(v) && string(name) != "model" && string(name) != "messages" {
		return nil // null is every optional parameter's default
	}
	var ok bool
	switch string(name) {
	case "model":
		r.Model, ok = jsonstr.String(v)
	case "stream":
		r.Stream, ok = jsonBool(v)
	case "stream_options":
		return r.streamOptions(v)
	case "max_tokens", "max_completion_tokens":
		var n int
		if n, ok = jsonInt(v); ok {
			r.MaxTokens = max(r.MaxTokens, n)
		}
	case "n":
		r.N, ok = jsonInt(v)
	case "temperature":
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			r.Temperature, ok = &f, true
		}
	case "tools":
		ok = v[0] == '['
		r.HasTools = ok && bytes.TrimLeft(v[1:], " \t\r\n")[0] != ']'
	case "messages":
		if ok = v[0] == '['; ok {
			r.PromptBytes = len(v)
			r.Messages = v
		}
	case "metadata":
		r.Metadata = v
		return r.metadata(v)
	default:
		return nil
	}
	if !ok {
		return InvalidRequest(string(name), "Invalid type for '"+string(name)+"'.")
	}
	return nil
}

func (r *Request) streamOptions(v []byte) error {
	err := jsonscan.Members(v, streamOptionsMembers, func(name, v []byte) error {
		if string(name) != "include_usage" || isNull(v) {
			return nil
		}
		var ok bool
		if r.IncludeUsage, ok = jsonBool(v); !ok {
			return InvalidRequest("stream_options.include_usage", "Invalid type for 'stream_options.include_usage'.")
		}
		return nil
	})
	return bodyError(err, "stream_options")
}

// metadata reads metadata.tags, a comma-separated string for policy rules; a tags
// member of another type is not a tag list and is ignored.
func (r *Request) metadata(v []byte) error {
	err := jsonscan.Members(v, metadataMembers, func(name, v []byte) error {
		if string(name) == "tags" {
			r.Tags, _ = jsonstr.String(v)
		}
		return nil
	})
	return bodyError(err, "metadata")
}

// bodyError turns a scanning error of the body (object "") or of one of its objects
// into the client's 400.
func bodyError(err error, object string) error {
	var amb *jsonscan.AmbiguousError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &amb):
		return ambiguous(amb, object)
	case errors.Is(err, jsonscan.ErrSyntax):
		return InvalidRequest("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)")
	case errors.Is(err, jsonscan.ErrNotObject) && object == "":
		return InvalidRequest("", "The request body must be a JSON object.")
	case errors.Is(err, jsonscan.ErrNotObject):
		return InvalidRequest(object, "Invalid type for '"+object+"': expected an object.")
	}
	return err // the member's own error
}

// ambiguous is the 400 for a member decoders could read differently.
func ambiguous(e *jsonscan.AmbiguousError, object string) *Error {
	param := clip(e.Name)
	if object != "" {
		param = object + "." + param
	}
	var msg string
	switch e.Kind {
	case jsonscan.Duplicate:
		msg = fmt.Sprintf("Duplicate parameter '%s': a member may appear only once in a JSON object.", param)
	case jsonscan.Escaped:
		msg = fmt.Sprintf("Invalid parameter name '%s': it is an escaped spelling of '%s'; write parameter names without escapes.",
			clip(e.Raw), e.Of)
	default:
		msg = fmt.Sprintf("Unknown parameter '%s': parameter names are case-sensitive (did you mean '%s'?).", param, e.Of)
	}
	err := InvalidRequest(param, msg)
	err.Code = "ambiguous_parameter"
	return err
}

// clip bounds a client-supplied name quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(s, "\ufffd")
}

// CapMaxTokens returns the request with its max tokens lowered to limit (a policy's
// cap): each of max_tokens and max_completion_tokens the client sent, or
// max_completion_tokens when it sent neither. The body was parsed by ParseChat, so
// each member appears once, spelled plainly: editing it in place is unambiguous.
func (r *Request) CapMaxTokens(limit int) (*Request, error) {
	if r.MaxTokens > 0 && r.MaxTokens <= limit {
		return r, nil
	}
	val := []byte(strconv.Itoa(limit))
	set := make([]Member, 0, 2)
	for _, f := range []Field{FieldMaxTokens, FieldMaxCompletionTokens} {
		if v := r.Value(f); v != nil && !isNull(v) {
			set = append(set, Member{f, val})
		}
	}
	if len(set) == 0 {
		set = append(set, Member{FieldMaxCompletionTokens, val})
	}
	return ParseChat(r.Rewrite(set...).Bytes())
}

// Member is a field of a chat request and its new raw JSON value.
type Member struct {
	Field Field
	Value []byte
}

// Rewrite returns Body in which each member of set has its new value: in place of
// the client's, or appended after the last member when the client sent none. Every
// other byte is the client's, in pieces of Body itself: ParseChat located the
// members, so a 400 KB agent request is neither scanned again nor copied.
func (r *Request) Rewrite(set ...Member) Body {
	type edit struct {
		at    span
		name  string // set for an appended member
		value []byte
	}
	edits := make([]edit, 0, len(fieldNames))
	for _, m := range set {
		at := r.spans[m.Field]
		e := edit{at: at, value: m.Value}
		if at.end == 0 {
			e = edit{at: span{r.last, r.last}, name: fieldNames[m.Field], value: m.Value}
		}
		// In body order (appends keep theirs): a handful of edits, sorted by insertion.
		i := len(edits)
		for i > 0 && edits[i-1].at.start > e.at.start {
			i--
		}
		edits = append(edits, edit{})
		copy(edits[i+1:], edits[i:])
		edits[i] = e
	}
	out := make(Body, 0, 2*len(edits)+1)
	prev := 0
	for _, e := range edits {
		out = append(out, r.Body[prev:e.at.start:e.at.start])
		if e.name != "" {
			out = append(out, []byte(`,"`+e.name+`":`))
		}
		out = append(out, e.value)
		prev = e.at.end
	}
	return append(out, r.Body[prev:])
}

// Value is the raw value of field as the client sent it (nil when absent).
func (r *Request) Value(f Field) []byte {
	at := r.spans[f]
	if at.end == 0 {
		return nil
	}
	return r.Body[at.start:at.end]
}

// locate notes where the value v of member name lies in Body (v is a slice of it,
// sharing its end, so that their capacities tell its offset).
func (r *Request) locate(name, v []byte) {
	start := cap(r.Body) - cap(v)
	r.last = start + len(v)
	for f, n := range fieldNames {
		if string(name) == n {
			r.spans[f] = span{start, r.last}
			return
		}
	}
}

// Canonical decodes the full request once; translating providers and features that
// rewrite the conversation share the result and must not modify it.
func (r *Request) Canonical() (*ChatRequest, error) {
	r.once.Do(func() {
		if r.decode != nil {
			r.canonical, r.err = r.decode()
			return
		}
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
	body, err := encodeChat(c)
	if err != nil {
		return nil, &Error{Class: ClassLocal, Err: err, Message: "encoding the chat request failed"}
	}
	r, err := ParseChat(body)
	if err != nil {
		return nil, err
	}
	r.once.Do(func() { r.canonical = c })
	return r, nil
}

// NewChatBody wraps a chat body the proxy wrote from another dialect's request:
// head is its members encoded with an empty messages array, and body is head
// with the conversation written between that array's brackets, at offset at.
// Only head is parsed: the conversation, the proxy's own writing, is not
// scanned again. images says whether it holds an image part. canonical returns
// the same request decoded, when a provider needs it.
func NewChatBody(head, body []byte, at int, images bool, canonical func() (*ChatRequest, error)) (*Request, error) {
	n := len(body) - len(head)
	if at < 1 || at >= len(head) || n < 0 || head[at-1] != '[' || head[at] != ']' || body[at-1] != '[' || body[at+n] != ']' {
		return nil, &Error{Class: ClassLocal, Message: "the chat body does not hold its head"}
	}
	r, err := ParseChat(head)
	if err != nil {
		return nil, err
	}
	shift := func(i int) int {
		if i > at {
			return i + n
		}
		return i
	}
	for f, sp := range r.spans {
		if sp.end != 0 {
			r.spans[f] = span{shift(sp.start), shift(sp.end)}
		}
	}
	r.last = shift(r.last)
	if r.Metadata != nil {
		start := shift(cap(head) - cap(r.Metadata))
		r.Metadata = body[start : start+len(r.Metadata)]
	}
	r.Body, r.Messages = body, body[at-1:at+n+1]
	r.PromptBytes, r.HasImages = len(r.Messages), images
	r.decode = canonical
	return r, nil
}

func jsonBool(v []byte) (b, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// jsonInt reads an integer written without fraction or exponent, as encoding/json
// reads one into an int.
func jsonInt(v []byte) (int, bool) {
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

func isNull(v []byte) bool { return bytes.Equal(v, []byte("null")) }
