package bedrock

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// The request encoder (conversation.go, settings.go) against its oracle
// (oracle_test.go): for every request, both give the same bytes and the same
// synthetic tool, or both refuse it with a 400. The one difference allowed: a
// member repeated in one object of a message, which the encoder refuses and
// encoding/json merges.

// diffModels are one model of each family the translation treats apart.
var diffModels = []string{sonnet, "us.anthropic.claude-opus-4-6-v1", "us.amazon.nova-2-lite-v1:0",
	"openai.gpt-oss-120b-1:0", "meta.llama3-70b-instruct-v1:0", "arn:aws:bedrock:us-east-1:1:application-inference-profile/x"}

// diffBodies are requests that reach the corners of the translation: escapes of
// every kind, invalid UTF-8, merged and reordered turns, parts with cache points,
// thinking blocks, images, names spelled in other cases, type errors.
var diffBodies = []string{
	`{"model":"m","messages":[{"role":"user","content":"a\/b \u00e9 \u2028 \u2029 \ud83d\ude00 \ud800 x \udc00\ud800 \u0007 \b\f \u003c\u0026 tab\t \"q\" \\ end"}]}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\xfe utf8 \xe2\x80\xa8 sep \xe2\x80 cut\"}]}",
	`{"model":"m","messages":[{"role":"system","content":"s1"},{"role":"developer","content":[{"type":"text","text":"d1"},{"type":"text","text":""}]},
		{"role":"user","content":"u1"},{"role":"user","content":""},{"role":"assistant","content":""},{"role":"user","content":[{"type":"text","text":"u2"}]},
		{"role":"assistant","content":"a1"},{"role":"system","content":[{"type":"text","text":"s2","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"s3","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
		{"role":"assistant","refusal":"no"},{"role":"user","content":null}]}`,
	`{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"messages":[{"role":"user","content":"go"},
		{"role":"assistant","content":[{"type":"text","text":"calling "},{"type":"text","text":"f","cache_control":{"type":"ephemeral"}}],"tool_calls":[
			{"id":"c1","type":"function","function":{"name":"f","arguments":" {\"a\": [1, 2.50, 1e400, \"x y\"] } "}},
			{"id":"c2","type":"function","function":{"name":"g","arguments":""}},
			{"id":"c\u00e93","function":{"name":"f","arguments":"\u00a0{}\n"}}]},
		{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"r1","cache_control":{"type":"ephemeral"}}]},
		{"role":"user","content":"between"},
		{"role":"tool","tool_call_id":"c2","content":"r2"},
		{"role":"tool","tool_call_id":"c\u00e93","content":[]},
		{"role":"assistant","content":"done"}]}`,
	`{"model":"m","reasoning_effort":"high","messages":[{"role":"user","content":"hi"},
		{"role":"assistant","content":"ok","thinking_blocks":[{"type":"thinking","thinking":"t\u0008","signature":"s"},{"type":"thinking","thinking":"unsigned"},
			{"type":"redacted_thinking","data":"cmVk"},{"type":"redacted_thinking","data":"not base64!"}],
			"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"t","content":"r"}]}`,
	`{"model":"m","reasoning_effort":"medium","max_completion_tokens":4000,"messages":[{"role":"user","content":"hi"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"t","content":"r"}]}`,
	`{"model":"m","messages":[{"Role":"user","CONTENT":"case"},{"r\u006fle":"assistant","content":"escaped name","thin\u212aing_blocks":[{"type":"thinking","thinking":"k","signature":"s"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="},"cache_control":{"type":"ephemeral"}},{"type":"text","text":"what is it?"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https:\/\/x\/y.png"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","messages":[null]}`,
	`{"model":"m","messages":[{"role":null,"content":"x"}]}`,
	`{"model":"m","messages":[5]}`,
	`{"model":"m","messages":[{"role":"user","content":"x","name":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":{"text":"x"}}]}`,
	`{"model":"m","messages":[{"role":"user","content":[5]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[null]}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"index":1.5,"id":"a","function":{"name":"f","arguments":"{}"}}]}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"index":0,"id":"a","function":"f"}]}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[null,{"id":"a","function":null}]}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"[1]"}}]}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{oops"}}]}]}`,
	`{"model":"m","messages":[{"role":"tool","tool_call_id":"a","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`,
	`{"model":"m","messages":[{"role":"function","content":"x"}]}`,
	`{"model":"m","messages":[{"role":"robot","content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x","thinking_blocks":"no"}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":"no"}]}]}`,
	`{"model":"m","response_format":{"type":"json_object"},"temperature":0.0000001,"top_p":1e21,"stop":["a\u0000","</s>"],"messages":[{"role":"user","content":"x"}]}`,
	`{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"f","description":"d","schema":{ "type" : "object" }}},
		"tools":[{"type":"function","function":{"name":"f","description":"\u2028 <b>","parameters":null},"cache_control":{"type":"ephemeral","ttl":"5m"}}],
		"tool_choice":"none","messages":[{"role":"user","content":"x"}]}`,
	`{"model":"m","tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f"}}],
		"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"old","arguments":"{}"}}]}]}`,
	`{"model":"m","n":2,"messages":[{"role":"user","content":5}]}`,
	`{"model":"m","tools":[null,{"TYPE":"function","Function":{"NAME":"f\u00e9\/","Description":"d \"q\" \u2028","parameters":{ "type" : "object" },"strict":true},"cache_control":{"type":"ephemeral"}},
		{"function":{"name":"g","parameters":null,"strict":null}},{"type":null,"function":null}],"messages":[{"role":"user","content":"x"}]}`,
	`{"tools":null,"model":"m","messages":[{"role":"user","content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[5]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"function":{"name":"f","strict":1}}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"function":{"name":5}}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"function":[]}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"},"cache_control":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","name":"g"}}]}`,
}

// diffInputs are diffBodies, the golden inputs and an agent-sized conversation.
func diffInputs(t testing.TB) [][]byte {
	var out [][]byte
	for _, b := range diffBodies {
		out = append(out, []byte(b))
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.chat.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out, agentRequest(64<<10))
}

func TestRequestMatchesOracle(t *testing.T) {
	compared, refused := 0, 0
	for i, body := range diffInputs(t) {
		for _, model := range diffModels {
			switch sameTranslation(t, body, model) {
			case translatedBoth:
				compared++
			case refusedBoth, refusedDuplicate:
				refused++
			default:
				t.Fatalf("input %d (%.80s): %s: no verdict", i, body, model)
			}
		}
	}
	t.Logf("%d translations and %d refusals compared", compared, refused)
	// Both kinds of verdict must have been reached, or the inputs test nothing.
	if compared < 50 || refused < 50 {
		t.Errorf("%d translations and %d refusals compared", compared, refused)
	}
}

func FuzzTranslateRequest(f *testing.F) {
	for _, b := range diffInputs(f) {
		if len(b) < 8<<10 {
			f.Add(b, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, model uint8) {
		sameTranslation(t, body, diffModels[int(model)%len(diffModels)])
	})
}

type verdict int

const (
	notChat verdict = iota
	translatedBoth
	refusedBoth
	refusedDuplicate
)

// sameTranslation holds the encoder to the oracle on one request body.
func sameTranslation(t testing.TB, body []byte, model string) verdict {
	t.Helper()
	r, err := providers.ParseChat(body)
	if err != nil {
		return notChat
	}
	defer func(n int) { hashPiece = n }(hashPiece)
	hashPiece = 1 + len(body)%61 // every translation hashed in pieces, of many sizes
	got, gotErr := translateRequest(r, model)
	want, wantTool, wantErr := oracleTranslate(r, model)
	var e *providers.Error
	if errors.As(gotErr, &e) && e.Code == "ambiguous_parameter" {
		if !repeatsMember(r.Body) {
			t.Fatalf("%s refused without a repeated member: %v\n%s", model, gotErr, body)
		}
		return refusedDuplicate
	}
	switch {
	case gotErr != nil && wantErr != nil:
		for _, err := range []error{gotErr, wantErr} {
			if !errors.As(err, &e) || e.Class != providers.ClassInvalidRequest || e.Status != 400 {
				t.Fatalf("%s: not a 400: %#v (encoder %v, oracle %v)\n%s", model, err, gotErr, wantErr, body)
			}
		}
		return refusedBoth
	case gotErr != nil || wantErr != nil:
		t.Fatalf("%s: encoder %v, oracle %v\n%s", model, gotErr, wantErr, body)
	}
	if !bytes.Equal(got.body, want) || got.jsonTool != wantTool {
		i := 0
		for i < len(got.body) && i < len(want) && got.body[i] == want[i] {
			i++
		}
		t.Fatalf("%s: differs at byte %d:\nencoder %.300s\noracle  %.300s\ntools %q %q\n%s",
			model, i, got.body[max(0, i-40):], want[max(0, i-40):], got.jsonTool, wantTool, body)
	}
	if got.sum != sha256.Sum256(got.body) {
		t.Fatalf("%s: the body's hash is not its SHA-256\n%s", model, body)
	}
	if !json.Valid(got.body) {
		t.Fatalf("%s: not JSON: %s", model, got.body)
	}
	return translatedBoth
}

// repeatsMember reports whether an object in the JSON document doc has two members
// whose names are equal under encoding/json's case folding.
func repeatsMember(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		key    bool // the next string is a member name
		names  []string
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: v == '{', key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.key {
				for _, n := range top.names {
					if strings.EqualFold(n, v) {
						return true
					}
				}
				top.names = append(top.names, v)
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}
