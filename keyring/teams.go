package keyring

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/state"
)

// Teams lists every team: the file's first, in file order, then the runtime ones by
// name.
func (r *Ring) Teams(ctx context.Context) ([]Team, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	s := r.cur.Load()
	out := make([]Team, 0, len(s.file.teams)+len(s.teams))
	for i := range s.file.teams {
		out = append(out, fileTeamView(&s.file.teams[i]))
	}
	for _, name := range sortedKeys(s.teams) {
		out = append(out, s.teams[name].view(s.teamStatus(name)))
	}
	return out, nil
}

// Team returns one team.
func (r *Ring) Team(ctx context.Context, name string) (Team, error) {
	if err := r.Sync(ctx); err != nil {
		return Team{}, err
	}
	s := r.cur.Load()
	if t := s.file.team(name); t != nil {
		return fileTeamView(t), nil
	}
	if t := s.teams[name]; t != nil {
		return t.view(s.teamStatus(name)), nil
	}
	return Team{}, notFound("team", name)
}

func (s *snapshot) teamStatus(name string) string {
	if s.file.team(name) != nil {
		return StatusShadowed
	}
	return StatusActive
}

// CreateTeam creates a runtime team.
func (r *Ring) CreateTeam(ctx context.Context, body []byte) (Team, error) {
	f, e := decodeTeamFields(body, true)
	if e != nil {
		return Team{}, e
	}
	if err := r.Sync(ctx); err != nil {
		return Team{}, err
	}
	s, now := r.cur.Load(), r.now()
	name := f.name.v
	if s.file.team(name) != nil {
		return Team{}, inFile("team", name, s.file.path)
	}
	t := &storedTeam{Name: name, CreatedAt: now, UpdatedAt: now}
	f.apply(t)
	var err error
	if t.version, err = r.insert(ctx, "team", name, t); err != nil {
		return Team{}, err
	}
	return t.view(StatusActive), nil
}

func (f *teamFields) apply(t *storedTeam) {
	if f.limits.set {
		t.Limits = f.limits.v
	}
	if f.budget.set {
		t.Budget = f.budget.v
	}
}

// UpdateTeam changes a runtime team's budget or limits, as UpdateKey does a key's.
func (r *Ring) UpdateTeam(ctx context.Context, name string, body []byte, ifMatch string) (Team, error) {
	f, e := decodeTeamFields(body, false)
	if e != nil {
		return Team{}, e
	}
	expect, e := expectedVersion(f.version, ifMatch)
	if e != nil {
		return Team{}, e
	}
	var t *storedTeam
	ver, err := r.modify(ctx, "team", name, expect, func(row state.Row, _ *snapshot, now time.Time) (any, *Error) {
		var derr error
		if _, t, derr = decodeRow(row.Name, row.Value, row.Version); derr != nil || t == nil {
			return nil, unreadable("team", name)
		}
		f.apply(t)
		t.UpdatedAt = now
		return t, nil
	})
	if err != nil {
		return Team{}, err
	}
	t.version = ver
	return t.view(r.cur.Load().teamStatus(name)), nil
}

// DeleteTeam deletes a runtime team that no runtime key belongs to. (Two replicas
// deleting a team and adding a key to it at the same moment can leave the key with
// a team that no longer exists: it then has no team budget or limits.)
func (r *Ring) DeleteTeam(ctx context.Context, name, ifMatch string) error {
	expect, e := expectedVersion(opt[int64]{}, ifMatch)
	if e != nil {
		return e
	}
	if err := r.Sync(ctx); err != nil {
		return err
	}
	s := r.cur.Load()
	if keys := s.teamKeys(name); len(keys) > 0 && s.file.team(name) == nil {
		return &Error{Status: http.StatusConflict, Code: "team_in_use", Param: "name",
			Message: fmt.Sprintf("The team %q has %d runtime keys (%s): move or revoke them first.", name, len(keys),
				listNames(keys, 10))}
	}
	return r.remove(ctx, "team", name, expect)
}
