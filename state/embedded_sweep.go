package state

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// sweepScan bounds the entries one sweep transaction looks at, so that request
// writes never wait long behind the sweep's write lock.
const sweepScan = 1000

// sweepLoop deletes expired entries every `every` until Close. One goroutine and one
// ticker for the whole store: expiry itself is decided at read time from the stored
// timestamp, so the sweep only reclaims space and may run late without harm.
func (e *embedded) sweepLoop(every time.Duration) {
	defer close(e.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			n, err := e.sweep(e.nanos())
			if err != nil {
				e.log.Warn("state: sweeping expired entries failed", zap.String("path", e.path), zap.Error(err))
			} else if n > 0 {
				e.log.Debug("state: swept expired entries", zap.Int("deleted", n))
			}
		}
	}
}

// sweep deletes the entries of every bucket that have expired at now (Unix
// nanoseconds) and returns how many it deleted. Entries it cannot decode are left for
// reads to report.
func (e *embedded) sweep(now int64) (int, error) {
	deleted := 0
	for _, name := range allBuckets {
		var from []byte // first key not yet scanned; nil = the bucket's first key
		for {
			var next []byte
			// A panic on a damaged page must not end the process from here.
			err := e.writeTx(context.Background(), func(tx *bolt.Tx) error {
				b := tx.Bucket(name)
				c := b.Cursor()
				k, v := c.First()
				if from != nil {
					k, v = c.Seek(from)
				}
				var gone [][]byte
				for scanned := 0; k != nil && scanned < sweepScan; k, v = c.Next() {
					scanned++
					if exp, _, err := decodeEntry(v); err == nil && expired(exp, now) {
						gone = append(gone, bytes.Clone(k))
					}
				}
				next = bytes.Clone(k)
				// Deleting after the scan: a bbolt cursor may skip the key after one
				// it deleted.
				for _, k := range gone {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				deleted += len(gone)
				return nil
			})
			if err != nil {
				return deleted, err
			}
			if next == nil {
				break
			}
			from = next
		}
	}
	return deleted, nil
}
