package state

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// A panic inside bbolt means a damaged page. After one in a write transaction bbolt
// may be left holding its writer lock (its rollback reads the freelist page, which
// may be the damaged one, and panics again), and every later write would wait on it
// forever. So the first panic marks the file damaged: from then on every operation
// fails at once with an error wrapping ErrUnavailable that says what to do, and
// writes wait for the write slot, never for bbolt's lock, so none can be stuck behind
// the broken transaction.

// writeTx runs fn in a write transaction once the write slot is free.
func (e *embedded) writeTx(ctx context.Context, fn func(*bolt.Tx) error) error {
	select {
	case e.slot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.slot }()
	return e.tx(func() error { return e.db.Update(fn) })
}

// readTx runs fn in a read transaction.
func (e *embedded) readTx(fn func(*bolt.Tx) error) error {
	return e.tx(func() error { return e.db.View(fn) })
}

// tx runs f unless the file is known to be damaged, and marks it damaged when f
// panics.
func (e *embedded) tx(f func() error) error {
	if d := e.damage.Load(); d != nil {
		return *d
	}
	err := safeTx(f)
	if !isPanic(err) {
		return err
	}
	d := fmt.Errorf("state: the embedded state file %s is damaged (%w); every state operation fails until "+
		"Switchyard is stopped, the file moved aside (mv %s %s.corrupt) and Switchyard started again", e.path, err, e.path, e.path)
	if e.damage.CompareAndSwap(nil, &d) {
		e.log.Error("state: the embedded state file is damaged; budgets, rate limits and stored conversations are unavailable",
			zap.String("path", e.path), zap.Error(err))
	}
	return *e.damage.Load()
}
