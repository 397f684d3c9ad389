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
