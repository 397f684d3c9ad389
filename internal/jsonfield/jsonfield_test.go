package jsonfield

import (
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
