package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
)

// Handler is the OpenAI-compatible API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.api("chat", s.handleChat))
	mux.HandleFunc("POST /v1/embeddings", s.api("embeddings", s.handleEmbeddings))
	mux.HandleFunc("GET /v1/models", s.api("models", s.handleModels))
	mux.HandleFunc("GET /v1/models/{id...}", s.api("models", s.handleModel))
	// Azure OpenAI SDKs address deployments by path; the deployment is the alias.
	mux.HandleFunc("POST /openai/deployments/{deployment}/chat/completions", s.api("chat", s.handleAzureChat))
	mux.HandleFunc("POST /openai/deployments/{deployment}/embeddings", s.api("embeddings", s.handleAzureEmbeddings))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "invalid_request_error", "unknown_url", "",
			"Invalid URL (%s %s)", r.Method, r.URL.Path))
	})
	return withRequestID(mux)
}

// withRequestID accepts the client's X-Request-Id when it is sane, or makes one, and
// echoes it on the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
			r.Header.Set("X-Request-Id", id)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// readBody reads the request body within max_body_bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	// With a known length the body is read into one buffer of its size (plus the
	// read that sees EOF), where io.ReadAll would grow and copy its way up to it.
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	body := buf.Bytes()
	if body == nil {
		body = []byte{} // as io.ReadAll: an empty body is not an absent one
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "",
				"Request body exceeds the limit of %d bytes.", limit)
		}
		return nil, errorf(http.StatusBadRequest, "invalid_request_error", "", "", "Could not read the request body.")
	}
	return body, nil
}
