package cache

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

const baseBody = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},` +
	`{"role":"user","content":"What is the capital of France?"}],"temperature":0,"max_tokens":100,` +
	`"tools":[{"type":"function","function":{"name":"lookup","description":"Look up a fact",` +
	`"parameters":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}],"tool_choice":"auto"}`

func req(body string) *providers.Request { return &providers.Request{Body: []byte(body)} }

func mustKey(t *testing.T, scope, alias, body string, anyTemperature bool) string {
	t.Helper()
	k, ok := Key(scope, alias, req(body), anyTemperature)
	if !ok {
		t.Fatalf("not cacheable: %s", body)
	}
	return k
}

// edit replaces old by new in baseBody, failing when old is not there.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(baseBody, old) {
		t.Fatalf("%q not in the base body", old)
	}
	return strings.Replace(baseBody, old, new, 1)
}

func TestKeyIgnoresHowTheRequestIsSpelled(t *testing.T) {
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(baseBody), "", "\t"); err != nil {
		t.Fatal(err)
	}
	want := mustKey(t, "search", "gpt-4o", baseBody, false)
	for _, tc := range []struct{ name, body string }{
		{"members in another order", `{"tool_choice":"auto","tools":[{"function":{"parameters":{"required":["q"],` +
			`"properties":{"q":{"type":"string"}},"type":"object"},"description":"Look up a fact","name":"lookup"},` +
			`"type":"function"}],"max_tokens":100,"temperature":0,"messages":[{"content":"You are terse.","role":"system"},` +
			`{"content":"What is the capital of France?","role":"user"}],"model":"gpt-4o"}`},
		{"indented", pretty.String()},
		{"streamed with usage", edit(t, `"temperature":0`, `"temperature":0,"stream":true,"stream_options":{"include_usage":true}`)},
		{"not streamed", edit(t, `"temperature":0`, `"temperature":0,"stream":false`)},
		{"user and metadata", edit(t, `"temperature":0`, `"user":"u-42","metadata":{"trace":"abc"},"temperature":0`)},
		{"escaped characters", edit(t, `capital of France?`, `capit\u0061l of \u0046rance?`)},
		{"escaped member name", edit(t, `"tool_choice"`, `"tool_\u0063hoice"`)},
		{"temperature 0.0", edit(t, `"temperature":0`, `"temperature":0.0`)},
		{"temperature 0e0", edit(t, `"temperature":0`, `"temperature":0e0`)},
		{"max_tokens 1e2", edit(t, `"max_tokens":100`, `"max_tokens":1e2`)},
		{"n 1 is the default", edit(t, `"temperature":0`, `"temperature":0,"n":1`)},
		{"another model name in the body", edit(t, `"model":"gpt-4o"`, `"model":"gpt-4o-2024-08-06"`)},
		{"duplicate member, last wins", edit(t, `"temperature":0`, `"temperature":0.7,"temperature":0`)},
	} {
		if got := mustKey(t, "search", "gpt-4o", tc.body, false); got != want {
			t.Errorf("%s: key changed", tc.name)
		}
	}
}

func TestKeyChangesWithAnythingThatChangesTheAnswer(t *testing.T) {
	base := mustKey(t, "search", "gpt-4o", baseBody, false)
	seen := map[string]string{base: "base"}
	for _, tc := range []struct{ name, old, new string }{
		{"user content", `capital of France?`, `capital of Spain?`},
		{"content whitespace", `capital of France?`, `capital of  France?`},
		{"role", `"role":"system"`, `"role":"developer"`},
		{"message order", `{"role":"system","content":"You are terse."},{"role":"user","content":"What is the capital of France?"}`,
			`{"role":"user","content":"What is the capital of France?"},{"role":"system","content":"You are terse."}`},
		{"message dropped", `{"role":"system","content":"You are terse."},`, ``},
		{"tool description", `Look up a fact`, `Look up facts`},
		{"tool schema", `"required":["q"]`, `"required":[]`},
		{"tool_choice", `"tool_choice":"auto"`, `"tool_choice":"required"`},
		{"response_format", `"tool_choice":"auto"`, `"tool_choice":"auto","response_format":{"type":"json_object"}`},
		{"max_tokens", `"max_tokens":100`, `"max_tokens":101`},
		{"max_completion_tokens", `"max_tokens":100`, `"max_completion_tokens":100`},
		{"top_p", `"temperature":0`, `"temperature":0,"top_p":0.5`},
		{"stop", `"temperature":0`, `"temperature":0,"stop":["\n"]`},
		{"seed", `"temperature":0`, `"temperature":0,"seed":12345678901234567890`},
		{"seed beyond float64 precision", `"temperature":0`, `"temperature":0,"seed":12345678901234567891`},
		{"presence_penalty", `"temperature":0`, `"temperature":0,"presence_penalty":0.5`},
		{"frequency_penalty", `"temperature":0`, `"temperature":0,"frequency_penalty":0.5`},
		{"logit_bias", `"temperature":0`, `"temperature":0,"logit_bias":{"50256":-100}`},
		{"reasoning_effort", `"temperature":0`, `"temperature":0,"reasoning_effort":"low"`},
		{"parallel_tool_calls", `"temperature":0`, `"temperature":0,"parallel_tool_calls":false`},
		{"logprobs", `"temperature":0`, `"temperature":0,"logprobs":true`},
		{"a member the proxy does not know", `"temperature":0`, `"temperature":0,"modalities":["text","audio"]`},
	} {
		k := mustKey(t, "search", "gpt-4o", edit(t, tc.old, tc.new), false)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: same key as %s", tc.name, prev)
		}
		seen[k] = tc.name
	}
	for _, tc := range []struct{ name, scope, alias string }{
		{"another client", "billing", "gpt-4o"},
		{"shared", "", "gpt-4o"},
		{"another alias", "search", "gpt-4o-mini"},
		{"scope and alias split elsewhere", "searchg", "pt-4o"},
	} {
		k := mustKey(t, tc.scope, tc.alias, baseBody, false)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: same key as %s", tc.name, prev)
		}
		seen[k] = tc.name
	}
}

func TestKeyCachesOnlyDeterministicRequests(t *testing.T) {
	for _, tc := range []struct {
		name, body     string
		anyTemperature bool
		want           bool
	}{
		{"temperature 0", baseBody, false, true},
		{"temperature absent: the default is 1", edit(t, `"temperature":0,`, ``), false, false},
		{"temperature 0.7", edit(t, `"temperature":0`, `"temperature":0.7`), false, false},
		{"temperature null", edit(t, `"temperature":0`, `"temperature":null`), false, false},
		{"temperature as a string", edit(t, `"temperature":0`, `"temperature":"0"`), false, false},
		{"temperature 0.7 allowed", edit(t, `"temperature":0`, `"temperature":0.7`), true, true},
		{"temperature absent allowed", edit(t, `"temperature":0,`, ``), true, true},
		{"n 2: several answers", edit(t, `"temperature":0`, `"temperature":0,"n":2`), true, false},
		{"n null", edit(t, `"temperature":0`, `"temperature":0,"n":null`), false, true},
		{"not JSON", `{"model":`, true, false},
		{"not an object", `[1,2]`, true, false},
		{"nested beyond the bound", edit(t, `{"q":{"type":"string"}}`, strings.Repeat(`{"a":`, 70)+`1`+strings.Repeat(`}`, 70)), true, false},
		{"nested within the bound", edit(t, `{"q":{"type":"string"}}`, strings.Repeat(`[`, 40)+`1`+strings.Repeat(`]`, 40)), true, true},
	} {
		if _, got := Key("search", "gpt-4o", req(tc.body), tc.anyTemperature); got != tc.want {
			t.Errorf("%s: cacheable %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, ok := Key("", "gpt-4o", nil, true); ok {
		t.Error("nil request cacheable")
	}
	warm := mustKey(t, "search", "gpt-4o", edit(t, `"temperature":0`, `"temperature":0.7`), true)
	hot := mustKey(t, "search", "gpt-4o", edit(t, `"temperature":0`, `"temperature":0.8`), true)
	if warm == hot {
		t.Error("temperatures 0.7 and 0.8 share a key")
	}
}

func TestKeyIsAHashThatRevealsNoPrompt(t *testing.T) {
	k := mustKey(t, "search", "gpt-4o", baseBody, false)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(k) {
		t.Fatalf("key %q is not a hex SHA-256", k)
	}
}

func TestOptionsScopeEntriesPerClientUnlessShared(t *testing.T) {
	isolated, shared := Options{}, Options{Shared: true}
	a, _ := isolated.Key("search", "gpt-4o", req(baseBody))
	b, _ := isolated.Key("billing", "gpt-4o", req(baseBody))
	if a == b {
		t.Error("two clients share a key without Shared")
	}
	a, _ = shared.Key("search", "gpt-4o", req(baseBody))
	b, _ = shared.Key("billing", "gpt-4o", req(baseBody))
	if a != b {
		t.Error("Shared keys differ per client")
	}
	if _, ok := (Options{AnyTemperature: true}).Key("search", "gpt-4o", req(edit(t, `"temperature":0`, `"temperature":1`))); !ok {
		t.Error("AnyTemperature not applied")
	}
}

func TestCanonicalForm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{ "b" : [ 1 , { "a" : true } ] , "a" : null }`, `{"a":null,"b":[1,{"a":true}]}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`{"\u0062":1,"a":2}`, `{"a":2,"b":1}`},
		{`["\u00e9\n\/\"", "é\u000a/\\\""]`, `["é\n/\"","é\n/\\\""]`},
		{`["\ud83d\ude00", "😀", "\ud83d", "\ud83dx"]`, `["😀","😀","�","�x"]`},
		{"[\"\xff\", \"\\ufffd\"]", `["�","�"]`},
		{"[\"\\u2028\", \"\u2028\"]", `["\u2028","\u2028"]`},
		{`[1, 1.0, 1e0, 0.10, -0.5E1, 12345678901234567890, 1e400]`, `[1,1,1,0.1,-5,12345678901234567890,1e400]`},
		{`[]`, `[]`},
		{`{}`, `{}`},
	} {
		var c canon
		if !c.value([]byte(tc.in), 0) {
			t.Errorf("%s: refused", tc.in)
			continue
		}
		if string(c.out) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, c.out, tc.want)
		}
	}
}

// FuzzKey: any body is refused or keyed without panic, and a cacheable body keeps
// its key when encoding/json re-encodes it (sorted members, no whitespace, its own
// escaping, duplicates resolved).
func FuzzKey(f *testing.F) {
	for _, s := range []string{baseBody, `{"temperature":0,"messages":[]}`, `{"temperature":0,"a":"\ud83d\u0041\xff","b":{"c":[1e2,-0.0]}}`,
		`{"temperature":0,"a":1,"a":{"b":2}}`, `[]`, `{`, `{"n":2}`, `{"temperature":0,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, anyTemperature bool) {
		k, ok := Key("s", "a", &providers.Request{Body: body}, anyTemperature)
		if !ok {
			return
		}
		if len(k) != 64 {
			t.Fatalf("key %q", k)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("cacheable body does not decode: %v", err)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if k2, ok := Key("s", "a", &providers.Request{Body: again}, anyTemperature); !ok || k2 != k {
			t.Fatalf("re-encoded body %s: key %q %v, want %q", again, k2, ok, k)
		}
	})
}

func BenchmarkKey(b *testing.B) {
	body := requestOfAbout(2048)
	r := req(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Key("search", "gpt-4o", r, false); !ok {
			b.Fatal("not cacheable")
		}
	}
}

// requestOfAbout builds a realistic request body of about n bytes: a system prompt,
// a tool, and turns of conversation.
func requestOfAbout(n int) string {
	msgs := []map[string]any{{"role": "system", "content": "You are a helpful assistant.\nAnswer in one short paragraph; cite the tool's results."}}
	body := func() string {
		b, _ := json.Marshal(map[string]any{
			"model": "gpt-4o", "messages": msgs, "temperature": 0, "max_tokens": 512, "stream": true,
			"tools": []any{map[string]any{"type": "function", "function": map[string]any{
				"name": "search_docs", "description": "Search the documentation index",
				"parameters": map[string]any{"type": "object", "properties": map[string]any{
					"query": map[string]any{"type": "string"}, "limit": map[string]any{"type": "integer"}}, "required": []string{"query"}},
			}}},
		})
		return string(b)
	}
	for len(body()) < n {
		msgs = append(msgs, map[string]any{"role": "user", "content": "How do I rotate the \"primary\" key without downtime? Steps, please."},
			map[string]any{"role": "assistant", "content": "Create the secondary key, deploy it, then revoke the primary."})
	}
	return body()
}
