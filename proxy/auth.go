package proxy

import (
	"errors"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/keyring"
)

// errKeyringUnsynced is counted when a runtime key cannot be checked.
var errKeyringUnsynced = errors.New("keyring: the state store was not read recently enough to trust runtime keys")

// authenticate finds the caller of a request among the file's keys and the runtime
// ones, its credential read in the dialect's way. An expired key has a message of
// its own; a revoked key, or a rotated secret past its grace period, is an unknown
// one. With no key anywhere, the API is open and every caller is anonymous.
func (s *Server) authenticate(r *http.Request, d dialect, snap *executor.Snapshot) (*executor.Caller, *executor.Error) {
	if s.ring.Open() {
		return executor.Anonymous, nil
	}
	token := d.credential(r)
	if token == "" {
		return nil, executor.Errorf(http.StatusUnauthorized, "invalid_request_error", "missing_api_key", "", "%s", d.missingKey)
	}
	id, verdict := s.ring.Lookup(r.Context(), token)
	switch verdict {
	case keyring.Valid:
		return id, nil
	case keyring.Expired:
		return nil, executor.Errorf(http.StatusUnauthorized, "invalid_request_error", "expired_api_key", "",
			"The API key %q expired at %s. Ask its owner for a new key or a later expiry.",
			id.Name, id.ExpiresAt.UTC().Format(time.RFC3339))
	case keyring.Unsynced:
		// The store could not be read: a runtime key may have been revoked meanwhile.
		s.exe.StateError(snap, "keyring", errKeyringUnsynced)
		if id != nil && snap.Config.State.FailOpen {
			return id, nil
		}
		return nil, executor.Errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "",
			"The gateway cannot check this API key right now; try again shortly.")
	}
	return nil, executor.Errorf(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "",
		"Incorrect API key provided.")
}
