package proxy

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard/switchyard/dialect/openai"
	"github.com/switchyard/switchyard/executor"
)

// AdminHandler serves /metrics, /healthz, /readyz and /admin/ on the admin listener.
// /admin/targets and /admin/reload need admin_token when one is set; the key and
// team API (admin_keys.go) needs it always.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET /admin/targets", s.adminOnly(s.handleTargets))
	mux.HandleFunc("POST /admin/reload", s.adminOnly(s.handleReload))
	s.routeKeyAdmin(mux)
	return mux
}

// handleTargets reports each target's breaker, cooldown and recent figures.
func (s *Server) handleTargets(w http.ResponseWriter, r *http.Request) {
	router := s.snapshot().Router
	out := []map[string]any{}
	aliases := map[string][]string{}
	for _, name := range router.Names() {
		for _, tier := range router.Alias(name).Tiers {
			for _, t := range tier {
				aliases[t.ID] = append(aliases[t.ID], name)
			}
		}
	}
	for _, t := range router.Targets() {
		snap := t.Health.Snapshot()
		var cooldown any
		if !snap.CooldownUntil.IsZero() {
			cooldown = snap.CooldownUntil
		}
		out = append(out, map[string]any{
			"id": t.ID, "provider": t.ProviderName, "model": t.Model, "aliases": aliases[t.ID],
			"breaker": snap.State, "cooldown_until": cooldown, "success_rate": snap.SuccessRate,
			"latency_ms": snap.LatencyMs, "latency_p95_ms": snap.LatencyP95Ms, "ttft_ms": snap.TTFTMs,
			"samples": snap.Samples, "available": t.Health.Available(),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": out})
}

// handleReload reloads the configuration; a rejected one is answered 422 with its
// problems, and the running configuration stays in force.
func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Reload(); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"status": "rejected", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded"})
}

// adminOnly requires admin_token, when one is configured, on /admin/ endpoints.
func (s *Server) adminOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := s.Config().AdminToken.Reveal()
		if want != "" {
			got := sha256.Sum256([]byte(bearer(r)))
			exp := sha256.Sum256([]byte(want))
			if subtle.ConstantTimeCompare(got[:], exp[:]) != 1 {
				openai.Render(w, executor.Errorf(http.StatusUnauthorized, "invalid_request_error", "invalid_admin_token", "",
					"The admin endpoints need the admin token (Authorization: Bearer <admin_token>)."))
				return
			}
		}
		next(w, r)
	}
}

// bearer is the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
