package proxy

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves /metrics, /healthz, /readyz and /admin/ on the admin listener.
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
	return mux
}

// handleTargets reports each target's breaker, cooldown and recent figures.
func (s *Server) handleTargets(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	out := []map[string]any{}
	aliases := map[string][]string{}
	for _, name := range rt.router.Names() {
		for _, tier := range rt.router.Alias(name).Tiers {
			for _, t := range tier {
				aliases[t.ID] = append(aliases[t.ID], name)
			}
		}
	}
	for _, t := range rt.router.Targets() {
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
			got := sha256.Sum256([]byte(credential(r)))
			exp := sha256.Sum256([]byte(want))
			if subtle.ConstantTimeCompare(got[:], exp[:]) != 1 {
				writeError(w, errorf(http.StatusUnauthorized, "invalid_request_error", "invalid_admin_token", "",
					"The admin endpoints need the admin token (Authorization: Bearer <admin_token>)."))
				return
			}
		}
		next(w, r)
	}
}
