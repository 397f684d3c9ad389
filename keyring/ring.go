package keyring

import (
	"context"
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

// Defaults of Options.
const (
	DefaultPoll     = 250 * time.Millisecond
	DefaultMaxStale = 2 * time.Second
	// syncTimeout bounds one poll; the store's own timeout is usually shorter.
	syncTimeout = 5 * time.Second
)

// Options build a Ring.
type Options struct {
	Store state.Store
	// Now is the clock of expiries and grace periods. Default time.Now.
	Now func() time.Time
	// Poll is how often Run looks for changes in the store. Default 250ms.
	Poll time.Duration
	// MaxStale is how long without a successful poll makes runtime keys Unsynced
	// (while Run runs). Default 2s.
	MaxStale time.Duration
	Log      *zap.Logger
	// Indexed, when set, is called after each rebuild of the index with the number
	// of keys served by source (metrics).
	Indexed func(runtime, file int)
	// Forgotten, when set, is called for each runtime key ("key") or team ("team")
	// a rebuild no longer has: revoked, deleted, or gone from the store.
	Forgotten func(kind, name string)
}

// Ring is every key and team, from the file and the store, and the index the
// request path reads.
type Ring struct {
	store     state.Store
	now       func() time.Time
	poll      time.Duration
	maxStale  time.Duration
	log       *zap.Logger
	indexed   func(runtime, file int)
	forgotten func(kind, name string)

	mu  sync.Mutex // serialises rebuilds: polls and configuration changes
	cur atomic.Pointer[snapshot]
	// syncedAt is the clock (Unix ns) of the last successful poll. stale is set by
	// Run when that is older than maxStale: the request path reads a flag rather
	// than the clock, which costs more than the rest of a lookup on some VMs.
	syncedAt atomic.Int64
	stale    atomic.Bool
	fresh    freshener
}

// New returns a ring with no keys; SetConfig adds the file's, Sync the store's.
func New(opts Options) *Ring {
	r := &Ring{store: opts.Store, now: opts.Now, poll: opts.Poll, maxStale: opts.MaxStale, log: opts.Log,
		indexed: opts.Indexed, forgotten: opts.Forgotten}
	if r.now == nil {
		r.now = time.Now
	}
	if r.poll <= 0 {
		r.poll = DefaultPoll
	}
	if r.maxStale <= 0 {
		r.maxStale = DefaultMaxStale
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	r.cur.Store(&snapshot{file: &fileSource{}, keys: map[string]*storedKey{}, teams: map[string]*storedTeam{},
		index: map[Digest]entry{}})
	return r
}

// snapshot is one immutable state of the ring.
type snapshot struct {
	stamp  state.Stamp
	loaded bool // the store was read at least once
	file   *fileSource
	keys   map[string]*storedKey
	teams  map[string]*storedTeam
	index  map[Digest]entry
	// shadowed are runtime names that the file also uses: the file's win.
	shadowedKeys, shadowedTeams []string
}

// entry is one accepted secret: a key's current one, or a rotated one until its
// grace period ends.
type entry struct {
	id    *Identity
	until time.Time // zero for a current secret
}

// fileSource is the configuration file's keys and teams.
type fileSource struct {
	path  string
	keys  []config.Key
	teams []config.Team
}

func (f *fileSource) key(name string) *config.Key {
	for i := range f.keys {
		if f.keys[i].Name == name {
			return &f.keys[i]
		}
	}
	return nil
}

func (f *fileSource) team(name string) *config.Team {
	for i := range f.teams {
		if f.teams[i].Name == name {
			return &f.teams[i]
		}
	}
	return nil
}

// SetConfig makes cfg's keys and teams the file's. path names the file in
// messages. The running requests keep the identities they started with.
func (r *Ring) SetConfig(cfg *config.Config, path string) {
	if path == "" {
		path = "(the configuration file)"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	next := *r.cur.Load()
	next.file = &fileSource{path: path, keys: cfg.Keys, teams: cfg.Teams}
	r.install(&next)
}

// install builds the index of s and makes it current. r.mu is held.
func (r *Ring) install(s *snapshot) {
	prev := r.cur.Load()
	s.index = make(map[Digest]entry, len(s.file.keys)+len(s.keys))
	s.shadowedKeys, s.shadowedTeams = nil, nil
	for name := range s.teams {
		if s.file.team(name) != nil {
			s.shadowedTeams = append(s.shadowedTeams, name)
		}
	}
	served := 0
	for name, k := range s.keys {
		if s.file.key(name) != nil {
			s.shadowedKeys = append(s.shadowedKeys, name)
			continue
		}
		var expires time.Time
		if k.ExpiresAt != nil {
			expires = *k.ExpiresAt
		}
		id := newIdentity(k.Name, k.Team, SourceRuntime, k.Models, k.Limits.Config(), k.Budget.Config(), s.teamPolicy(k.Team))
		id.ExpiresAt = expires
		if d, ok := parseDigest(k.Digest); ok {
			s.index[d] = entry{id: id}
			served++
		}
		for _, old := range k.Retired {
			if d, ok := parseDigest(old.Digest); ok {
				s.index[d] = entry{id: id, until: old.Until}
			}
		}
	}
	// The file's keys last: a digest both have (a runtime secret copied into the
	// file) is the file's.
	for i := range s.file.keys {
		k := &s.file.keys[i]
		s.index[digestOf(k.Key.Reveal())] = entry{id: newIdentity(k.Name, k.Team, SourceConfig, k.Models, k.Limits,
			k.Budget, s.teamPolicy(k.Team))}
	}
	slices.Sort(s.shadowedKeys)
	slices.Sort(s.shadowedTeams)
	if !slices.Equal(s.shadowedKeys, prev.shadowedKeys) || !slices.Equal(s.shadowedTeams, prev.shadowedTeams) {
		if len(s.shadowedKeys)+len(s.shadowedTeams) > 0 {
			r.log.Warn("runtime keys or teams share a name with the configuration file's and are not served; "+
				"revoke or delete them, or rename the file's", zap.Strings("keys", s.shadowedKeys),
				zap.Strings("teams", s.shadowedTeams), zap.String("file", s.file.path))
		}
	}
	r.cur.Store(s)
	if r.indexed != nil {
		r.indexed(served, len(s.file.keys))
	}
	if r.forgotten != nil {
		for name := range prev.keys {
			if s.keys[name] == nil && s.file.key(name) == nil {
				r.forgotten("key", name)
			}
		}
		for name := range prev.teams {
			if s.teams[name] == nil && s.file.team(name) == nil {
				r.forgotten("team", name)
			}
		}
	}
}

func parseDigest(h string) (Digest, bool) {
	var d Digest
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(d) {
		return d, false
	}
	copy(d[:], b)
	return d, true
}

// teamPolicy is what team imposes: the file's team when it has one of that name,
// else the runtime team.
func (s *snapshot) teamPolicy(team string) teamPolicy {
	if team == "" {
		return teamPolicy{}
	}
	if t := s.file.team(team); t != nil {
		return teamPolicy{budget: t.Budget, limits: t.Limits}
	}
	if t := s.teams[team]; t != nil {
		return teamPolicy{budget: t.Budget.Config(), limits: t.Limits.Config()}
	}
	return teamPolicy{}
}

// Verdict is what Lookup found.
type Verdict int

const (
	// Unknown: no key has this secret (never had, revoked, or rotated and past its
	// grace period).
	Unknown Verdict = iota
	// Valid: the identity may call.
	Valid
	// Expired: the key's expires_at has passed (the identity names it).
	Expired
	// Unsynced: the store could not be read to check the secret, or not recently
	// enough to trust a runtime key (the identity is set when the last copy knew it).
	Unsynced
)

// RuntimeKeys reports whether any key issued at run time exists.
func (r *Ring) RuntimeKeys() bool { return len(r.cur.Load().keys) > 0 }

// Open reports whether no key exists anywhere: every caller is anonymous. Until the
// store was read once, runtime keys may exist, so the ring is not open.
func (r *Ring) Open() bool {
	s := r.cur.Load()
	return len(s.file.keys) == 0 && s.loaded && len(s.keys) == 0
}

// Lookup finds the key of a bearer token. A hit costs a SHA-256 and a map lookup. A
// miss waits for a poll of the store that starts after it, so that a key created on
// another replica a moment ago is found.
func (r *Ring) Lookup(ctx context.Context, token string) (*Identity, Verdict) {
	d := digestOf(token)
	if id, v, ok := r.find(d); ok {
		return id, v
	}
	if err := r.fresh.await(ctx, r.sync); err != nil {
		return nil, Unsynced
	}
	if id, v, ok := r.find(d); ok {
		return id, v
	}
	return nil, Unknown
}

// find looks d up in the current index; ok is false when it is not there.
func (r *Ring) find(d Digest) (*Identity, Verdict, bool) {
	e, ok := r.cur.Load().index[d]
	if !ok {
		return nil, Unknown, false
	}
	if e.id.Source == SourceConfig {
		return e.id, Valid, true
	}
	if !e.until.IsZero() || !e.id.ExpiresAt.IsZero() {
		now := r.now()
		if !e.until.IsZero() && !now.Before(e.until) {
			return nil, Unknown, true
		}
		if !e.id.ExpiresAt.IsZero() && !now.Before(e.id.ExpiresAt) {
			return e.id, Expired, true
		}
	}
	if r.stale.Load() {
		return e.id, Unsynced, true
	}
	return e.id, Valid, true
}

// Now is the ring's clock (of expiries, grace periods and audit lines).
func (r *Ring) Now() time.Time { return r.now() }
