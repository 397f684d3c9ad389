package bedrock

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// The string and document helpers of the request encoder, each held to
// encoding/json, which the encoder must match byte for byte.

// encodingJSON is s as encoding/json writes it without HTML escaping.
func encodingJSON(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// checkString holds transcode, stringEnd, appendString, unquote and
// providers.AppendJSONString to encoding/json on the string token tok, found after prefix
// and before suffix.
func checkString(t *testing.T, prefix, tok, suffix []byte) {
	t.Helper()
	var decoded string
	if json.Unmarshal(tok, &decoded) != nil {
		return
	}
	want := encodingJSON(t, decoded)
	b := append(append(append([]byte(nil), prefix...), tok...), suffix...)
	got, end, ok := transcode([]byte("x"), b, len(prefix))
	if !ok || end != len(prefix)+len(tok) || `"`+string(got[1:])+`"` != want {
		t.Fatalf("transcode(%q) = %q, %d, %v; encoding/json %s, end %d", tok, got[1:], end, ok, want, len(prefix)+len(tok))
	}
	if end, ok := stringEnd(b, len(prefix)); !ok || end != len(prefix)+len(tok) {
		t.Fatalf("stringEnd(%q) = %d, %v; want %d", tok, end, ok, len(prefix)+len(tok))
	}
	if got := appendString(nil, tok); string(got) != want {
		t.Fatalf("appendString(%q) = %s, want %s", tok, got, want)
	}
	if got := unquote(nil, contents(tok)); string(got) != decoded {
		t.Fatalf("unquote(%q) = %q, want %q", tok, got, decoded)
	}
	// decoded holds no invalid UTF-8; s with it is written as encoding/json writes it.
	for _, s := range []string{decoded, string(contents(tok))} {
		if got, want := providers.AppendJSONString(nil, s), encodingJSON(t, s); string(got) != want {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestTranscodeMatchesEncodingJSON(t *testing.T) {
	long := strings.Repeat(`word \"quoted\" tab\t line\n back\\slash `, 8)
	// Each escape at every offset of an eight-byte step, and just before the end.
	var shifted []string
	for n := range 18 {
		pad := strings.Repeat("a", n)
		for _, e := range []string{`\"`, `\\`, `\\\"`, `\u00e9`, `\/`, `\\u`, "\xc3\xa9", `\n`} {
			shifted = append(shifted, pad+e, pad+e+"b", e+pad)
		}
	}
	for _, s := range append(shifted,
		``, `plain`, long, `\"`, `\\`, `\\\"`, `a\\"`[:3], `\/\/`, `\u0041\u00e9\u4e2d`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`,
		`\ud800\u0041`, `\u0000\u001f\b\f\u007f`, `\u2028\u2029`, "\u2028 raw \u2029", `\u003c\u003e\u0026`, "caf\xc3\xa9 \xff\xfe \xe2\x80",
		`\\u0041 is not an escape`, `\\\u0041`, `\\/ and \\\/`, strings.Repeat(`\\`, 9)+`n`, strings.Repeat("é", 20)+`\n`,
		long+`\u00e9`+long, `1234567\"`, `12345678\\`, `1234567\\\"x`,
	) {
		tok := []byte(`"` + s + `"`)
		for _, prefix := range []string{``, `\`, `\\`, `{"a":`} {
			checkString(t, []byte(prefix), tok, []byte(`,"b":"\"z\""}`))
			checkString(t, []byte(prefix), tok, nil)
		}
	}
}

func FuzzTranscode(f *testing.F) {
	for _, s := range []string{`a\"b`, `\\"`, `\u00e9\ud83d\ude00`, "\xff\u2028", `12345678\\\"\/`} {
		f.Add([]byte(`x\`), []byte(s), []byte(`"}`))
	}
	f.Fuzz(func(t *testing.T, prefix, s, suffix []byte) {
		tok := append(append([]byte{'"'}, s...), '"')
		if !json.Valid(tok) {
			return
		}
		checkString(t, prefix, tok, suffix)
	})
}

// FuzzCompact holds appendCompact to json.Compact on valid documents.
func FuzzCompact(f *testing.F) {
	f.Add([]byte(` { "a" : [ 1 , "x \" y" , { } ] , "b\u2028" : null } `))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, doc); err != nil {
			t.Fatal(err)
		}
		if got := appendCompact(nil, doc); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendCompact(%q) = %q, want %q", doc, got, want.Bytes())
		}
	})
}

// FuzzMalformedInput feeds the readers and writers documents no validator has
// seen: whatever they hold, each returns, with an error or a result, and never
// panics or reads out of bounds (the helpers trust ParseChat's validation for
// meaning, not for safety).
func FuzzMalformedInput(f *testing.F) {
	for _, s := range []string{`[{"role":"user","content":"a\"`, `[{"role":"tool","content":"\u12`, `[{"role":"assistant","tool_calls":[{"function":{"arguments":"{\"a\"`,
		`[{"role":"user","content":[{"type":"text","text":"x\`, `[{"role":"system","content":[{"cache_control":{}}`, `[{"role":"assistant","content":"x\\"}]`,
		`[{"type":"function","function":{"name":"f","parameters":{`, `"\ud83d\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := conversation{keepReasoning: true}
		if c.writeMessages(raw) == nil {
			c.writeSystem(jsonObjectInstruction)
		}
		_, _ = readTools(raw)
		_ = appendCompact(nil, raw)
		_ = unquote(nil, raw)
		if len(raw) > 0 && raw[0] == '"' {
			_, _, _ = transcode(nil, raw, 0)
			_, _ = stringEnd(raw, 0)
		}
		_, _ = valueEnd(raw, 0)
	})
}

// attention marks exactly the bytes scanString stops at, in every lane, whatever
// the other lanes hold: scanString handles every mark of a word from one load.
func TestAttentionIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	interesting := []byte{0, 0x1f, 0x20, '"', '\\', 'u', '/', 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	for range 200000 {
		var w [8]byte
		for i := range w {
			if r.IntN(2) == 0 {
				w[i] = interesting[r.IntN(len(interesting))]
			} else {
				w[i] = byte(r.IntN(256))
			}
		}
		var want uint64
		for i, c := range w {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				want |= 0x80 << (8 * i)
			}
		}
		if got := attention(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("attention(% x) = %#x, want %#x", w, got, want)
		}
	}
}
