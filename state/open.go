package state

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/config"
)

// defaultTimeout bounds one operation when the configuration leaves it 0; the same
// default as config's state.timeout.
const defaultTimeout = 250 * time.Millisecond

// Option adjusts how Open opens a store.
type Option func(*openOptions)

type openOptions struct {
	now func() time.Time
}

// WithClock makes the embedded driver read the time from now instead of time.Now:
// rate-limit windows, budget holds and expiries then follow a test's clock. The
// redis driver ignores it: its clock is the server's (TIME), shared by every replica.
func WithClock(now func() time.Time) Option {
	return func(o *openOptions) { o.now = now }
}

// Open returns the store that cfg selects: "embedded" (the default) or "redis". Its
// operations never panic (see Guard).
//
// A redis store opens even when Redis cannot be reached (a warning is logged): its
// operations then fail with ErrUnavailable, and fail_open decides what the proxy
// does, so a replica can start while Redis is down.
func Open(cfg config.State, log *zap.Logger, opts ...Option) (Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	switch cfg.Driver {
	case "", "embedded":
		e, err := openEmbedded(cfg.Path, cfg.KeyPrefix,
			embeddedOptions{lockWait: defaultLockWait, sweepEvery: defaultSweepEvery, now: o.now}, log)
		if err != nil {
			return nil, err
		}
		log.Info("state: embedded", zap.String("path", cfg.Path))
		return Guard(e), nil
	case "redis":
		r, err := openRedis(cfg.URL.Reveal(), cfg.KeyPrefix, timeout, log)
		if err != nil {
			return nil, err
		}
		return Guard(r), nil
	}
	return nil, fmt.Errorf("%w: state.driver %q: want embedded or redis", ErrInvalid, cfg.Driver)
}

func openRedis(rawURL, prefix string, timeout time.Duration, log *zap.Logger) (*redisStore, error) {
	t, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	useRedisLogger(log, t.passwords())
	r := &redisStore{c: t.client(timeout), prefix: prefix, timeout: timeout}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := r.c.Ping(ctx).Err(); err != nil {
		log.Warn("state: redis not reachable yet; operations fail until it is",
			zap.String("url", redact(rawURL)), zap.Error(err))
	} else {
		log.Info("state: redis", zap.String("url", redact(rawURL)))
	}
	return r, nil
}
