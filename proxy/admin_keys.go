package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/dialect/openai"
	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/keyring"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/state"
)

// The admin API of keys and teams (see the README's "Keys and teams at run time"):
//
//	POST /admin/keys, GET /admin/keys, GET|PATCH|DELETE /admin/keys/{name},
//	POST /admin/keys/{name}/rotate, and the same for /admin/teams without rotate.
//
// It is refused entirely without admin_token. Every change is one audit log line
// and one count of switchyard_admin_changes_total.

// maxAdminBody bounds a request body of the admin API.
const maxAdminBody = 64 << 10

func (s *Server) routeKeyAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/keys", s.keyAdmin("key", "create", s.createKey))
	mux.HandleFunc("GET /admin/keys", s.keyAdmin("key", "", s.listKeys))
	mux.HandleFunc("GET /admin/keys/{name}", s.keyAdmin("key", "", s.getKey))
	mux.HandleFunc("PATCH /admin/keys/{name}", s.keyAdmin("key", "update", s.updateKey))
	mux.HandleFunc("POST /admin/keys/{name}/rotate", s.keyAdmin("key", "rotate", s.rotateKey))
	mux.HandleFunc("DELETE /admin/keys/{name}", s.keyAdmin("key", "revoke", s.revokeKey))
	mux.HandleFunc("POST /admin/teams", s.keyAdmin("team", "create", s.createTeam))
	mux.HandleFunc("GET /admin/teams", s.keyAdmin("team", "", s.listTeams))
	mux.HandleFunc("GET /admin/teams/{name}", s.keyAdmin("team", "", s.getTeam))
	mux.HandleFunc("PATCH /admin/teams/{name}", s.keyAdmin("team", "update", s.updateTeam))
	mux.HandleFunc("DELETE /admin/teams/{name}", s.keyAdmin("team", "delete", s.deleteTeam))
	// Any other method or path under /admin/ is answered in the API's error shape.
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		openai.Render(w, executor.Errorf(http.StatusNotFound, "invalid_request_error", "unknown_url", "",
			"Invalid URL (%s %s)", r.Method, r.URL.Path))
	})
}

// adminCall is one call of the key API: its body, and what it answers.
type adminCall struct {
	r    *http.Request
	snap *executor.Snapshot
	body []byte
	// status and out are the answer; version, when set, is its ETag.
	status  int
	out     any
	version int64
	// name and audit fields of a change.
	name   string
	detail []zap.Field
}

// keyAdmin guards and runs one call: the admin token (required), a bounded body,
// the answer or the error in the API's shape, and for changes (action set) the
// audit line and the metric.
func (s *Server) keyAdmin(object, action string, run func(context.Context, *adminCall) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap := s.snapshot()
		want := snap.Config.AdminToken.Reveal()
		if want == "" {
			openai.Render(w, executor.Errorf(http.StatusForbidden, "invalid_request_error", "admin_api_disabled", "",
				"The key and team API is off: set admin_token in the configuration to use it."))
			return
		}
		c := &adminCall{r: r, snap: snap, status: http.StatusOK, name: r.PathValue("name")}
		got, exp := sha256.Sum256([]byte(bearer(r))), sha256.Sum256([]byte(want))
		if subtle.ConstantTimeCompare(got[:], exp[:]) != 1 {
			aerr := executor.Errorf(http.StatusUnauthorized, "invalid_request_error", "invalid_admin_token", "",
				"The admin endpoints need the admin token (Authorization: Bearer <admin_token>).")
			if action != "" {
				s.auditChange(c, object, action, aerr)
			}
			openai.Render(w, aerr)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
		if err != nil {
			openai.Render(w, executor.Errorf(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "",
				"The body is larger than %d bytes.", maxAdminBody))
			return
		}
		c.body = body
		err = run(r.Context(), c)
		aerr := s.adminError(err)
		if action != "" {
			s.auditChange(c, object, action, aerr)
		}
		if aerr != nil {
			openai.Render(w, aerr)
			return
		}
		if c.version > 0 {
			w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.version, 10)))
		}
		if c.out == nil {
			w.WriteHeader(c.status)
			return
		}
		writeJSON(w, c.status, c.out)
	}
}

// adminError maps what the keyring answered to the API's error shape.
func (s *Server) adminError(err error) *executor.Error {
	var kerr *keyring.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &kerr):
		return executor.Errorf(kerr.Status, "invalid_request_error", kerr.Code, kerr.Param, "%s", kerr.Message)
	case errors.Is(err, state.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.exe.StateError(s.snapshot(), "keyring", err)
		return executor.Errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "",
			"The state store cannot be reached: keys and teams cannot be read or changed right now.")
	}
	s.log.Error("admin API failed", zap.Error(err))
	return executor.Errorf(http.StatusInternalServerError, "server_error", "internal_error", "", "The change failed; see the gateway's log.")
}

// auditChange writes the audit line and counts the change. Who is the admin token
// (there is one); X-Switchyard-Actor, which the CLI fills with the local user, is
// recorded as a claim, not an identity. Neither a secret nor its digest appears.
func (s *Server) auditChange(c *adminCall, object, action string, aerr *executor.Error) {
	result := "ok"
	switch {
	case aerr == nil:
	case aerr.Status == http.StatusUnauthorized:
		result = "unauthorized"
	case aerr.Status >= 500:
		result = "error"
	default:
		result = "refused"
	}
	s.metrics.AdminChanges.WithLabelValues(object, action, result).Inc()
	fields := []zap.Field{zap.String("actor", "admin"), zap.String("object", object), zap.String("action", action),
		zap.String("name", c.name), zap.String("result", result), zap.Time("at", s.ring.Now()),
		zap.String("remote", c.r.RemoteAddr)}
	if claimed := claimedActor(c.r.Header.Get("X-Switchyard-Actor")); claimed != "" {
		fields = append(fields, zap.String("claimed_user", claimed))
	}
	if aerr != nil {
		fields = append(fields, zap.Int("status", aerr.Status), zap.String("code", aerr.Code))
	} else if c.version > 0 {
		fields = append(fields, zap.Int64("version", c.version))
	}
	level := s.audit.Info
	if result == "unauthorized" {
		level = s.audit.Warn
	}
	level("admin change", append(fields, c.detail...)...)
}

// claimedActor keeps a printable, bounded X-Switchyard-Actor.
func claimedActor(v string) string {
	if len(v) > 64 {
		v = v[:64]
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return ""
		}
	}
	return v
}

// changedFields names the fields a body sets, for the audit line (never values:
// metadata may hold anything).
func changedFields(body []byte) zap.Field {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(body, &m)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return zap.Strings("fields", names)
}

func (s *Server) createKey(ctx context.Context, c *adminCall) error {
	k, err := s.ring.CreateKey(ctx, c.body)
	if err != nil {
		return err
	}
	c.name, c.status, c.out, c.version = k.Name, http.StatusCreated, k, k.Version
	c.detail = []zap.Field{changedFields(c.body), zap.String("prefix", k.Prefix)}
	return nil
}

func (s *Server) listKeys(ctx context.Context, c *adminCall) error {
	ks, err := s.ring.Keys(ctx)
	if err != nil {
		return err
	}
	c.out = keyring.List[keyring.Key]{Data: ks}
	return nil
}

func (s *Server) getKey(ctx context.Context, c *adminCall) error {
	k, err := s.ring.Key(ctx, c.name)
	if err != nil {
		return err
	}
	if k.Spend, err = s.spend(ctx, c.snap, "key", k.Name, k.Budget); err != nil {
		return err
	}
	if k.RateLimits, err = s.rateUsage(ctx, c.snap, "key", k.Name, k.Limits); err != nil {
		return err
	}
	c.out, c.version = k, k.Version
	return nil
}

func (s *Server) updateKey(ctx context.Context, c *adminCall) error {
	k, err := s.ring.UpdateKey(ctx, c.name, c.body, c.r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	c.out, c.version, c.detail = k, k.Version, []zap.Field{changedFields(c.body)}
	return nil
}

func (s *Server) rotateKey(ctx context.Context, c *adminCall) error {
	k, err := s.ring.RotateKey(ctx, c.name, c.body, c.r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	c.out, c.version = k, k.Version
	c.detail = []zap.Field{zap.String("prefix", k.Prefix)}
	if len(k.Retired) > 0 {
		last := k.Retired[len(k.Retired)-1]
		c.detail = append(c.detail, zap.String("retired_prefix", last.Prefix), zap.Time("retired_valid_until", last.ValidUntil))
	}
	return nil
}

func (s *Server) revokeKey(ctx context.Context, c *adminCall) error {
	if err := s.ring.RevokeKey(ctx, c.name, c.r.Header.Get("If-Match")); err != nil {
		return err
	}
	c.status = http.StatusNoContent
	return nil
}

func (s *Server) createTeam(ctx context.Context, c *adminCall) error {
	t, err := s.ring.CreateTeam(ctx, c.body)
	if err != nil {
		return err
	}
	c.name, c.status, c.out, c.version = t.Name, http.StatusCreated, t, t.Version
	c.detail = []zap.Field{changedFields(c.body)}
	return nil
}

func (s *Server) listTeams(ctx context.Context, c *adminCall) error {
	ts, err := s.ring.Teams(ctx)
	if err != nil {
		return err
	}
	c.out = keyring.List[keyring.Team]{Data: ts}
	return nil
}

func (s *Server) getTeam(ctx context.Context, c *adminCall) error {
	t, err := s.ring.Team(ctx, c.name)
	if err != nil {
		return err
	}
	if t.Spend, err = s.spend(ctx, c.snap, "team", t.Name, t.Budget); err != nil {
		return err
	}
	if t.RateLimits, err = s.rateUsage(ctx, c.snap, "team", t.Name, t.Limits); err != nil {
		return err
	}
	c.out, c.version = t, t.Version
	return nil
}

func (s *Server) updateTeam(ctx context.Context, c *adminCall) error {
	t, err := s.ring.UpdateTeam(ctx, c.name, c.body, c.r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	c.out, c.version, c.detail = t, t.Version, []zap.Field{changedFields(c.body)}
	return nil
}

func (s *Server) deleteTeam(ctx context.Context, c *adminCall) error {
	if err := s.ring.DeleteTeam(ctx, c.name, c.r.Header.Get("If-Match")); err != nil {
		return err
	}
	c.status = http.StatusNoContent
	return nil
}

// spend is a budget's current period as the admin API shows it.
func (s *Server) spend(ctx context.Context, snap *executor.Snapshot, kind, name string, b *keyring.Budget) (*keyring.Spend, error) {
	if b == nil {
		return nil, nil
	}
	scope := snap.Budgets.Scope(kind, name, b.Config())
	spent, reserved, err := snap.Budgets.Usage(ctx, scope)
	if err != nil {
		return nil, err
	}
	out := &keyring.Spend{USD: spent, ReservedUSD: reserved, LimitUSD: b.USD, RemainingUSD: max(b.USD-spent, 0),
		Period: b.Period, PeriodID: scope.Period.ID}
	if !scope.Period.End.IsZero() {
		end := scope.Period.End
		out.ResetsAt = &end
	}
	return out, nil
}

// rateUsage is the current minute of a key's or team's rate limits.
func (s *Server) rateUsage(ctx context.Context, snap *executor.Snapshot, kind, name string, l *keyring.Limits) (*keyring.RateLimits, error) {
	if l == nil {
		return nil, nil
	}
	reqs, toks, err := snap.Limiter.Usage(ctx, policy.RateScope{Kind: kind, Name: name, Limits: l.Config()})
	if err != nil {
		return nil, err
	}
	now := s.ring.Now()
	window := func(a state.Admission) *keyring.Window {
		if a.Limit == 0 {
			return nil
		}
		return &keyring.Window{Limit: a.Limit, Used: a.Count, Remaining: max(a.Limit-a.Count, 0), ResetsAt: now.Add(a.Reset)}
	}
	return &keyring.RateLimits{RPM: window(reqs), TPM: window(toks)}, nil
}

// newRing builds the server's keyring on its store and reads the runtime keys once;
// when the store cannot be reached yet, they are read at the first poll.
func (s *Server) newRing(opts keyring.Options) *keyring.Ring {
	opts.Store, opts.Log = s.store, s.log.Named("keyring")
	opts.Indexed = func(runtime, file int) {
		s.metrics.Keys.WithLabelValues(keyring.SourceRuntime).Set(float64(runtime))
		s.metrics.Keys.WithLabelValues(keyring.SourceConfig).Set(float64(file))
	}
	// A revoked key's or a deleted team's budget gauges go with it: issued keys must
	// not grow the series without bound.
	opts.Forgotten = s.exe.Forget
	ring := keyring.New(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ring.Sync(ctx); err != nil {
		s.log.Warn("runtime keys could not be read from the state store yet; they are refused until they are",
			zap.Error(err))
	}
	return ring
}
