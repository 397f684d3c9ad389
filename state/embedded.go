package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

// embedded is the single-process driver: one bbolt file, one bucket per namespace.
type embedded struct {
	db     *bolt.DB
	path   string
	prefix string
	log    *zap.Logger
	// writers counts writes in progress, to batch only those that overlap.
	writers atomic.Int32

	stop      chan struct{}
	swept     chan struct{} // closed when the sweeper has returned
	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*embedded)(nil)

var (
	bucketWindows = []byte("windows")
	bucketBudgets = []byte("budgets")
	bucketRecords = []byte("records")
	allBuckets    = [][]byte{bucketWindows, bucketBudgets, bucketRecords}
)

const (
	// defaultLockWait bounds how long Open waits for another process to release the
	// file: long enough for a restarting predecessor to exit, short enough to fail
	// clearly instead of hanging at startup.
	defaultLockWait = 2 * time.Second
	// defaultSweepEvery is how often expired entries are deleted. Reads already treat
	// them as absent; the sweep only reclaims space.
	defaultSweepEvery = time.Minute
	// batchDelay is how long an overlapping write waits for others to share its
	// transaction and so its fsync. Every commit fsyncs; under load, batching turns
	// N fsyncs into one (see BenchmarkAdmit/embedded/parallel).
	batchDelay = time.Millisecond
)

type embeddedOptions struct {
	lockWait   time.Duration
	sweepEvery time.Duration
}

func openEmbedded(path, prefix string, opt embeddedOptions, log *zap.Logger) (*embedded, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: embedded driver needs a path", ErrInvalid)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.lockWait})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("state: %s is locked by another process (waited %s): the embedded driver "+
			"serves one process at a time; stop the other one, or use driver: redis to share state between replicas",
			path, opt.lockWait)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: prepare %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	e := &embedded{
		db:     db,
		path:   path,
		prefix: prefix,
		log:    log,
		stop:   make(chan struct{}),
		swept:  make(chan struct{}),
	}
	go e.sweepLoop(opt.sweepEvery)
	return e, nil
}

func (e *embedded) key(k string) []byte { return []byte(e.prefix + k) }

// update runs fn in a write transaction. A lone write commits at once; writes that
// overlap share a batched transaction, and so one fsync. fn may run more than once
// (bbolt retries a batch without a failed member), so it must set its results
// afresh on every run.
func (e *embedded) update(ctx context.Context, key string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if e.writers.Add(1) == 1 {
		err = e.db.Update(fn)
	} else {
		err = e.db.Batch(fn)
	}
	e.writers.Add(-1)
	return e.wrap(key, err)
}

func (e *embedded) view(ctx context.Context, key string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.wrap(key, e.db.View(fn))
}

func (e *embedded) wrap(key string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("state: %s, key %q: %w", e.path, key, err)
}

// Close stops the sweeper and closes the file, releasing its lock.
func (e *embedded) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		<-e.swept
		e.closeErr = e.db.Close()
	})
	return e.closeErr
}
