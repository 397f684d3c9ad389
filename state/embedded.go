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
	// now is the clock of windows, holds and expiries.
	now func() time.Time
	// writers counts writes in progress, to batch only those that overlap.
	writers atomic.Int32
	// batchMu guards queue, the writes waiting for the next batched transaction.
	batchMu sync.Mutex
	queue   []*batchCall
	// slot admits one write transaction at a time (see writeTx).
	slot chan struct{}
	// damage is set by the first panic inside bbolt (see tx).
	damage atomic.Pointer[error]

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
	// allBuckets hold entries with an expiry, which the sweeper reclaims.
	allBuckets = [][]byte{bucketWindows, bucketBudgets, bucketRecords}
	// bucketTables holds one nested bucket per table; rows never expire.
	bucketTables = []byte("tables")
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
	// transaction and so its fsync (see batch). Every commit fsyncs; under load,
	// batching turns N fsyncs into one (see BenchmarkAdmit/embedded/parallel).
	batchDelay = time.Millisecond
)

type embeddedOptions struct {
	lockWait   time.Duration
	sweepEvery time.Duration
	// now is the clock; nil is time.Now.
	now func() time.Time
	// checkMaxBytes is the largest file checked at open (see verify); 0 is
	// defaultCheckMaxBytes.
	checkMaxBytes int64
}

func openEmbedded(path, prefix string, opt embeddedOptions, log *zap.Logger) (*embedded, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: embedded driver needs a path", ErrInvalid)
	}
	if log == nil {
		log = zap.NewNop()
	}
	db, err := openBolt(path, opt.lockWait)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("state: %s is locked by another process (waited %s): the embedded driver "+
			"serves one process at a time; stop the other one, or use driver: redis to share state between replicas",
			path, opt.lockWait)
	}
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) || isPanic(err) {
		return nil, corrupted(path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	if opt.checkMaxBytes == 0 {
		opt.checkMaxBytes = defaultCheckMaxBytes
	}
	if err := verify(db, path, opt.checkMaxBytes, log); err != nil {
		_ = db.Close()
		return nil, corrupted(path, err)
	}
	err = safeTx(func() error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, name := range append(allBuckets, bucketTables) {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		if isPanic(err) {
			return nil, corrupted(path, err)
		}
		return nil, fmt.Errorf("state: prepare %s: %w", path, err)
	}
	if opt.now == nil {
		opt.now = time.Now
	}
	e := &embedded{
		db:     db,
		path:   path,
		prefix: prefix,
		log:    log,
		now:    opt.now,
		slot:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		swept:  make(chan struct{}),
	}
	go e.sweepLoop(opt.sweepEvery)
	return e, nil
}

func (e *embedded) key(k string) []byte { return []byte(e.prefix + k) }

// nanos is the store's time now, in Unix nanoseconds.
func (e *embedded) nanos() int64 { return e.now().UnixNano() }

// update runs fn in a write transaction. A lone write commits at once; writes that
// overlap share a batched transaction, and so one fsync. fn may run more than once
// (a batch runs again without a failed member), so it must set its results afresh
// on every run. A panic inside bbolt is an error wrapping ErrUnavailable.
func (e *embedded) update(ctx context.Context, key string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if e.writers.Add(1) == 1 {
		err = e.writeTx(ctx, fn)
	} else {
		err = e.batch(ctx, fn)
	}
	e.writers.Add(-1)
	return e.wrap(key, err)
}

func (e *embedded) view(ctx context.Context, key string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.wrap(key, e.readTx(fn))
}

func (e *embedded) wrap(key string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("state: %s, key %q: %w", e.path, key, err)
}

// Close stops the sweeper and closes the file, releasing its lock. A damaged file is
// left open: closing it could wait forever on the lock of the transaction that
// panicked, and the process's exit releases it.
func (e *embedded) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		<-e.swept
		if d := e.damage.Load(); d != nil {
			e.closeErr = *d
			return
		}
		e.closeErr = e.db.Close()
	})
	return e.closeErr
}
