package state

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// defaultCheckMaxBytes bounds the file size checked at open. bbolt's consistency check
// (Tx.Check) walks every page of the tree, reading page headers and keys: on a 120 MB
// file of conversations and counters it costs 90-130 ms on 2 shared cores with the
// file in the page cache (BenchmarkOpenCheck), plus one read of the file when it is
// not cached. Its cost grows with the file, and it can be neither interrupted nor
// run beside writers, so a file above 1 GiB (about a second) is opened unchecked,
// with a warning: an operation meeting a damaged page still fails with 503, never
// with a crash (see embedded.tx).
const defaultCheckMaxBytes = 1 << 30

// maxReported bounds the problems a corruption error lists.
const maxReported = 5

// panicError is a panic inside bbolt (a corrupted page, an assertion), recovered.
// It wraps ErrUnavailable: the store cannot serve the operation.
type panicError struct{ v any }

func (p *panicError) Error() string {
	return fmt.Sprintf("%v: bbolt panicked: %v", ErrUnavailable, p.v)
}
func (p *panicError) Unwrap() error { return ErrUnavailable }

func isPanic(err error) bool {
	var p *panicError
	return errors.As(err, &p)
}

// safeTx runs f, turning a panic into a *panicError.
func safeTx(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{v}
		}
	}()
	return f()
}

// openBolt opens the file; bbolt reads its meta and freelist pages, and may panic
// on them.
func openBolt(path string, lockWait time.Duration) (db *bolt.DB, err error) {
	err = safeTx(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
		return err
	})
	return db, err
}

// verify runs bbolt's consistency check on a file of at most maxBytes, before
// anything else uses it, and returns the problems found. A larger file is left
// unchecked, with a warning.
func verify(db *bolt.DB, path string, maxBytes int64, log *zap.Logger) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxBytes {
		log.Warn("state: the embedded file is too large to check at startup; opened unchecked",
			zap.String("path", path), zap.Int64("bytes", fi.Size()), zap.Int64("checked_up_to_bytes", maxBytes))
		return nil
	}
	var found []error
	err := safeTx(func() error {
		return db.View(func(tx *bolt.Tx) error {
			n := 0
			for err := range tx.Check() { // drained to the end: the check runs in its own goroutine
				if n++; len(found) < maxReported {
					found = append(found, err)
				}
			}
			if n > maxReported {
				found = append(found, fmt.Errorf("and %d more", n-maxReported))
			}
			return nil
		})
	})
	if err != nil {
		found = append(found, err)
	}
	return errors.Join(found...)
}

// corrupted is the error of a file that cannot be used, naming it and what to do.
func corrupted(path string, cause error) error {
	return fmt.Errorf("state: the embedded state file %s is corrupted, so Switchyard will not start on it "+
		"(%v). Move it aside (mv %s %s.corrupt) and start again: a new, empty file is created. "+
		"It held budget spend, rate-limit counters and stored Responses API conversations, which start again "+
		"from zero; keep the old file to inspect it (the bbolt command's check and surgery tools)",
		path, cause, path, path)
}
