package providers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzEncodeChat holds encodeChat to json.Marshal, byte for byte, on every chat
// request encoding/json decodes, seeded with the translators' golden requests.
func FuzzEncodeChat(f *testing.F) {
	golden, _ := filepath.Glob(filepath.Join("*", "testdata", "*.chat.json"))
	for _, g := range golden {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"model":"m"}`, `{"model":"m","messages":[]}`, `{"model":"m","messages":null}`,
		`{"model":"m","messages":[{"role":"user","content":[]},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":"<b>&amp; \u2028 \ud83d\ude00"}],"stop":"x","metadata":{"a":[1,{"b":null}]}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c ChatRequest
		if json.Unmarshal(body, &c) != nil {
			return
		}
		want, errWant := json.Marshal(&c)
		got, errGot := encodeChat(&c)
		if (errWant == nil) != (errGot == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s (%v)\nwant %s (%v)", body, got, errGot, want, errWant)
		}
	})
}
