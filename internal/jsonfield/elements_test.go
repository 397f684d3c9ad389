package jsonfield

import (
	"strings"
	"testing"
)

func TestEachElement(t *testing.T) {
	var got []string
	err := EachElement([]byte(` [ 1, "a,]" ,{"k":[2,3]}, [] ,null ] `), func(v []byte) bool {
		got = append(got, string(v))
		return true
	})
	if err != nil || strings.Join(got, "|") != `1|"a,]"|{"k":[2,3]}|[]|null` {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{``, `{}`, `[1,`, `[1 2]`, `["a]`} {
		if EachElement([]byte(bad), func([]byte) bool { return true }) == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	n := 0
	if err := EachElement([]byte(`[1,2,3]`), func([]byte) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Errorf("early stop: n=%d err=%v", n, err)
	}
	if err := EachElement([]byte(`[]`), func([]byte) bool { t.Error("called"); return true }); err != nil {
		t.Error(err)
	}
}

func FuzzEachElement(f *testing.F) {
	f.Add([]byte(`[1,"x",{"a":[1]},[]]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = EachElement(b, func(v []byte) bool {
			if len(v) == 0 {
				t.Fatal("empty element")
			}
			return true
		})
	})
}
