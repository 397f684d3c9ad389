package gemini

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestUnescape(t *testing.T) {
	for _, s := range []string{`plain`, `a\"b\\c\/d`, `\b\f\n\r\t`, `\u00e9\u4e2d`, `\ud83d\ude00!`, `\ud83d alone`, `\ude00`, ``} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatal(err)
		}
		got, ok := unescape(nil, []byte(s))
		if !ok || string(got) != want {
			t.Errorf("unescape(%q) = %q %v, want %q", s, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\uZZZZ`} {
		if _, ok := unescape(nil, []byte(bad)); ok {
			t.Errorf("unescape(%q) accepted", bad)
		}
	}
}

// FuzzUnescape: wherever encoding/json accepts a string, unescape decodes it alike.
func FuzzUnescape(f *testing.F) {
	f.Add(`a\u00e9\ud83d\ude00\n`)
	f.Add(`\ud800\udc00\udbff`)
	f.Fuzz(func(t *testing.T, s string) {
		var want string
		if json.Unmarshal([]byte(`"`+s+`"`), &want) != nil {
			unescape(nil, []byte(s)) // must not panic
			return
		}
		got, ok := unescape(nil, []byte(s))
		if !ok {
			t.Fatalf("unescape(%q) refused what encoding/json accepts", s)
		}
		if utf8.ValidString(string(got)) && string(got) != want {
			t.Fatalf("unescape(%q) = %q, want %q", s, got, want)
		}
	})
}

func TestScanEvent(t *testing.T) {
	var v eventView
	err := scanEvent([]byte(`{"candidates":[{"index":1,"content":{"parts":[{"text":"other"}]}},{"content":{"parts":[{"text":"a\"b","thoughtSignature":"c2ln"},{"thought":true,"text":"hmm"},{"functionCall":{"name":"f"}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5},"responseId":"r1","modelVersion":"m1"}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.parts) != 3 || string(v.parts[0].text) != `a\"b` || !v.parts[0].escaped || !v.parts[1].thought || string(v.parts[2].call) != `{"name":"f"}` {
		t.Errorf("parts = %+v", v.parts)
	}
	if string(v.finishReason) != "STOP" || v.usage.TotalTokenCount != 5 || string(v.responseID) != "r1" || string(v.modelVersion) != "m1" || v.special {
		t.Errorf("view = %+v", v)
	}
	for _, bad := range []string{`[]`, `{"candidates":{}}`, `{"usageMetadata":{"promptTokenCount":-1}}`, `{"candidates":[{"content":{"parts":[1]}}]}`} {
		if scanEvent([]byte(bad), &v) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
