package bedrock

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A Converse body lives in a pooled buffer (body.go). The transport may still
// write it after Do returns, and may open it again to retry: until it closed
// every reader, later requests must not be written over it.
func TestBodyHeldByTheTransportIsNotReused(t *testing.T) {
	var held *http.Request
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if held == nil {
			held = r // neither read nor closed yet, as a slow connection would
		} else {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Header: jsonHeader, Body: io.NopCloser(bytes.NewReader(okConverse)), Request: r}, nil
	})
	p := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret,
		BaseURL: "https://bedrock-runtime.us-east-1.amazonaws.com", HTTPClient: &http.Client{Transport: rt}})
	first := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("first ", 2000) + `"}]}`
	want, err := translateRequest(chatCall(t, sonnet, first).Request, sonnet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), chatCall(t, sonnet, first)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		other := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("other ", 2000+i) + `"}]}`
		if _, err := p.Chat(context.Background(), chatCall(t, sonnet, other)); err != nil {
			t.Fatal(err)
		}
	}
	retry, err := held.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []io.ReadCloser{held.Body, retry} {
		got, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.body) {
			t.Fatalf("the held body changed: %.120s...", got)
		}
		body.Close()
	}
	if held.ContentLength != int64(len(want.body)) {
		t.Errorf("Content-Length %d for %d bytes", held.ContentLength, len(want.body))
	}
}

// Each reader of a body counts: the buffer is free only once the sender and
// every reader let it go, however often a reader is closed.
func TestBodyReleasedByItsLastHolder(t *testing.T) {
	buf := newBuffer(16)
	body := pooledBody(buf, append((*buf)[:0], "payload"...))
	a, b := body.open(), body.open()
	body.release() // the sender
	a.Close()
	a.Close()
	if n := body.refs.Load(); n != 1 {
		t.Fatalf("%d holders after the sender and one reader (closed twice) let go, want 1", n)
	}
	if got, _ := io.ReadAll(b); string(got) != "payload" {
		t.Fatalf("read %q", got)
	}
	b.Close()
	if n := body.refs.Load(); n != 0 {
		t.Fatalf("%d holders left", n)
	}
}
