package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// validCases are documents at the edges of the grammar, for Valid against
// encoding/json.Valid.
var validCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `-`, `01`, `-01`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`,
	`1.5e3`, `+1`, `0x10`, `Infinity`, `NaN`, `true`, `tru`, `truex`, `false`, `null`, `nul`, `nulll`,
	` {"a" : [1 , 2.5e-3 , true , null , "x"] } `, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{1:2}`,
	`{"a":1 "b":2}`, `[1 2]`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\/"`, `"\b\f\n\r\t\"\\"`,
	"\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"tab\there\"", `"unterminated`, `"ends in escape\`,
	"\xef\xbb\xbf{}", "{}\x00", "[1]\n", "\v[]", "\f[]", `{"a":{"b":{"c":[[[]]]}}}`, `[[[[`, `]`, `}`,
	`"a string of more than eight bytes with a \" quote in its middle"`, `"01234567\"89"`, "\"0123456\x01\"",
	"\"\xff\x1f0123456789\"", "\"\x20\x1f\"0123456\"", `"0123456\\"`, `"012345\"\\x"`, "\"0123\x80\x7f\x00567\"",
	`{"model":"x","messages":[{"role":"user","content":"hi"}]}`,
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

// TestNestingLimit: encoding/json refuses documents nested deeper than 10000 levels.
func TestNestingLimit(t *testing.T) {
	for _, depth := range []int{9999, 10000, 10001} {
		for _, open := range []string{"[", `{"a":`} {
			closing := map[string]string{"[": "]", `{"a":`: "}"}[open]
			doc := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closing, depth))
			if got, want := Valid(doc), json.Valid(doc); got != want {
				t.Errorf("depth %d of %s: Valid %v, encoding/json %v", depth, open, got, want)
			}
		}
	}
}

// FuzzValid holds Valid to encoding/json.Valid on any input.
func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if got, want := Valid(doc), json.Valid(doc); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", doc, got, want)
		}
	})
}

var read = NewNames("model", "stream", "max_tokens")

type member struct{ name, value string }

func members(doc string) ([]member, error) {
	var out []member
	err := Members([]byte(doc), read, func(name, value []byte) error {
		out = append(out, member{string(name), string(value)})
		return nil
	})
	return out, err
}

func TestMembersRefusesAmbiguousNames(t *testing.T) {
	cases := []struct {
		doc  string
		kind Kind
		name string
	}{
		{`{"model":"a","model":"b"}`, Duplicate, "model"},
		{`{"x":1,"x":2}`, Duplicate, "x"},
		{`{"model":"a","mod\u0065l":"b"}`, Duplicate, "model"},
		{`{"mod\u0065l":"b"}`, Escaped, "model"},
		{`{"str\u0065am":true}`, Escaped, "stream"},
		{`{"Model":"b"}`, CaseVariant, "Model"},
		{`{"MAX_TOKENS":1}`, CaseVariant, "MAX_TOKENS"},
		{`{"ſtream":true}`, CaseVariant, "ſtream"},                // U+017F folds to s
		{`{"max_to\u212aens":1}`, CaseVariant, "max_to\u212aens"}, // U+212A (Kelvin) folds to k
		{`{"Mod\u0065l":"b"}`, CaseVariant, "Model"},
		{`{"a\u00e9":1,"aé":2}`, Duplicate, "aé"},
		{"{\"a\xff\":1,\"a\xfe\":2}", Duplicate, "a\ufffd"}, // both decode to U+FFFD
	}
	for _, c := range cases {
		_, err := members(c.doc)
		var amb *AmbiguousError
		if !errors.As(err, &amb) || amb.Kind != c.kind || amb.Name != c.name {
			t.Errorf("%s: got %v, want kind %d on %q", c.doc, err, c.kind, c.name)
		}
	}
}

func TestMembersReadsPlainObjects(t *testing.T) {
	got, err := members(` { "model" : "m" , "x\u0079" : [1,{"model":2,"model":3}], "Other":null, "stream":true } `)
	want := []member{{"model", `"m"`}, {"xy", `[1,{"model":2,"model":3}]`}, {"Other", "null"}, {"stream", "true"}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for doc, want := range map[string]error{`[]`: ErrNotObject, `"s"`: ErrNotObject, `{"a":1`: ErrSyntax,
		`{"a":1}x`: ErrSyntax, `{"a":[}`: ErrSyntax, ``: ErrSyntax, `{"a":"\q"}`: ErrSyntax} {
		if _, err := members(doc); err != want {
			t.Errorf("%s: got %v, want %v", doc, err, want)
		}
	}
}

// TestManyMembersLinear: duplicates among many members are still found (the set
// switches to a map past its first few names).
func TestManyMembersLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 5000 {
		b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)) + `":0,`)
	}
	b.WriteString(`"kaaa":1}`)
	if _, err := members(b.String()); err == nil || err.(*AmbiguousError).Kind != Duplicate {
		t.Errorf("duplicate among 5000 members: %v", err)
	}
}

// fuzzFind is the string FuzzMembers looks for: short, so that the fuzzer writes it.
const fuzzFind = "ab"

// holdsString is MembersFinding's oracle: whether a token of the valid value v, a
// name or a string (duplicates included), decodes to s under encoding/json.
func holdsString(v []byte, s string) bool {
	dec := json.NewDecoder(bytes.NewReader(v))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if str, ok := tok.(string); ok && str == s {
			return true
		}
	}
}

// FuzzMembers holds Members to encoding/json: an accepted document is a valid
// object whose members are exactly those encoding/json decodes, with no repeated
// name; a refusal is justified. What MembersFinding finds in each member's value
// is what encoding/json's tokens say, and what MembersNoting notes of its strings
// is what they hold.
func FuzzMembers(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	for _, c := range []string{`{"model":"a","mod\u0065l":"b"}`, `{"Model":1}`, `{"ſtream":true}`, `{"a":1,"a":2}`,
		`{"a\ud800":1,"a\udbff":2}`, `{"model":"m","stream":true,"max_tokens":3,"x":{"y":[1,2]}}`,
		`{"x":[{"ab":1},"a\u0062",{"k":"ab","k":"c"}],"y":"abc","z":"\u0061b"}`,
		`{"x":["a\nb","\u00e1b","a\ud800","\/ab","a\u0062c","\u0041b","ab\u0000"],"y":"\u0061\u0062"}`} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var got []member
		err := MembersFinding(doc, read, fuzzFind, func(name, value []byte, found bool) error {
			got = append(got, member{string(name), string(value)})
			if want := holdsString(value, fuzzFind); found != want {
				t.Fatalf("%q: member %q holds %q: %v, MembersFinding says %v", doc, name, fuzzFind, want, found)
			}
			return nil
		})
		errNoting := MembersNoting(doc, read, func(name, value []byte, text Text) error {
			want := textOf(value)
			if text != want {
				t.Fatalf("%q: member %q holds %b, MembersNoting says %b", doc, name, want, text)
			}
			return nil
		})
		if fmt.Sprint(errNoting) != fmt.Sprint(err) {
			t.Fatalf("%q: MembersFinding %v, MembersNoting %v", doc, err, errNoting)
		}
		var amb *AmbiguousError
		switch {
		case err == nil:
			var m map[string]json.RawMessage
			if e := json.Unmarshal(doc, &m); e != nil || m == nil || len(m) != len(got) {
				t.Fatalf("accepted %q: encoding/json decodes %d members (%v), Members %d", doc, len(m), e, len(got))
			}
			for _, g := range got {
				if v, ok := m[g.name]; !ok || !bytes.Equal(v, []byte(g.value)) {
					t.Fatalf("accepted %q: member %q = %s, encoding/json has %s", doc, g.name, g.value, v)
				}
			}
		case err == ErrSyntax:
			if json.Valid(doc) {
				t.Fatalf("refused valid %q as invalid", doc)
			}
		case err == ErrNotObject:
			if !json.Valid(doc) || bytes.HasPrefix(bytes.TrimLeft(doc, " \t\r\n"), []byte("{")) {
				t.Fatalf("refused %q as not an object", doc)
			}
		case errors.As(err, &amb):
			if string(decodeString([]byte(`"`+amb.Raw+`"`))) != amb.Name {
				t.Fatalf("%q: name %q does not decode to %q", doc, amb.Raw, amb.Name)
			}
			switch amb.Kind {
			case Duplicate:
				seen := false
				for _, g := range got {
					seen = seen || g.name == amb.Name
				}
				if !seen {
					t.Fatalf("%q: %q called a duplicate but not seen before", doc, amb.Name)
				}
			case Escaped:
				if amb.Name != amb.Of || !strings.Contains(amb.Raw, `\`) {
					t.Fatalf("%q: %v", doc, amb)
				}
			case CaseVariant:
				if amb.Name == amb.Of || !strings.EqualFold(amb.Name, amb.Of) {
					t.Fatalf("%q: %v", doc, amb)
				}
			}
		default:
			t.Fatalf("%q: unexpected error %v", doc, err)
		}
	})
}

// TestMembersFinding: a member's value is found to hold a string when one of its
// strings, a name or a value at any depth, decodes to it; text around the word, or
// an escape that decodes to something else, is not it.
func TestMembersFinding(t *testing.T) {
	cases := map[string]bool{
		`[{"type":"image_url"}]`:                   true,
		`[{"type":"imag\u0065_url"}]`:              true,
		`[{"imag\u0065_url":{}}]`:                  true,
		`[{"type":"text","text":"an image_url"}]`:  false,
		`[{"type":"text","text":"\"image_url\""}]`: false,
		`[{"type":"image\\u005furl"}]`:             false,
		`[]`:                                       false,
		`"image_url"`:                              true,
	}
	for value, want := range cases {
		doc := `{"image_url":1,"messages":` + value + `,"other":"image_url"}`
		got := map[string]bool{}
		err := MembersFinding([]byte(doc), read, "image_url", func(name, _ []byte, found bool) error {
			got[string(name)] = found
			return nil
		})
		if err != nil || got["messages"] != want || got["image_url"] || !got["other"] {
			t.Errorf("%s: found %v (%v), want messages %v, only the value's strings looked at", doc, got, err, want)
		}
	}
}

// chatLike is a large realistic body: long strings with escapes and non-ASCII text.
func chatLike() []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"gpt-4o","messages":[`)
	for i := range 400 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":"` + strings.Repeat(`Lorem ipsum dolor sit amet, \"quoted\" é 😀\n`, 20) + `"}`)
	}
	b.WriteString(`],"temperature":0.2}`)
	return b.Bytes()
}

func BenchmarkValid(b *testing.B) {
	doc := chatLike()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkValidEncodingJSON is the yardstick: encoding/json.Valid on the same body.
func BenchmarkValidEncodingJSON(b *testing.B) {
	doc := chatLike()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

// textOf is what the strings of the valid JSON value v hold, byte by byte.
func textOf(v []byte) (t Text) {
	in := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case !in:
			in = c == '"'
		case c == '\\':
			t |= HasEscape
			if v[i+1] == 'u' {
				t |= HasUnicodeEscape
			}
			i++
		case c == '"':
			in = false
		}
	}
	return t
}

// Escapes are read eight bytes at a time: an escape at every offset from the
// start of a word, its second byte in the same word or the next, followed by
// a quote or not, is judged as encoding/json judges it, and the string ends
// where it does.
func TestEscapesAtEveryOffset(t *testing.T) {
	for _, esc := range []string{`\"`, `\\`, `\n`, `\/`, `\u00e9`, `\ud83d\ude00`, `\x`, `\u12`, "\\\x01", `\\\"`} {
		for pad := range 18 {
			for _, after := range []string{"", `"`, `\"`, "ab", "\x01"} {
				s := `"` + strings.Repeat("a", pad) + esc + after + `"`
				doc := []byte(`{"k":` + s + `,"n":1}`)
				if got, want := Valid(doc), json.Valid(doc); got != want {
					t.Fatalf("%q: Valid %v, encoding/json %v", doc, got, want)
				}
				var v string
				if json.Unmarshal([]byte(s), &v) == nil {
					if end, _, ok := skipString([]byte(s+`,"x"`), 0); !ok || end != len(s) {
						t.Fatalf("%q: ends at %d (%v), want %d", s, end, ok, len(s))
					}
				}
			}
		}
	}
}
