package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/switchyard/switchyard/providers"
)

// Handler is the OpenAI-compatible API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.api("chat", s.withBody(s.serveChat, false)))
	mux.HandleFunc("POST /v1/embeddings", s.api("embeddings", s.withBody(s.serveEmbeddings, false)))
	mux.HandleFunc("GET /v1/models", s.api("models", s.handleModels))
	mux.HandleFunc("GET /v1/models/{id...}", s.api("models", s.handleModel))
	mux.HandleFunc("POST /v1/responses", s.api("responses", s.withBody(s.serveResponsesCreate, false)))
	mux.HandleFunc("GET /v1/responses/{id}", s.api("responses", s.handleResponsesGet))
	mux.HandleFunc("DELETE /v1/responses/{id}", s.api("responses", s.handleResponsesDelete))
	mux.HandleFunc("GET /v1/responses/{id}/input_items", s.api("responses", s.handleResponsesInputItems))
	// Azure OpenAI SDKs address deployments by path; the deployment is the alias.
	mux.HandleFunc("POST /openai/deployments/{deployment}/chat/completions", s.api("chat", s.withBody(s.serveChat, true)))
	mux.HandleFunc("POST /openai/deployments/{deployment}/embeddings", s.api("embeddings", s.withBody(s.serveEmbeddings, true)))
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

// withBody reads the request body within max_body_bytes and hands it to serve. With
// fromPath, the path's {deployment} names the alias, as Azure OpenAI SDKs send it.
func (s *Server) withBody(serve func(http.ResponseWriter, *http.Request, *runtime, *exchange, []byte), fromPath bool) func(http.ResponseWriter, *http.Request, *runtime, *exchange) {
	return func(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange) {
		body, aerr := readBody(w, r, rt.cfg.MaxBodyBytes)
		if aerr == nil && fromPath {
			body, aerr = withModel(body, r.PathValue("deployment"))
		}
		if aerr != nil {
			ex.fail(w, aerr)
			return
		}
		serve(w, r, rt, ex, body)
	}
}

// readBody reads the request body within max_body_bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	body, err := providers.ReadSized(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
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
