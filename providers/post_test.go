package providers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNewPostBody: a body in pieces reaches the upstream whole, with its length
// announced (never chunked), and GetBody replays it from its start, as the
// transport does when it retries a request on a connection that closed.
func TestNewPostBody(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.ContentLength != int64(len(b)) || len(r.TransferEncoding) != 0 {
			t.Errorf("length %d, transfer encoding %v, for %d bytes", r.ContentLength, r.TransferEncoding, len(b))
		}
		got = append(got, string(b))
	}))
	defer srv.Close()
	large := []byte(`{"model":"x","messages":"` + strings.Repeat("m", joinBelow) + `"}`)
	for _, body := range []Body{{[]byte(`{"model":"a"}`)}, {[]byte(`{"model":`), []byte(`"b"`), nil, []byte(`,"x":1}`)}, {},
		{large[:9], []byte(`"y"`), large[12:]}} {
		want := string(body.Bytes())
		req, err := NewPostBody(context.Background(), srv.URL, body, nil, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		replay, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		again, _ := io.ReadAll(replay)
		if got[len(got)-1] != want || string(again) != want || req.ContentLength != int64(len(want)) {
			t.Errorf("sent %q, upstream read %q, GetBody %q, length %d", want, got[len(got)-1], again, req.ContentLength)
		}
	}
}

// TestDoLetsGoOfALargeBody: once Do returns, a large body can no longer be
// replayed (the transport replays only within Do) and the reader the transport
// was given holds nothing after its Close; a small one stays a bytes.Reader,
// which net/http writes with its headers.
func TestDoLetsGoOfALargeBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	large := Body{[]byte(`{"model":"x","m":"`), []byte(strings.Repeat("m", joinBelow)), []byte(`"}`)}
	req, err := NewPostBody(context.Background(), srv.URL, large, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Do(srv.Client(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := req.GetBody(); err == nil {
		t.Error("GetBody replayed a large body after Do returned")
	}
	r := req.Body.(*pieceReader)
	r.mu.Lock()
	left, closed := len(r.bufs), r.closed
	r.mu.Unlock()
	if left != 0 || !closed {
		t.Errorf("the transport's reader holds %d pieces after Do (closed %v)", left, closed)
	}

	small, err := NewPostBody(context.Background(), srv.URL, Body{[]byte(`{"model":`), []byte(`"b"}`)}, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := small.Body.(*pieceReader); ok {
		t.Error("a small body is not a bytes.Reader")
	}
}

// A transport may close a body from another goroutine than the one reading it
// (HTTP/2 aborting a stream): neither races, and a read after Close fails rather
// than sending a short body.
func TestPieceReaderClosedWhileRead(t *testing.T) {
	held := &heldBody{pieces: Body{[]byte(strings.Repeat("x", 1<<20))}}
	rc, err := held.open()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 512)
		for {
			if _, err := rc.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	rc.Close()
	if err := <-done; err != io.EOF && err != errBodyReleased {
		t.Errorf("read ended with %v", err)
	}
	if _, err := rc.Read(make([]byte, 1)); err != errBodyReleased {
		t.Errorf("read after Close: %v, want %v", err, errBodyReleased)
	}
}
