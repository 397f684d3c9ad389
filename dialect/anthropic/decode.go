package anthropic

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// decode reads a Messages body into a Request. eachMember validates the body
// and splits its top-level members once; each member is then decoded alone:
// messages and system by this package's own reader (content.go), the others by
// encoding/json. Decoding the whole body with json.Unmarshal instead validated
// all of it a second time and walked every message through reflection: for an
// agent-sized request, more than half the cost of translating it.
//
// Whatever the reader does not take (a null, a value of another type, a member
// of a message it does not know or written in another case) sends the whole
// body to json.Unmarshal, which decides it exactly as it always did:
// FuzzRequestDecode holds the two to the same result on every input.
func decode(body []byte) (*Request, error) {
	var r Request
	quick := true
	if err := eachMember(body, func(k, v []byte, _ jsonscan.Text) error {
		name := string(k)
		if !knownMembers[name] {
			r.Unknown = append(r.Unknown, name)
			return nil
		}
		if err := refuseContent(name, v); err != nil {
			return err
		}
		quick = quick && r.quickMember(name, v)
		return nil
	}); err != nil {
		return nil, err
	}
	if !quick {
		unknown := r.Unknown
		r = Request{Unknown: unknown}
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, invalid("There was an issue with the format or content of your request: %s", decodeMessage(err))
		}
		r.Unknown = unknown
	}
	return &r, nil
}

// quickMember decodes one top-level member, or reports false.
func (r *Request) quickMember(name string, v []byte) bool {
	switch name {
	case "model":
		var ok bool
		r.Model, ok = quickString(v)
		return ok
	case "stream":
		switch string(v) {
		case "true", "false":
			r.Stream = string(v) == "true"
			return true
		}
		return false
	case "messages":
		var ok bool
		r.Messages, ok = quickMessages(v)
		return ok
	case "system":
		if v[0] != '"' && v[0] != '[' {
			return false
		}
		r.System = new(Content)
		return r.System.UnmarshalJSON(v) == nil
	}
	i, ok := requestFields[name]
	return ok && json.Unmarshal(v, reflect.ValueOf(r).Elem().Field(i).Addr().Interface()) == nil
}

// requestFields are Request's fields by JSON name.
var requestFields = func() map[string]int {
	t := reflect.TypeFor[Request]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}()

// quickString is a JSON string's value; false for any other value.
func quickString(v []byte) (string, bool) {
	if v[0] != '"' {
		return "", false
	}
	return jsonstr.String(v)
}

// quickMessages reads the messages array, or reports false.
func quickMessages(arr []byte) ([]MessageParam, bool) {
	if arr[0] != '[' {
		return nil, false
	}
	msgs := []MessageParam{}
	ok := true
	if err := jsonfield.EachElement(arr, func(v []byte) bool {
		var m MessageParam
		if ok = quickMessage(&m, v); ok {
			msgs = append(msgs, m)
		}
		return ok
	}); err != nil || !ok {
		return nil, false
	}
	return msgs, true
}

// quickMessage reads one message object ({"role", "content"}, each once), or
// reports false.
func quickMessage(m *MessageParam, obj []byte) bool {
	if obj[0] != '{' {
		return false
	}
	var role, content bool
	taken := true
	err := jsonfield.Each(obj, func(k, v []byte) bool {
		switch string(k) {
		case "role":
			if taken = !role; taken {
				role = true
				m.Role, taken = quickString(v)
			}
		case "content":
			if taken = !content && (v[0] == '"' || v[0] == '['); taken {
				content = true
				taken = m.Content.UnmarshalJSON(v) == nil
			}
		default:
			taken = false
		}
		return taken
	})
	return err == nil && taken
}
