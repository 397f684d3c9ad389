package providers

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadSized(t *testing.T) {
	for _, tc := range []struct {
		body   string
		length int64
	}{
		{"", 0}, {"", -1}, {"hello", 5}, {"hello", -1}, {"hello", 2}, {"hello", 1 << 40},
	} {
		got, err := ReadSized(strings.NewReader(tc.body), tc.length, 1<<20)
		if err != nil || got == nil || string(got) != tc.body {
			t.Errorf("ReadSized(%q, %d) = %q, %v; want the body, never nil", tc.body, tc.length, got, err)
		}
	}
}

func TestReadResponseLimit(t *testing.T) {
	resp := func(body string) *http.Response {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	}
	if got, err := ReadResponse(resp("0123456789"), 10); err != nil || string(got) != "0123456789" {
		t.Fatalf("at the limit: %q, %v", got, err)
	}
	_, err := ReadResponse(resp("0123456789A"), 10)
	if e := AsError(err); err == nil || e.Class != ClassInternal {
		t.Fatalf("over the limit: %v, want an internal error", err)
	}
}
