package bedrock

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestScanDelta(t *testing.T) {
	for _, tc := range []struct {
		payload string
		index   int
		text    string
		tool    bool
		bad     bool
	}{
		{`{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abc"}`, 0, "Hello", false, false},
		{`{"p":"x","delta":{"text":"say \"hi\"\n\u00e9\ud83d\ude00"},"contentBlockIndex":12}`, 12, "say \"hi\"\né😀", false, false},
		{`{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{\"city\":"}}}`, 3, `{"city":`, true, false},
		{`{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}}`, 0, "hmm", false, false},
		{`{"contentBlockIndex":0,"delta":{"text":null}}`, 0, "", false, false},
		{`{"contentBlockIndex":0,"delta":{"toolUse":{}}}`, 0, "", true, false},
		{`{"contentBlockIndex":-1,"delta":{"text":"x"}}`, 0, "", false, true},
		{`{"contentBlockIndex":0}`, 0, "", false, true},
		{`{"contentBlockIndex":0,"delta":{"text":"unterminated}}`, 0, "", false, true},
		{`{"contentBlockIndex":0,"delta":{"text":"bad \x escape"}}`, 0, "", false, true},
		{`{"contentBlockIndex":0,"delta":{"toolUse":"x"}}`, 0, "", false, true},
		{`[]`, 0, "", false, true},
	} {
		var d jsonDecoder
		var ev event
		err := d.decode([]byte("contentBlockDelta"), []byte(tc.payload), &ev)
		if (err != nil) != tc.bad {
			t.Errorf("%s: error %v", tc.payload, err)
			continue
		}
		if tc.bad {
			continue
		}
		if ev.kind != evDelta || ev.index != tc.index || string(ev.text) != tc.text || ev.toolInput != tc.tool {
			t.Errorf("%s: %+v (text %q)", tc.payload, ev, ev.text)
		}
	}
}

// FuzzUnquote holds unquote to encoding/json: the same strings decode to the same
// text, and the same ones are rejected. (encoding/json turns each invalid UTF-8
// byte into U+FFFD; unquote leaves that to the encoders downstream, which do the
// same, so texts are compared after that step.)
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
		`"\ude00\ud83d"`, `"\u12"`, `"\q"`, "\"tab\there\"", `"`, `""`, `"\"`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d jsonDecoder
		got, err := d.unquote(raw)
		var want string
		wantErr := json.Unmarshal(raw, &want)
		if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
			return // not one string: encoding/json may accept another type, or spaces around it
		}
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: unquote %v, encoding/json %v", raw, err, wantErr)
		}
		if err == nil && string([]rune(string(got))) != want { // each invalid byte → U+FFFD

			t.Fatalf("%q: unquote %q, encoding/json %q", raw, got, want)
		}
	})
}

// FuzzDecodeConverse holds decodeConverse to encoding/json with the tags of
// wire.go: a Converse response built from the fuzzed values decodes to the same
// struct both ways.
func FuzzDecodeConverse(f *testing.F) {
	f.Add("Hello, \"world\"\n", "tooluse_1", "get_weather", []byte(`{"city":"Paris","n":1.50}`), "end_turn", 10, 5, 1490, false, true)
	f.Add("", "", "", []byte(`null`), "", -1, 0, 0, true, false)
	f.Add("<b>é😀</b>", "t", "answer", []byte(` { "a" : [ 1 , 2 ] } `), "tool_use", 1<<40, 0, 3, false, false)
	f.Fuzz(func(t *testing.T, text, id, name string, input []byte, stop string, in, out, cached int, nullMessage, nullUsage bool) {
		if !json.Valid(input) {
			return // tool input is a JSON value
		}
		doc := map[string]any{"stopReason": stop, "metrics": map[string]any{"latencyMs": 42}}
		content := []any{map[string]any{"text": text}, map[string]any{"reasoningContent": map[string]any{"reasoningText": map[string]any{"text": text, "signature": id}}},
			map[string]any{"reasoningContent": map[string]any{"redactedContent": input}},
			map[string]any{"toolUse": map[string]any{"toolUseId": id, "name": name, "input": json.RawMessage(input)}}, nil}
		if nullMessage {
			doc["output"] = map[string]any{"message": nil}
		} else {
			doc["output"] = map[string]any{"message": map[string]any{"role": "assistant", "content": content}}
		}
		if nullUsage {
			doc["usage"] = nil
		} else {
			doc["usage"] = map[string]any{"inputTokens": in, "outputTokens": out, "totalTokens": in + out + cached,
				"cacheReadInputTokens": cached, "cacheWriteInputTokens": 0}
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var got, want converseResponse
		if err := decodeConverse(raw, &got); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: encoding/json: %v", raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", raw, got, want)
		}
	})
}

// BenchmarkTranslateResponse measures a Converse response body to the
// chat.completion the client gets.
func BenchmarkTranslateResponse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := translateResponse(okConverse, sonnet, "", "chatcmpl-0123456789abcdef01234567", 1700000000); err != nil {
			b.Fatal(err)
		}
	}
}
