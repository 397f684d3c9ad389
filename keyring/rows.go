package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/switchyard/switchyard/state"
)

// The writes of keys and teams, alike but for the record: a create that fails when
// the name is taken, a read-modify-write at the version read, a delete.

// casAttempts bounds the retries of a read-modify-write that lost a race with
// another writer (when the caller gave no version: last writer wins, field by
// field, on top of the other's write).
const casAttempts = 8

// rowName is the table row of a key or a team.
func rowName(kind, name string) string { return kind + "/" + name }

// has reports whether the file has a key or team (kind) of that name.
func (f *fileSource) has(kind, name string) bool {
	if kind == "key" {
		return f.key(name) != nil
	}
	return f.team(name) != nil
}

// insert writes a new key or team; 409 when the name is taken.
func (r *Ring) insert(ctx context.Context, kind, name string, v any) (int64, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	ver, err := r.store.TablePut(ctx, table, rowName(kind, name), value, state.Absent)
	if errors.Is(err, state.ErrConflict) {
		return 0, exists(kind, name)
	}
	if err != nil {
		return 0, err
	}
	r.settle(ctx)
	return ver, nil
}

// modify reads a key's or team's row, changes it with change (which returns the
// record to write) and writes it back at the version it read. A lost race is retried
// on the newer version unless the caller asked for one (expect > 0): then it is 409.
func (r *Ring) modify(ctx context.Context, kind, name string, expect int64,
	change func(row state.Row, s *snapshot, now time.Time) (any, *Error)) (int64, error) {
	if err := r.Sync(ctx); err != nil {
		return 0, err
	}
	for attempt := 1; ; attempt++ {
		s, now := r.cur.Load(), r.now()
		if s.file.has(kind, name) {
			return 0, inFile(kind, name, s.file.path)
		}
		row, err := r.store.TableGet(ctx, table, rowName(kind, name))
		if errors.Is(err, state.ErrNotFound) {
			return 0, notFound(kind, name)
		}
		if err != nil {
			return 0, err
		}
		if expect > 0 && row.Version != expect {
			return 0, versionConflict(kind, name, expect, row.Version)
		}
		v, e := change(row, s, now)
		if e != nil {
			return 0, e
		}
		value, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		ver, err := r.store.TablePut(ctx, table, row.Name, value, row.Version)
		switch {
		case err == nil:
			r.settle(ctx)
			return ver, nil
		case !errors.Is(err, state.ErrConflict):
			return 0, err
		case expect > 0 || attempt == casAttempts:
			return 0, r.conflict(ctx, kind, name, row.Version)
		}
	}
}

// remove deletes a key's or team's row. A runtime one shadowed by the file's of the
// same name can still be removed: it is the one thing left to do with it.
func (r *Ring) remove(ctx context.Context, kind, name string, expect int64) error {
	_, err := r.store.TableDelete(ctx, table, rowName(kind, name), expect)
	switch {
	case err == nil:
		r.settle(ctx)
		return nil
	case errors.Is(err, state.ErrNotFound):
		if s := r.cur.Load(); s.file.has(kind, name) {
			return inFile(kind, name, s.file.path)
		}
		return notFound(kind, name)
	case errors.Is(err, state.ErrConflict):
		return r.conflict(ctx, kind, name, expect)
	}
	return err
}

// conflict is the 409 of a write that expected version want.
func (r *Ring) conflict(ctx context.Context, kind, name string, want int64) error {
	cur, err := r.store.TableGet(ctx, table, rowName(kind, name))
	if errors.Is(err, state.ErrNotFound) {
		return notFound(kind, name)
	}
	if err != nil {
		return err
	}
	return versionConflict(kind, name, want, cur.Version)
}

// settle brings this replica's index up to a write it just made, so that the
// writer's next request sees it. The write stands whether or not this succeeds:
// the next poll catches up.
func (r *Ring) settle(ctx context.Context) {
	if err := r.Sync(ctx); err != nil {
		r.log.Warn("keyring: reading back a change failed; the next poll catches up")
	}
}

// unreadable is the error of a stored row that does not decode.
func unreadable(kind, name string) *Error {
	return &Error{Status: 500, Code: "internal_error", Message: "The stored " + kind + " " + name + " is unreadable."}
}
