package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore is the driver for many replicas: one Redis (single, Sentinel-managed or
// Cluster) holds every counter, budget and record.
type redisStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ Store = (*redisStore)(nil)

// Namespaces of the three kinds of value. The caller's key is the hash tag, so that
// whatever a script touches for one key lives in one Cluster slot.
const (
	kindWindow = "rate:"
	kindBudget = "budget:"
	kindRecord = "rec:"
)

func (r *redisStore) key(kind, k string) []string {
	return []string{r.prefix + kind + "{" + k + "}"}
}

// call bounds one operation by the configured timeout.
func (r *redisStore) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// fail classifies err. The caller's own cancellation is returned as it is: the
// store did nothing wrong.
func (r *redisStore) fail(parent context.Context, err error) error {
	if perr := parent.Err(); perr != nil {
		return perr
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("state: redis: %w", err)
}

// unreachable reports whether err means Redis could not serve the operation: the
// network failed or timed out, or the server said it cannot serve right now
// (loading its data, failing over, cluster down, busy with a script).
func unreachable(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.As(err, &ne):
		return true
	}
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "BUSY")
}

func (r *redisStore) Admit(ctx context.Context, key string, limit, cost int64, window time.Duration) (Admission, error) {
	if err := checkAdmit(limit, cost, window); err != nil {
		return Admission{}, err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	v, err := scriptAdmit.Run(cctx, r.c, r.key(kindWindow, key), limit, window.Milliseconds(), cost).Int64Slice()
	if err != nil {
		return Admission{}, r.fail(ctx, err)
	}
	if len(v) != 3 {
		return Admission{}, fmt.Errorf("state: redis: admit returned %d values", len(v))
	}
	return Admission{Allowed: v[0] == 1, Count: v[1], Limit: limit, Reset: time.Duration(v[2]) * time.Millisecond}, nil
}

func (r *redisStore) Adjust(ctx context.Context, key string, delta int64, window time.Duration) error {
	if err := checkAdjust(delta, window); err != nil {
		return err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	err := scriptAdjust.Run(cctx, r.c, r.key(kindWindow, key), MaxAmount, window.Milliseconds(), delta).Err()
	if err != nil {
		return r.fail(ctx, err)
	}
	return nil
}

func (r *redisStore) Reserve(ctx context.Context, key, id string, limit, amount int64, hold, ttl time.Duration) (Reservation, error) {
	if err := checkReserve(limit, amount, hold, ttl); err != nil {
		return Reservation{}, err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	v, err := scriptReserve.Run(cctx, r.c, r.key(kindBudget, key),
		id, limit, amount, ms(hold), ms(ttl)).Int64Slice()
	if err != nil {
		return Reservation{}, r.fail(ctx, err)
	}
	if len(v) != 3 {
		return Reservation{}, fmt.Errorf("state: redis: reserve returned %d values", len(v))
	}
	return Reservation{OK: v[0] == 1, Spent: v[1], Reserved: v[2]}, nil
}

func (r *redisStore) Settle(ctx context.Context, key, id string, actual int64, ttl time.Duration) error {
	if err := checkSettle(actual, ttl); err != nil {
		return err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	err := scriptSettle.Run(cctx, r.c, r.key(kindBudget, key), id, actual, ms(ttl), MaxAmount).Err()
	if err != nil {
		return r.fail(ctx, err)
	}
	return nil
}

func (r *redisStore) Usage(ctx context.Context, key string) (spent, reserved int64, err error) {
	cctx, cancel := r.call(ctx)
	defer cancel()
	v, err := scriptUsage.Run(cctx, r.c, r.key(kindBudget, key)).Int64Slice()
	if err != nil {
		return 0, 0, r.fail(ctx, err)
	}
	if len(v) != 2 {
		return 0, 0, fmt.Errorf("state: redis: usage returned %d values", len(v))
	}
	return v[0], v[1], nil
}

func (r *redisStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL("ttl", ttl); err != nil {
		return err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	// A TTL of 0 makes SET keep no expiry, as documented for Put.
	if err := r.c.Set(cctx, r.key(kindRecord, key)[0], value, ttl).Err(); err != nil {
		return r.fail(ctx, err)
	}
	return nil
}

func (r *redisStore) Get(ctx context.Context, key string) ([]byte, error) {
	cctx, cancel := r.call(ctx)
	defer cancel()
	v, err := r.c.Get(cctx, r.key(kindRecord, key)[0]).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return v, nil
}

func (r *redisStore) Delete(ctx context.Context, key string) error {
	cctx, cancel := r.call(ctx)
	defer cancel()
	if err := r.c.Del(cctx, r.key(kindRecord, key)[0]).Err(); err != nil {
		return r.fail(ctx, err)
	}
	return nil
}

func (r *redisStore) Close() error { return r.c.Close() }

// ms rounds a hold or TTL up to Redis's millisecond precision, so that a positive
// duration never becomes 0 (which means "no expiry").
func ms(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }
