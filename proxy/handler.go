package proxy

import (
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/dialect/anthropic"
	"github.com/switchyard/switchyard/dialect/openai"
	"github.com/switchyard/switchyard/executor"
)

// dialect is one client-facing API: its routes, how its clients present their key,
// and how its errors look.
type dialect struct {
	name       string
	endpoints  []executor.Endpoint
	credential func(*http.Request) string
	render     executor.Renderer
	// missingKey is the message for a request without a key, naming the header the
	// dialect's clients use.
	missingKey string
}

// Handler is the client-facing API of every dialect.
func (s *Server) Handler() http.Handler {
	oai := openai.New(s.exe)
	anth := anthropic.New(s.exe)
	openaiD := dialect{name: "openai", endpoints: oai.Endpoints(), credential: openai.Credential, render: openai.Render,
		missingKey: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."}
	anthropicD := dialect{name: "anthropic", endpoints: anth.Endpoints(), credential: anthropic.Credential,
		render: anthropic.Render, missingKey: "x-api-key header is required"}
	// GET /v1/models is both dialects': a request carrying anthropic-version (Claude
	// Code's model discovery) gets Anthropic's list shape.
	shared := map[string]http.HandlerFunc{
		"GET /v1/models":         s.api(anthropicD, executor.Endpoint{API: "models", Serve: anth.ServeModels}),
		"GET /v1/models/{id...}": s.api(anthropicD, executor.Endpoint{API: "models", Serve: anth.ServeModel}),
	}
	mux := http.NewServeMux()
	for _, d := range []dialect{openaiD, anthropicD} {
		for _, ep := range d.endpoints {
			h := s.api(d, ep)
			if a, ok := shared[ep.Pattern]; ok {
				h = byDialect(a, h)
			}
			mux.HandleFunc(ep.Pattern, h)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		err := executor.Errorf(http.StatusNotFound, "invalid_request_error", "unknown_url", "",
			"Invalid URL (%s %s)", r.Method, r.URL.Path)
		if anthropicClient(r) {
			anthropic.Render(w, err)
			return
		}
		openai.Render(w, err)
	})
	return withRequestID(mux)
}

// anthropicClient reports whether a request comes from an Anthropic client: it
// carries anthropic-version (every Anthropic SDK and Claude Code send it) or uses
// the /anthropic prefix.
func anthropicClient(r *http.Request) bool {
	return r.Header.Get("Anthropic-Version") != "" || strings.HasPrefix(r.URL.Path, "/anthropic/")
}

// byDialect sends Anthropic clients to anth and everyone else to other.
func byDialect(anth, other http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if anthropicClient(r) {
			anth(w, r)
			return
		}
		other(w, r)
	}
}

// api wraps an endpoint: the configuration is loaded once for the whole request, the
// record (access log, metrics) begins before authentication, so that rejected
// callers are logged too, and the caller is authenticated in the dialect's way.
func (s *Server) api(d dialect, ep executor.Endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap := s.snapshot()
		r = s.exe.StartSpan(r, ep.API)
		rec := s.exe.Begin(r, snap, ep.API, d.render)
		defer rec.End()
		caller, err := s.authenticate(r, d, snap)
		if err != nil {
			rec.Fail(w, err)
			return
		}
		rec.Caller = caller
		ep.Serve(w, rec)
	}
}

// withRequestID accepts the client's X-Request-Id when it is sane, or makes one, and
// echoes it on the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = executor.NewID("req_")
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
