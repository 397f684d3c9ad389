package state

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Time is read inside each transaction, so that a write waiting for its batch is
// judged at the moment it commits. A decision taken in a read-only transaction is
// as atomic as one in a write transaction: it holds at that snapshot.

func (e *embedded) Admit(ctx context.Context, key string, limit, cost int64, window time.Duration) (Admission, error) {
	if err := checkAdmit(limit, cost, window); err != nil {
		return Admission{}, err
	}
	k := e.key(key)
	var a Admission
	// A denial writes nothing, so a read-only transaction decides it without a
	// commit and its fsync: a client hammering past its limit costs no disk write.
	err := e.view(ctx, key, func(tx *bolt.Tx) (err error) {
		a, _, err = admitIn(tx.Bucket(bucketWindows), k, limit, cost, window, e.nanos())
		return err
	})
	if err != nil || !a.Allowed {
		return a, err
	}
	err = e.update(ctx, key, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWindows)
		var v []byte
		var err error
		if a, v, err = admitIn(b, k, limit, cost, window, e.nanos()); err != nil || v == nil {
			return err
		}
		return b.Put(k, v)
	})
	return a, err
}

// admitIn decides an admission at now (Unix nanoseconds) against the windows in b,
// and returns the entry to store when it is allowed.
func admitIn(b *bolt.Bucket, k []byte, limit, cost int64, window time.Duration, now int64) (Admission, []byte, error) {
	start, end := windowOf(now, window)
	n, err := windowCount(b.Get(k), start, now)
	if err != nil {
		return Admission{}, nil, err
	}
	a := Admission{Count: n, Limit: limit, Reset: time.Duration(end - now)}
	if n+cost > limit {
		return a, nil, nil
	}
	a.Allowed, a.Count = true, n+cost
	return a, encodeWindow(end, start, a.Count), nil
}

func (e *embedded) Adjust(ctx context.Context, key string, delta int64, window time.Duration) error {
	if err := checkAdjust(delta, window); err != nil {
		return err
	}
	k := e.key(key)
	return e.update(ctx, key, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWindows)
		now := e.nanos()
		start, end := windowOf(now, window)
		n, err := windowCount(b.Get(k), start, now)
		if err != nil {
			return err
		}
		return b.Put(k, encodeWindow(end, start, clampAmount(n+delta)))
	})
}

// windowOf returns the bounds (Unix nanoseconds) of the epoch-aligned window of
// length w containing now.
func windowOf(now int64, w time.Duration) (start, end int64) {
	start = now - now%int64(w)
	return start, start + int64(w)
}

// windowCount is the count a stored window entry holds for the window starting at
// start: 0 when absent, expired, or of another window.
func windowCount(v []byte, start, now int64) (int64, error) {
	if v == nil {
		return 0, nil
	}
	exp, p, err := decodeEntry(v)
	if err != nil || expired(exp, now) {
		return 0, err
	}
	s, n, err := decodeWindow(p)
	if err != nil || s != start {
		return 0, err
	}
	return n, nil
}

// clampAmount keeps a counter within [0, MaxAmount]: negative corrections stop at 0
// and repeated additions saturate instead of overflowing.
func clampAmount(v int64) int64 { return max(0, min(v, MaxAmount)) }

func (e *embedded) Reserve(ctx context.Context, key, id string, limit, amount int64, hold, ttl time.Duration) (Reservation, error) {
	if err := checkReserve(limit, amount, hold, ttl); err != nil {
		return Reservation{}, err
	}
	k := e.key(key)
	var r Reservation
	// As in Admit, a refusal is decided without a write transaction.
	err := e.view(ctx, key, func(tx *bolt.Tx) (err error) {
		r, _, err = reserveIn(tx.Bucket(bucketBudgets), k, id, limit, amount, hold, ttl, e.nanos())
		return err
	})
	if err != nil || !r.OK {
		return r, err
	}
	err = e.update(ctx, key, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBudgets)
		var v []byte
		var err error
		if r, v, err = reserveIn(b, k, id, limit, amount, hold, ttl, e.nanos()); err != nil || v == nil {
			return err
		}
		return b.Put(k, v)
	})
	return r, err
}

// reserveIn decides a reservation at now (Unix nanoseconds) against the budget in b,
// and returns the entry to store when it succeeds. Lapsed holds are dropped from what
// it stores.
func reserveIn(b *bolt.Bucket, k []byte, id string, limit, amount int64, hold, ttl time.Duration, now int64) (Reservation, []byte, error) {
	bud, exp, err := loadBudget(b.Get(k), now)
	if err != nil {
		return Reservation{}, nil, err
	}
	// others: live holds of other ids; prior: a live hold of this id, which the new
	// one replaces.
	var others, prior int64
	live := bud.holds[:0]
	for _, h := range bud.holds {
		switch {
		case expired(h.expires, now):
		case h.id == id:
			prior = h.amount
		default:
			others += h.amount
			live = append(live, h)
		}
	}
	if bud.spent+others+amount > limit {
		return Reservation{Spent: bud.spent, Reserved: others + prior}, nil, nil
	}
	bud.holds = append(live, holdOf(id, amount, now, hold))
	r := Reservation{OK: true, Spent: bud.spent, Reserved: others + amount}
	return r, encodeBudget(recordExpiry(exp, now, ttl), &bud), nil
}

func holdOf(id string, amount, now int64, d time.Duration) holding {
	return holding{id: id, amount: amount, expires: now + int64(d)}
}

func (e *embedded) Settle(ctx context.Context, key, id string, actual int64, ttl time.Duration) error {
	if err := checkSettle(actual, ttl); err != nil {
		return err
	}
	k := e.key(key)
	return e.update(ctx, key, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBudgets)
		now := e.nanos()
		bud, exp, err := loadBudget(b.Get(k), now)
		if err != nil {
			return err
		}
		live := bud.holds[:0]
		for _, h := range bud.holds {
			if h.id != id && !expired(h.expires, now) {
				live = append(live, h)
			}
		}
		bud.holds = live
		bud.spent = clampAmount(bud.spent + actual)
		return b.Put(k, encodeBudget(recordExpiry(exp, now, ttl), &bud))
	})
}

func (e *embedded) Usage(ctx context.Context, key string) (spent, reserved int64, err error) {
	k := e.key(key)
	err = e.view(ctx, key, func(tx *bolt.Tx) error {
		now := e.nanos()
		bud, _, err := loadBudget(tx.Bucket(bucketBudgets).Get(k), now)
		if err != nil {
			return err
		}
		spent, reserved = bud.spent, 0
		for _, h := range bud.holds {
			if !expired(h.expires, now) {
				reserved += h.amount
			}
		}
		return nil
	})
	return spent, reserved, err
}

// loadBudget decodes a stored budget; an absent or expired one is empty.
func loadBudget(v []byte, now int64) (budget, int64, error) {
	if v == nil {
		return budget{}, 0, nil
	}
	exp, p, err := decodeEntry(v)
	if err != nil {
		return budget{}, 0, err
	}
	if expired(exp, now) {
		return budget{}, 0, nil
	}
	b, err := decodeBudget(p)
	return b, exp, err
}

// recordExpiry is the expiry of a record written at now: ttl from now when given,
// else whatever it had (0 = none), as Redis keeps a key's TTL across HSET.
func recordExpiry(prev, now int64, ttl time.Duration) int64 {
	if ttl > 0 {
		return now + int64(ttl)
	}
	return prev
}

func (e *embedded) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL("ttl", ttl); err != nil {
		return err
	}
	k := e.key(key)
	return e.update(ctx, key, func(tx *bolt.Tx) error {
		v := make([]byte, 0, entryHeader+len(value))
		v = appendEntry(v, recordExpiry(0, e.nanos(), ttl))
		return tx.Bucket(bucketRecords).Put(k, append(v, value...))
	})
}

func (e *embedded) Get(ctx context.Context, key string) ([]byte, error) {
	k := e.key(key)
	var out []byte
	err := e.view(ctx, key, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRecords).Get(k)
		if v == nil {
			return ErrNotFound
		}
		exp, p, err := decodeEntry(v)
		if err != nil {
			return err
		}
		if expired(exp, e.nanos()) {
			return ErrNotFound
		}
		// bbolt's bytes live only as long as the transaction.
		out = append(make([]byte, 0, len(p)), p...)
		return nil
	})
	return out, err
}

func (e *embedded) Delete(ctx context.Context, key string) error {
	k := e.key(key)
	return e.update(ctx, key, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Delete(k)
	})
}
