package state

import (
	"context"
	"errors"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// batchCall is one write waiting for a batched transaction.
type batchCall struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered: the committer never waits for the writer
}

// errSolo tells a write whose function failed inside a batch to run alone, so that
// its error is its own and the other writes commit without it.
var errSolo = errors.New("state: run alone")

// batch runs fn in a write transaction shared with the writes that overlap it, and so
// one fsync: the first to arrive waits batchDelay for others to join, then commits
// them all in its own goroutine. bbolt's DB.Batch does the same but commits on a
// timer's goroutine, where a panic (a corrupted page met while committing) would end
// the process; here it is recovered and returned to every write of the batch. fn may
// run more than once, as with DB.Batch.
func (e *embedded) batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	c := &batchCall{fn: fn, done: make(chan error, 1)}
	e.batchMu.Lock()
	e.queue = append(e.queue, c)
	leader := len(e.queue) == 1
	e.batchMu.Unlock()
	if leader {
		time.Sleep(batchDelay)
		e.batchMu.Lock()
		calls := e.queue
		e.queue = nil
		e.batchMu.Unlock()
		e.commit(calls)
	}
	err := <-c.done
	if err == errSolo {
		err = e.writeTx(ctx, fn)
	}
	return err
}

// commit runs calls in one transaction. A call whose function fails is taken out and
// told to run alone, and the rest run again without it. A panic fails them all, and
// marks the file damaged.
func (e *embedded) commit(calls []*batchCall) {
	for len(calls) > 0 {
		failed := -1
		// The batch commits for writers whose requests may outlive this one's: it
		// waits for the write slot whatever the leader's context.
		err := e.writeTx(context.Background(), func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := c.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].done <- errSolo
			calls = slices.Delete(calls, failed, failed+1)
			continue
		}
		for _, c := range calls {
			c.done <- err
		}
		return
	}
}
