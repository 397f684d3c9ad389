package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"path"
	"strings"

	"github.com/switchyard/switchyard/config"
)

// clientKey is the authenticated caller of a request.
type clientKey struct {
	Name   string
	Team   string
	models []string // allowlist globs; empty allows every alias
	digest [sha256.Size]byte
	cfg    *config.Key // nil in open mode
}

// budget is the key's own budget, nil when it has none.
func (k *clientKey) budget() *config.Budget {
	if k.cfg == nil {
		return nil
	}
	return k.cfg.Budget
}

// anonymous is the caller in open mode (no keys configured).
var anonymous = &clientKey{Name: "anonymous"}

// Allows reports whether the key may use alias.
func (k *clientKey) Allows(alias string) bool {
	if len(k.models) == 0 {
		return true
	}
	for _, pattern := range k.models {
		if ok, _ := path.Match(pattern, alias); ok {
			return true
		}
	}
	return false
}

// keyring finds the key of a bearer token in constant time: every key's digest is
// compared, whatever matches, and digests have one length whatever the key's.
type keyring struct {
	keys []*clientKey
}

func newKeyring(keys []config.Key) (*keyring, error) {
	kr := &keyring{}
	for i := range keys {
		k := &keys[i]
		kr.keys = append(kr.keys, &clientKey{Name: k.Name, Team: k.Team, models: k.Models,
			digest: sha256.Sum256([]byte(k.Key.Reveal())), cfg: k})
	}
	return kr, nil
}

// open reports whether no keys are configured: every caller is anonymous.
func (kr *keyring) open() bool { return len(kr.keys) == 0 }

func (kr *keyring) lookup(token string) *clientKey {
	d := sha256.Sum256([]byte(token))
	var found *clientKey
	for _, k := range kr.keys {
		if subtle.ConstantTimeCompare(d[:], k.digest[:]) == 1 {
			found = k
		}
	}
	return found
}

// credential returns the key a client presented: "Authorization: Bearer" as OpenAI
// SDKs send it, or "api-key" as Azure OpenAI SDKs do.
func credential(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("Api-Key"))
}

type keyContextKey struct{}

func withKey(ctx context.Context, k *clientKey) context.Context {
	return context.WithValue(ctx, keyContextKey{}, k)
}

func keyFrom(ctx context.Context) *clientKey {
	k, _ := ctx.Value(keyContextKey{}).(*clientKey)
	return k
}

// api wraps an API handler: the exchange (access log, metrics) begins before
// authentication, so that rejected callers are logged too, and the configuration is
// loaded once for the whole request.
func (s *Server) api(kind string, next func(http.ResponseWriter, *http.Request, *runtime, *exchange)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rt := s.rt.Load()
		r = s.startSpan(r, kind)
		ex := s.begin(r, kind)
		ex.rt = rt
		defer ex.end()
		k := anonymous
		if !rt.keys.open() {
			token := credential(r)
			if token == "" {
				ex.fail(w, errorf(http.StatusUnauthorized, "invalid_request_error", "missing_api_key", "",
					"You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."))
				return
			}
			if k = rt.keys.lookup(token); k == nil {
				ex.fail(w, errorf(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "",
					"Incorrect API key provided."))
				return
			}
		}
		ex.key = k
		next(w, r.WithContext(withKey(r.Context(), k)), rt, ex)
	}
}
