package bedrock

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// A large Converse body lives in a lent buffer (body.go). The transport may still
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
	first := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("first ", 20000) + `"}]}`
	want, err := translateRequest(chatCall(t, sonnet, first).Request, sonnet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), chatCall(t, sonnet, first)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		other := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("other ", 20000+i) + `"}]}`
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
// every reader let it go, however often a reader is closed. Buffers lent after
// the others let go, and written over, must not be the one still read.
func TestBodyReleasedByItsLastHolder(t *testing.T) {
	const n = 100 << 10
	own := providers.NewLease(n)
	body := &requestBody{b: append(own.Buffer(), "payload"...), own: own}
	a, b := body.open(), body.open()
	body.release() // the sender
	a.Close()
	a.Close()
	var others []*providers.Lease
	for range 8 {
		l := providers.NewLease(n)
		buf := l.Buffer()
		for range cap(buf) {
			buf = append(buf, 'x')
		}
		others = append(others, l)
	}
	if got, _ := io.ReadAll(b); string(got) != "payload" {
		t.Fatalf("read %q", got)
	}
	b.Close()
	for _, l := range others {
		l.Release()
	}
}
