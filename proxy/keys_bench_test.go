package proxy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request authenticated by a key issued at run time costs what one authenticated
// by a file key costs: both are a SHA-256 and a lookup in one immutable index.
// Compare the two halves of each benchmark:
//
//	go test -run '^$' -bench 'AuthenticatedRequest|KeyLookup' -benchmem -count 6 ./proxy/

// benchKeys returns a bench server and its two keys: the file's, and a runtime key
// of the same team and rights.
func benchKeys(b *testing.B, upstream string) (*Server, map[string]string) {
	s := newBenchServer(b, upstream)
	k, err := s.ring.CreateKey(context.Background(), []byte(`{"name":"runtime-app","team":"search"}`))
	if err != nil {
		b.Fatal(err)
	}
	return s, map[string]string{"file": benchKey, "runtime": k.Secret}
}

// BenchmarkAuthenticatedRequest is BenchmarkChatHandler with either key.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	s, keys := benchKeys(b, cannedUpstream(b))
	h := s.Handler()
	for _, source := range []string{"file", "runtime"} {
		b.Run(source, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(benchBody))
				r.Header.Set("Authorization", "Bearer "+keys[source])
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), cannedCompletion) {
					b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkKeyLookup is the lookup alone.
func BenchmarkKeyLookup(b *testing.B) {
	s, keys := benchKeys(b, "http://127.0.0.1:9/v1")
	ctx := context.Background()
	for _, source := range []string{"file", "runtime"} {
		b.Run(source, func(b *testing.B) {
			token := keys[source]
			b.ReportAllocs()
			for b.Loop() {
				if id, _ := s.ring.Lookup(ctx, token); id == nil {
					b.Fatal("not found")
				}
			}
		})
	}
}
