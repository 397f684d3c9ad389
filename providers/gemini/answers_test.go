package gemini_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/gemini"
)

// TestStreamAnsweredAsJSONIsADecodeFailure: a stream request answered without a
// stream is the upstream's failure (decode), which fails over before the first byte.
func TestStreamAnsweredAsJSONIsADecodeFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[]}`)
	}))
	defer srv.Close()
	p, err := gemini.New(gemini.Config{BaseURL: srv.URL, APIKey: "AIza-x", Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.ChatStream(context.Background(), call(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if e := providers.AsError(err); e == nil || e.Class != providers.ClassDecode || !e.Class.HealthFailure() {
		t.Fatalf("got %v", err)
	}
}
