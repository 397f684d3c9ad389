package jsonfield

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestSetReplacesAndAppends(t *testing.T) {
	cases := []struct {
		in, key, val, want string
	}{
		{`{"model":"a","x":1}`, "model", `"b"`, `{"model":"b","x":1}`},
		{`{ "x" : 1 , "model" : "a" }`, "model", `"b"`, `{ "x" : 1 , "model" : "b" }`},
		{`{"x":{"model":"inner"}}`, "model", `"b"`, `{"x":{"model":"inner"},"model":"b"}`},
		{`{}`, "model", `"b"`, `{"model":"b"}`},
		{` { } `, "k", `1`, ` {"k":1 } `},
		{`{"s":"a\"model\":1","n":[1,{"model":2}]}`, "model", `3`, `{"s":"a\"model\":1","n":[1,{"model":2}],"model":3}`},
		{`{"model":"a","model":"c"}`, "model", `"b"`, `{"model":"b","model":"b"}`},
	}
	for _, c := range cases {
		got, err := Set([]byte(c.in), c.key, []byte(c.val))
		if err != nil || string(got) != c.want {
			t.Errorf("Set(%s, %s) = %s, %v; want %s", c.in, c.key, got, err, c.want)
		}
	}
}

func TestGetAndDelete(t *testing.T) {
	obj := []byte(`{"a":1,"stream_options":{"include_usage":true},"b":"x"}`)
	v, err := Get(obj, "stream_options")
	if err != nil || string(v) != `{"include_usage":true}` {
		t.Fatalf("Get = %s, %v", v, err)
	}
	if v, _ := Get(obj, "missing"); v != nil {
		t.Errorf("missing key: %s", v)
	}
	out, err := Delete(obj, "stream_options")
	if err != nil || string(out) != `{"a":1,"b":"x"}` {
		t.Errorf("Delete = %s, %v", out, err)
	}
}

func TestRejectsNonObjects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":"unterminated}`, `{"a":1`} {
		if _, err := Set([]byte(in), "k", []byte("1")); err == nil {
			t.Errorf("Set(%q) accepted malformed input", in)
		}
	}
}

// FuzzSet checks, on every valid JSON object, that Set gives a valid document whose
// key holds the new value and whose other members are unchanged.
func FuzzSet(f *testing.F) {
	for _, s := range []string{`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, `{}`,
		`{"a":{"b":[1,2,{"c":"}"}]},"model":null}`, `{"x":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before map[string]any
		if json.Unmarshal(data, &before) != nil || before == nil {
			_, _ = Set(data, "model", []byte(`"m"`)) // must not panic
			return
		}
		out, err := Set(data, "model", []byte(`"m"`))
		if err != nil {
			t.Fatalf("Set rejected a valid object %q: %v", data, err)
		}
		var after map[string]any
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("Set produced invalid JSON %q from %q", out, data)
		}
		before["model"] = "m"
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("Set changed other members:\n in %q\nout %q", data, out)
		}
	})
}

// skipStringBytewise is the plain scan skipString must agree with.
func skipStringBytewise(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// FuzzSkipString is differential: the vectorized search ends a string where a
// byte-by-byte scan does, escapes and runs of backslashes included.
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `"a\\"b`, `"\\\"x"`, `"\\\\"`, `"unterminated\"`, `"\`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = append([]byte{'"'}, b...)
		end, ok := skipString(b, 0)
		wantEnd, wantOK := skipStringBytewise(b, 0)
		if end != wantEnd || ok != wantOK {
			t.Fatalf("skipString(%q) = %d, %v; the byte scan says %d, %v", b, end, ok, wantEnd, wantOK)
		}
	})
}

func TestApplyEditsInOnePass(t *testing.T) {
	model := Edit{Key: "model", Value: []byte(`"m"`), Add: true}
	stream := Edit{Key: "stream", Value: []byte(`false`)}
	for _, c := range []struct {
		in, want string
		edits    []Edit
	}{
		{`{"model":"a","stream":true,"x":1}`, `{"model":"m","stream":false,"x":1}`, []Edit{model, stream}},
		{`{"x":1}`, `{"x":1,"model":"m"}`, []Edit{model, stream}},
		{`{}`, `{"model":"m","stream":true}`, []Edit{model, {Key: "stream", Value: []byte("true"), Add: true}}},
		{` { "stream" : null } `, ` { "stream" : false,"model":"m" } `, []Edit{stream, model}},
		{`{"x":{"stream":true}}`, `{"x":{"stream":true}}`, []Edit{stream}},
	} {
		got, err := Apply([]byte(c.in), c.edits...)
		if err != nil || string(got) != c.want {
			t.Errorf("Apply(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// FuzzApply checks, on every valid JSON object, that Apply gives a valid
// document where the edited members hold their values (the added one added, the
// other only where present) and every other member is unchanged.
func FuzzApply(f *testing.F) {
	for _, s := range []string{`{"model":"gpt","stream":true}`, `{}`, `{"a":[{"stream":1}],"stream":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before map[string]any
		if json.Unmarshal(data, &before) != nil || before == nil {
			_, _ = Apply(data, Edit{Key: "model", Value: []byte(`"m"`), Add: true}, Edit{Key: "stream", Value: []byte("false")})
			return
		}
		escaped := false
		_ = Each(data, func(k, _ []byte) bool { escaped = escaped || bytes.IndexByte(k, '\\') >= 0; return true })
		if escaped {
			return // names are matched as written (callers refuse escaped ones)
		}
		out, err := Apply(data, Edit{Key: "model", Value: []byte(`"m"`), Add: true}, Edit{Key: "stream", Value: []byte("false")})
		if err != nil {
			t.Fatalf("Apply rejected a valid object %q: %v", data, err)
		}
		var after map[string]any
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("Apply produced invalid JSON %q from %q", out, data)
		}
		before["model"] = "m"
		if _, ok := before["stream"]; ok {
			before["stream"] = false
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("Apply changed other members:\n in %q\nout %q", data, out)
		}
	})
}
