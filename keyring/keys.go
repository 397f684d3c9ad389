package keyring

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/state"
)

// maxRetired bounds the rotated secrets a key keeps in their grace periods.
const maxRetired = 4

// Keys lists every key: the file's first, in file order, then the runtime keys by
// name.
func (r *Ring) Keys(ctx context.Context) ([]Key, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	s := r.cur.Load()
	out := make([]Key, 0, len(s.file.keys)+len(s.keys))
	for i := range s.file.keys {
		out = append(out, fileKeyView(&s.file.keys[i]))
	}
	for _, name := range sortedKeys(s.keys) {
		out = append(out, s.keys[name].view(s.keyStatus(name, r.now())))
	}
	return out, nil
}

// Key returns one key, read from the store (not a replica's copy).
func (r *Ring) Key(ctx context.Context, name string) (Key, error) {
	if err := r.Sync(ctx); err != nil {
		return Key{}, err
	}
	s := r.cur.Load()
	if k := s.file.key(name); k != nil {
		return fileKeyView(k), nil
	}
	if k := s.keys[name]; k != nil {
		return k.view(s.keyStatus(name, r.now())), nil
	}
	return Key{}, notFound("key", name)
}

func (s *snapshot) keyStatus(name string, now time.Time) string {
	k := s.keys[name]
	switch {
	case s.file.key(name) != nil:
		return StatusShadowed
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	}
	return StatusActive
}

// knownTeam reports whether team exists: in the file's teams, as a runtime team, or
// named by a file key (the file needs no teams entry for a team without a budget).
func (s *snapshot) knownTeam(team string) bool {
	if s.file.team(team) != nil || s.teams[team] != nil {
		return true
	}
	for _, k := range s.file.keys {
		if k.Team == team {
			return true
		}
	}
	return false
}

// CreateKey issues a key from a create body. The answer carries the secret: the only
// time it is shown.
func (r *Ring) CreateKey(ctx context.Context, body []byte) (Key, error) {
	f, e := decodeKeyFields(body, true)
	if e != nil {
		return Key{}, e
	}
	if err := r.Sync(ctx); err != nil {
		return Key{}, err
	}
	s, now := r.cur.Load(), r.now()
	name := f.name.v
	if s.file.key(name) != nil {
		return Key{}, inFile("key", name, s.file.path)
	}
	k := &storedKey{Name: name, CreatedAt: now, UpdatedAt: now}
	if e := f.apply(k, s, now); e != nil {
		return Key{}, e
	}
	secret := newSecret()
	k.Digest, k.Prefix = digestHex(secret), shown(secret)
	var err error
	if k.version, err = r.insert(ctx, "key", name, k); err != nil {
		return Key{}, err
	}
	out := k.view(StatusActive)
	out.Secret = secret
	return out, nil
}

// apply sets the given fields on k, checking what depends on the others: the team
// must exist, the expiry must be ahead.
func (f *keyFields) apply(k *storedKey, s *snapshot, now time.Time) *Error {
	if f.team.set {
		if f.team.v != "" && !s.knownTeam(f.team.v) {
			return &Error{Status: http.StatusBadRequest, Code: "team_not_found", Param: "team",
				Message: "team: no team named \"" + f.team.v + "\" (create it first: switchyard teams create " + f.team.v + ")"}
		}
		k.Team = f.team.v
	}
	if f.models.set {
		k.Models = f.models.v
	}
	if f.limits.set {
		k.Limits = f.limits.v
	}
	if f.budget.set {
		k.Budget = f.budget.v
	}
	if f.expiresAt.set {
		if f.expiresAt.v != nil && !f.expiresAt.v.After(now) {
			return invalid("expires_at", "must be in the future (now is %s)", now.UTC().Format(time.RFC3339))
		}
		k.ExpiresAt = f.expiresAt.v
	}
	if f.metadata.set {
		k.Metadata = f.metadata.v
	}
	return nil
}

// UpdateKey changes the fields a body gives; each replaces the stored one whole,
// null clears it. With a version (the body's "version" or If-Match) the write
// happens only at that version, else 409; without one, the last writer wins.
func (r *Ring) UpdateKey(ctx context.Context, name string, body []byte, ifMatch string) (Key, error) {
	f, e := decodeKeyFields(body, false)
	if e != nil {
		return Key{}, e
	}
	expect, e := expectedVersion(f.version, ifMatch)
	if e != nil {
		return Key{}, e
	}
	k, err := r.modifyKey(ctx, name, expect, func(k *storedKey, s *snapshot, now time.Time) *Error {
		return f.apply(k, s, now)
	})
	if err != nil {
		return Key{}, err
	}
	return k.view(r.cur.Load().keyStatus(name, r.now())), nil
}

// RotateKey gives a key a new secret. The old one stays valid for the grace period
// the body asks for ({"grace": "1h"}; none: it stops at once).
func (r *Ring) RotateKey(ctx context.Context, name string, body []byte, ifMatch string) (Key, error) {
	rot, e := decodeRotation(body)
	if e != nil {
		return Key{}, e
	}
	expect, e := expectedVersion(rot.version, ifMatch)
	if e != nil {
		return Key{}, e
	}
	var secret string
	k, err := r.modifyKey(ctx, name, expect, func(k *storedKey, _ *snapshot, now time.Time) *Error {
		retired := k.Retired[:0:0]
		for _, old := range k.Retired {
			if now.Before(old.Until) {
				retired = append(retired, old)
			}
		}
		if rot.grace > 0 {
			retired = append(retired, storedRetired{Prefix: k.Prefix, Digest: k.Digest, Until: now.Add(rot.grace)})
		}
		if len(retired) > maxRetired {
			retired = retired[len(retired)-maxRetired:]
		}
		secret = newSecret()
		k.Retired, k.Digest, k.Prefix = retired, digestHex(secret), shown(secret)
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	out := k.view(r.cur.Load().keyStatus(name, r.now()))
	out.Secret = secret
	return out, nil
}

// modifyKey is modify for a key: change works on the decoded record.
func (r *Ring) modifyKey(ctx context.Context, name string, expect int64,
	change func(*storedKey, *snapshot, time.Time) *Error) (*storedKey, error) {
	var k *storedKey
	ver, err := r.modify(ctx, "key", name, expect, func(row state.Row, s *snapshot, now time.Time) (any, *Error) {
		var derr error
		if k, _, derr = decodeRow(row.Name, row.Value, row.Version); derr != nil || k == nil {
			return nil, unreadable("key", name)
		}
		if e := change(k, s, now); e != nil {
			return nil, e
		}
		k.UpdatedAt = now
		return k, nil
	})
	if err != nil {
		return nil, err
	}
	k.version = ver
	return k, nil
}

// RevokeKey deletes a runtime key: its secrets, current and rotated, are refused
// from then on (on other replicas within one poll). Its spend stays recorded under
// its name for the period.
func (r *Ring) RevokeKey(ctx context.Context, name, ifMatch string) error {
	expect, e := expectedVersion(opt[int64]{}, ifMatch)
	if e != nil {
		return e
	}
	return r.remove(ctx, "key", name, expect)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// teamKeys names the runtime keys of team.
func (s *snapshot) teamKeys(team string) []string {
	var out []string
	for _, name := range sortedKeys(s.keys) {
		if s.keys[name].Team == team {
			out = append(out, name)
		}
	}
	return out
}

func listNames(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:limit], ", ") + ", ..."
}
