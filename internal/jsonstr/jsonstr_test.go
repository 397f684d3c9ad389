package jsonstr

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		`plain`:                   "plain",
		`a\"b\\c\/d\n\t\r\b\f`:    "a\"b\\c/d\n\t\r\b\f",
		`\u00e9\u4e2d`:            "é中",
		`\ud83d\ude00`:            "😀",
		`lone \ud83d here`:        "lone \uFFFD here",
		`swapped \ude00\ud83d ok`: "swapped \uFFFD\uFFFD ok",
	}
	for in, want := range cases {
		got, ok := Unescape(nil, []byte(in))
		if !ok || string(got) != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`\x`, `\u12`, `\u12zz`, "raw\nnewline", `trailing\`, `bare"quote`} {
		if _, ok := Unescape(nil, []byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzUnescape holds Unescape to encoding/json on every string it accepts.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{`hello`, `\"\\\/\b\f\n\r\t`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\u`,
		`a plain run of text, \n then\t more text after the escapes \u00e9 and more`, "a run of text, then \x01 a raw control", `0123456789abcdef"bare quote`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		got, ok := Unescape(nil, s)
		quoted := append(append([]byte{'"'}, s...), '"')
		var want string
		err := json.Unmarshal(quoted, &want)
		if ok != (err == nil) && utf8.Valid(s) {
			t.Fatalf("%q: Unescape ok=%v, encoding/json err=%v", s, ok, err)
		}
		if ok && err == nil && utf8.Valid(s) && string(got) != want {
			t.Fatalf("%q: %q, encoding/json %q", s, got, want)
		}
		// String, unlike Unescape, decodes every input exactly as encoding/json.
		str, ok := String(quoted)
		if ok != (err == nil) || str != want {
			t.Fatalf("String(%q) = %q, %v; encoding/json %q, %v", quoted, str, ok, want, err)
		}
	})
}

func BenchmarkUnescape(b *testing.B) {
	s := []byte(`Hello, \"world\"! Here is some text with an escape\n and a unicode \u00e9 char.`)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Unescape(buf[:0], s)
	}
}

// String takes every well-formed string, escaped quotes included: what it leaves
// to encoding/json costs a second pass.
func TestStringTakesEscapes(t *testing.T) {
	for raw, want := range map[string]string{`"plain"`: "plain", `"say \"hi\"\n"`: "say \"hi\"\n", `"é \u00e9"`: "é é"} {
		if got, ok := String([]byte(raw)); !ok || got != want {
			t.Errorf("String(%s) = %q, %v", raw, got, ok)
		}
	}
	if got, ok := String([]byte("\"a\xffb \xe2\x82 \\u00e9\"")); !ok || got != "a\uFFFDb \uFFFD\uFFFD é" {
		t.Errorf("invalid UTF-8: %q, %v", got, ok)
	}
	for _, bad := range []string{`"bare " quote"`, "\"tab\there\"", `"x\q"`} {
		if _, ok := String([]byte(bad)); ok {
			t.Errorf("String(%q) accepted", bad)
		}
	}
}

func TestDecodeAndIndex(t *testing.T) {
	buf := make([]byte, 0, 8)
	v, buf, ok := Decode(buf, []byte(`"plain"`))
	if !ok || string(v) != "plain" {
		t.Errorf("plain: %q %v", v, ok)
	}
	v, _, ok = Decode(buf, []byte(`"a\nb"`))
	if !ok || string(v) != "a\nb" {
		t.Errorf("escaped: %q %v", v, ok)
	}
	for _, bad := range []string{`plain`, `"`, "\"raw\ttab\"", `"x\q"`} {
		if _, _, ok := Decode(nil, []byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	for in, want := range map[string]int{"0": 0, "42": 42, "": -1, "-1": -1, "1.5": -1, "1234567890": 1234567890, "1234567890123456789": -1} {
		if got := Index([]byte(in)); got != want {
			t.Errorf("Index(%q) = %d", in, got)
		}
	}
}

// Specials marks exactly the bytes a string scan stops at, in every lane, whatever
// the other lanes hold: a scan handles every mark of a word from one load.
func TestSpecialsAreExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	interesting := []byte{0, 0x1f, 0x20, '"', '\\', 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
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
			if c < 0x20 || c == '"' || c == '\\' {
				want |= 0x80 << (8 * i)
			}
		}
		if got := Specials(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("Specials(% x) = %#x, want %#x", w, got, want)
		}
	}
}
