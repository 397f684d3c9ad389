package state

import (
	"context"
	"fmt"
	"time"
)

// Guard returns s with every operation recovering a panic inside the store (bbolt
// panics on a corrupted page, a driver may have a bug) into an error wrapping
// ErrUnavailable, so that the caller answers 503 and counts it instead of the panic
// tearing down the client's connection. nil stays nil; a guarded store is returned
// as it is.
func Guard(s Store) Store {
	switch s.(type) {
	case nil, guarded:
		return s
	}
	return guarded{s}
}

type guarded struct{ s Store }

// recovered turns a panic of operation op into *err.
func recovered(op string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s panicked: %v", ErrUnavailable, op, r)
	}
}

func (g guarded) Admit(ctx context.Context, key string, limit, cost int64, window time.Duration) (a Admission, err error) {
	defer recovered("admit", &err)
	return g.s.Admit(ctx, key, limit, cost, window)
}

func (g guarded) Adjust(ctx context.Context, key string, delta int64, window time.Duration) (err error) {
	defer recovered("adjust", &err)
	return g.s.Adjust(ctx, key, delta, window)
}

func (g guarded) Reserve(ctx context.Context, key, id string, limit, amount int64, hold, ttl time.Duration) (r Reservation, err error) {
	defer recovered("reserve", &err)
	return g.s.Reserve(ctx, key, id, limit, amount, hold, ttl)
}

func (g guarded) Settle(ctx context.Context, key, id string, actual int64, ttl time.Duration) (err error) {
	defer recovered("settle", &err)
	return g.s.Settle(ctx, key, id, actual, ttl)
}

func (g guarded) Usage(ctx context.Context, key string) (spent, reserved int64, err error) {
	defer recovered("usage", &err)
	return g.s.Usage(ctx, key)
}

func (g guarded) Put(ctx context.Context, key string, value []byte, ttl time.Duration) (err error) {
	defer recovered("put", &err)
	return g.s.Put(ctx, key, value, ttl)
}

func (g guarded) Get(ctx context.Context, key string) (v []byte, err error) {
	defer recovered("get", &err)
	return g.s.Get(ctx, key)
}

func (g guarded) Delete(ctx context.Context, key string) (err error) {
	defer recovered("delete", &err)
	return g.s.Delete(ctx, key)
}

func (g guarded) TablePut(ctx context.Context, table, name string, value []byte, expect int64) (v int64, err error) {
	defer recovered("table_put", &err)
	return g.s.TablePut(ctx, table, name, value, expect)
}

func (g guarded) TableDelete(ctx context.Context, table, name string, expect int64) (v int64, err error) {
	defer recovered("table_delete", &err)
	return g.s.TableDelete(ctx, table, name, expect)
}

func (g guarded) TableGet(ctx context.Context, table, name string) (r Row, err error) {
	defer recovered("table_get", &err)
	return g.s.TableGet(ctx, table, name)
}

func (g guarded) TableStamp(ctx context.Context, table string) (st Stamp, err error) {
	defer recovered("table_stamp", &err)
	return g.s.TableStamp(ctx, table)
}

func (g guarded) TableChanges(ctx context.Context, table string, since Stamp) (c Changes, err error) {
	defer recovered("table_changes", &err)
	return g.s.TableChanges(ctx, table, since)
}

func (g guarded) Close() (err error) {
	defer recovered("close", &err)
	return g.s.Close()
}
