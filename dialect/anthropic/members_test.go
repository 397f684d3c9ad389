package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

const msgs = `"messages":[{"role":"user","content":"hi"}]`

func TestAmbiguousMembersAreRefused(t *testing.T) {
	for _, c := range []struct {
		body, names string
	}{
		{`{"model":"cheap","max_tokens":5,` + msgs + `,"model":"dear"}`, `model: the member is repeated`},
		{`{"max_tokens":5000,"model":"m",` + msgs + `,"max_tokens":50}`, `max_tokens: the member is repeated`},
		{`{"model":"m","max_tokens":5,` + msgs + `,"str\u0065am":true}`, `str\u0065am: member names must be written without escapes`},
		{`{"mod\u0065l":"dear","model":"cheap","max_tokens":5,` + msgs + `}`, `mod\u0065l: member names must be written without escapes`},
		{`{"MODEL":"dear","model":"cheap","max_tokens":5,` + msgs + `}`, `MODEL: unknown member; member names are case-sensitive`},
		{`{"model":"m","Max_Tokens":9000,"max_tokens":5,` + msgs + `}`, `Max_Tokens: unknown member`},
		// Unicode folds the Kelvin sign to k and the long s to s, as encoding/json does.
		{`{"model":"m","max_to` + "\u212a" + `ens":9000,"max_tokens":5,` + msgs + `}`, "max_to\u212aens: unknown member"},
		{`{"model":"m","max_tokens":5,` + msgs + `,"` + "\u017f" + `tream":true}`, "\u017ftream: unknown member"},
		{`{"model":"m","max_tokens":5,` + msgs + `,"Temperature":1}`, `Temperature: unknown member`},
		{`{"model":"m","max_tokens":5,` + msgs + `,"x_extra":1,"x_extra":2}`, `x_extra: the member is repeated`},
	} {
		_, err := ParseRequest([]byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Type != TypeInvalidRequest || !strings.HasPrefix(e.Message, c.names) {
			t.Errorf("%s: got %v, want a 400 starting %q", c.body, err, c.names)
		}
		if _, err := ReadHead([]byte(c.body), true); err == nil {
			t.Errorf("count_tokens accepted %s", c.body)
		}
	}
}

func TestUnambiguousBodiesPass(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","max_tokens":5,` + msgs + `}`,
		`{"model":"ch\u0065ap","max_tokens":5,` + msgs + `}`,                        // escapes in values are one value to every parser
		`{"model":"m","max_tokens":5,` + msgs + `,"anthropic_extra":{"a":1,"a":2}}`, // nested members are not the gateway's
		`{"model":"m","max_tokens":5,` + msgs + `,"future_member":true}`,            // unknown members go to native targets
		` {"model" : "m" , "max_tokens" : 5 , ` + msgs + ` } `,
	} {
		if _, err := ParseRequest([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	many := `{"model":"m","max_tokens":5,` + msgs
	for i := range 100 {
		many += `,"x` + strings.Repeat("y", i) + `":1`
	}
	if _, err := ParseRequest([]byte(many + "}")); err != nil {
		t.Errorf("100 distinct members: %v", err)
	}
	if _, err := ParseRequest([]byte(many + `,"xyy":2}`)); err == nil {
		t.Error("a member repeated after 100 others was accepted")
	}
}

// readView is what a parser reads of the members the gateway decides on.
type readView struct {
	Model     string
	Stream    bool
	MaxTokens int
	Raw       map[string]string // metadata, tools, thinking, system, messages
}

var decided = []string{"metadata", "tools", "thinking", "system", "messages"}

// goView reads body as the gateway's decoder does: encoding/json, names matched
// case-insensitively, the last repeated member kept.
func goView(t *testing.T, body []byte) readView {
	var doc struct {
		Model     string
		Stream    bool
		MaxTokens int `json:"max_tokens"`
		Metadata  json.RawMessage
		Tools     json.RawMessage
		Thinking  json.RawMessage
		System    json.RawMessage
		Messages  json.RawMessage
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("encoding/json refuses a body the dialect accepted: %v: %q", err, body)
	}
	v := readView{Model: doc.Model, Stream: doc.Stream, MaxTokens: doc.MaxTokens, Raw: map[string]string{}}
	for name, raw := range map[string]json.RawMessage{"metadata": doc.Metadata, "tools": doc.Tools,
		"thinking": doc.Thinking, "system": doc.System, "messages": doc.Messages} {
		if raw != nil {
			v.Raw[name] = string(raw)
		}
	}
	return v
}

// exactView reads body as a strict upstream parser does: names decoded and
// matched exactly, the first (or the last) repeated member kept.
func exactView(t *testing.T, body []byte, first bool) readView {
	dec := json.NewDecoder(bytes.NewReader(body))
	members := map[string]json.RawMessage{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %q", body)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("member name: %v: %q", err, body)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("member value: %v: %q", err, body)
		}
		name := tok.(string)
		if _, seen := members[name]; !seen || !first {
			members[name] = raw
		}
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("object end: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("trailing data: %q", body)
	}
	v := readView{Raw: map[string]string{}}
	if raw, ok := members["model"]; ok {
		_ = json.Unmarshal(raw, &v.Model)
	}
	if raw, ok := members["stream"]; ok {
		_ = json.Unmarshal(raw, &v.Stream)
	}
	if raw, ok := members["max_tokens"]; ok {
		_ = json.Unmarshal(raw, &v.MaxTokens)
	}
	for _, name := range decided {
		if raw, ok := members[name]; ok {
			v.Raw[name] = string(raw)
		}
	}
	return v
}

func sameView(a, b readView) bool {
	if a.Model != b.Model || a.Stream != b.Stream || a.MaxTokens != b.MaxTokens || len(a.Raw) != len(b.Raw) {
		return false
	}
	for k, v := range a.Raw {
		if b.Raw[k] != v {
			return false
		}
	}
	return true
}

// FuzzOneMeaning is differential: a body the dialect accepts reads the same to
// the gateway (ReadHead, what it decides on; ParseRequest, what it translates)
// and, once "model" is rewritten in place as native targets get it, to
// encoding/json and to strict parsers keeping the first or the last repeated
// member: the model is the target's, and stream, max_tokens, metadata, tools,
// thinking, system and messages are what the gateway decided on. An image any
// reading sees is one to the gateway.
func FuzzOneMeaning(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","max_tokens":5,` + msgs + `}`,
		`{"model":"m","max_tokens":5,"stream":true,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],` + msgs + `}`,
		`{"model":"cheap","MODEL":"dear","max_tokens":5,` + msgs + `}`,
		`{"max_tokens":5000,"model":"m",` + msgs + `,"max_tokens":50}`,
		`{"model":"m","max_tokens":5,` + msgs + `,"str\u0065am":true}`,
		`{"model":"m","max_to` + "\u212a" + `ens":9,"max_tokens":5,` + msgs + `}`,
		`{"model":"m","max_tokens":5,` + msgs + `,"` + "\u017f" + `tream":true}`,
		`{"model":"m","max_tokens":5,` + msgs + `,"tools":[{"name":"a","input_schema":{}}],"Tools":[]}`,
		`{"model":"m","max_tokens":5,"metadata":{"user_id":"u"},"thinking":{"type":"enabled","budget_tokens":1024},` + msgs + `}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x"},` +
			`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"typ\u0065":"im\u0061ge","source":{}}]}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"Type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",` +
			`"content":[{"type":"image","source":{}}]}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ReadHead(body, false)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("head error %T %v", err, err)
			}
			return
		}
		want := goView(t, body)
		if want.Model != h.Model || want.Stream != h.Stream || want.MaxTokens != h.MaxTokens {
			t.Fatalf("the head is %+v, encoding/json reads %+v", h, want)
		}
		if r, err := ParseRequest(body); err == nil {
			if r.Model != h.Model || r.Stream != h.Stream || *r.MaxTokens != h.MaxTokens || (len(r.Tools) > 0) != h.Tools {
				t.Fatalf("the head is %+v, the translation reads %+v", h, r)
			}
			if goImages(r) && !h.Images() {
				t.Fatalf("encoding/json sees an image the head does not: %q", body)
			}
		}
		// What a native target is sent: the body edited at the layout the head
		// noted (model, and stream as decided), which must be the edit a full
		// pass over the body makes.
		edits := []jsonfield.Edit{{Key: "model", Value: []byte(`"upstream-model"`), Add: true},
			{Key: "stream", Value: []byte(strconv.FormatBool(h.Stream)), Add: h.Stream}}
		sent := bytes.Join(jsonfield.SpliceAt(body, h.layout, edits...), nil)
		found, err := jsonfield.Apply(body, edits...)
		if err != nil || !bytes.Equal(sent, found) {
			t.Fatalf("edited at the head's layout %q, by a pass of its own %q (%v)", sent, found, err)
		}
		want.Model = "upstream-model"
		for name, got := range map[string]readView{"encoding/json": goView(t, sent),
			"first wins": exactView(t, sent, true), "last wins": exactView(t, sent, false)} {
			if !sameView(got, want) {
				t.Fatalf("%s reads the body sent upstream as %+v, the gateway decided %+v\nbody: %q", name, got, want, sent)
			}
		}
	})
}

// goImages is whether the decoded request holds an image block in a turn or in
// a tool result.
func goImages(r *Request) bool {
	for _, m := range r.Messages {
		for _, b := range m.Content.Blocks {
			if b.Type == "image" {
				return true
			}
			if b.Type == "tool_result" && b.Content != nil {
				for _, rb := range b.Content.Blocks {
					if rb.Type == "image" {
						return true
					}
				}
			}
		}
	}
	return false
}
