// Package state keeps Switchyard's shared state behind one interface: fixed-window
// rate-limit counters, budget reservations and small records (conversation items).
//
// Two drivers implement it. "embedded" keeps everything in one bbolt file for a
// single process; "redis" lets many replicas enforce one rate limit and one budget
// exactly, because every compound operation is one atomic Lua script on one server.
package state

import (
	"context"
	"errors"
	"time"
)

// Store is every shared-state operation Switchyard needs. Keys are plain strings
// chosen by callers (they include the period, e.g. "budget:key:search:2026-11");
// the driver prefixes them with config KeyPrefix. Counters, budgets and records
// live in separate namespaces: the same key may name one of each.
//
// Amounts (limits, costs, reservations) are non-negative and at most MaxAmount.
type Store interface {
	// Admit atomically adds cost to the fixed window of `window` length containing
	// now, unless that would exceed limit: then nothing is added and Allowed is false.
	// Windows are aligned to the Unix epoch (a 1-minute window starts on the minute).
	Admit(ctx context.Context, key string, limit, cost int64, window time.Duration) (Admission, error)
	// Adjust adds delta (may be negative; the count never goes below 0) to the
	// current window of key, e.g. to correct an estimated token count with the
	// actual one.
	Adjust(ctx context.Context, key string, delta int64, window time.Duration) error
	// Reserve atomically holds amount against limit: it succeeds only if
	// spent + live reservations + amount <= limit. A reservation not settled within
	// hold lapses (a crashed replica must not leak budget forever). ttl bounds the
	// life of the whole record (the end of the budget period plus slack; 0 = none).
	// Reserving an id that already holds a live reservation replaces it when the
	// new amount fits, so a retried Reserve never holds twice.
	Reserve(ctx context.Context, key, id string, limit, amount int64, hold, ttl time.Duration) (Reservation, error)
	// Settle releases reservation id and adds actual to spent (actual may exceed the
	// reservation; settling an unknown or lapsed id still adds actual). Settle with
	// actual 0 cancels a reservation.
	Settle(ctx context.Context, key, id string, actual int64, ttl time.Duration) error
	// Usage reports spent and live reserved amounts of key.
	Usage(ctx context.Context, key string) (spent, reserved int64, err error)
	// Put, Get and Delete store small records (conversation items) with a TTL
	// (0 = none).
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns ErrNotFound when the record is absent or expired.
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error

	// Tables are small named sets of rows that every replica caches (client keys and
	// teams): each write moves the table's Stamp, so a cache polls one stamp and
	// fetches only the rows written since. Table and row names are opaque strings.
	//
	// TablePut writes a row when its current version matches expect (AnyVersion:
	// whatever it is; Absent: the row must not exist; n > 0: the row must be at
	// version n) and returns the row's new version; otherwise ErrConflict.
	TablePut(ctx context.Context, table, name string, value []byte, expect int64) (int64, error)
	// TableDelete deletes a row under the same expectation (Absent is refused) and
	// returns the table's new sequence number; ErrNotFound when there is no row.
	TableDelete(ctx context.Context, table, name string, expect int64) (int64, error)
	// TableGet returns one row; ErrNotFound when absent.
	TableGet(ctx context.Context, table, name string) (Row, error)
	// TableStamp is the table's current stamp (zero for a table never written).
	TableStamp(ctx context.Context, table string) (Stamp, error)
	// TableChanges returns what changed since a stamp: the rows written and deleted
	// after it, or the whole table (Full) when since is from another epoch or older
	// than the deletions the table still remembers.
	TableChanges(ctx context.Context, table string, since Stamp) (Changes, error)

	// Close releases the store; operations after Close fail.
	Close() error
}

// Admission is the outcome of Admit.
type Admission struct {
	Allowed bool
	// Count is the window's total after this call (the cost is included only when
	// Allowed).
	Count int64
	Limit int64
	// Reset is the time until the window ends.
	Reset time.Duration
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	OK bool
	// Spent and Reserved are the budget's totals after this call; Reserved includes
	// the new hold when OK.
	Spent, Reserved int64
}

// MaxAmount bounds every limit, cost and amount. Redis runs its scripts in Lua 5.1,
// whose numbers are doubles: integers above 2^53 would silently round. Both drivers
// enforce the same bound so that they behave alike. In nano-dollars it is about
// nine million USD.
const MaxAmount int64 = 1<<53 - 1

var (
	// ErrNotFound is returned by Get for a record that is absent or expired.
	ErrNotFound = errors.New("state: not found")
	// ErrUnavailable wraps every error that means the store could not be reached
	// (connection refused or lost, timeout, server loading or failing over), so that
	// callers can apply fail_open.
	ErrUnavailable = errors.New("state: store unavailable")
	// ErrInvalid wraps arguments a Store refuses (negative amounts, zero windows).
	ErrInvalid = errors.New("state: invalid argument")
	// ErrConflict is returned by TablePut and TableDelete when the row's version is
	// not the one expected.
	ErrConflict = errors.New("state: version conflict")
)
