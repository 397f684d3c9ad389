package providers

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
)

// A client's body of 64 KiB or more is read into a pooled buffer, lent to the
// request by a Lease: an agent's request is several hundred kilobytes, and a new
// buffer for each is zeroed, faulted in and collected every time (a quarter of a
// pass-through's CPU). The buffer goes back to the pool when its last holder lets
// go: the request (until its end, or until its stream is committed), each hedged
// attempt still running, and each reader of an upstream body the transport was
// given (closed by the transport, possibly after Do returns). A holder must not
// keep a slice of the buffer past its release: the next request's bytes land there.
// Translations lend the buffers they write bodies in the same way, from 2 KiB.

const (
	leaseMin = 2 << 10 // below, a buffer is cheap to allocate
	leaseMax = 8 << 20 // above, a rare huge body does not stay in memory
	// Buffers come in four sizes per doubling, so that one wastes at most a
	// quarter of its capacity.
	leaseSteps   = 4
	leaseMinBits = 10 // 1<<leaseMinBits < leaseMin
	leaseMaxBits = 23 // 1<<leaseMaxBits == leaseMax
)

var leasePools [(leaseMaxBits - leaseMinBits) * leaseSteps]sync.Pool // of *[]byte

// leaseClass returns the pool and buffer size for a body of n bytes,
// leaseMin <= n <= leaseMax.
func leaseClass(n int) (pool, size int) {
	k := bits.Len(uint(n-1)) - 1 // 1<<k < n <= 1<<(k+1)
	step := 1 << (k - 2)
	q := (n - 1<<k + step - 1) / step // 1..4
	return (k-leaseMinBits)*leaseSteps + q - 1, 1<<k + q*step
}

// Lease is a pooled buffer lent to the holders of one request's body.
type Lease struct {
	buf  *[]byte
	pool int
	refs atomic.Int32
	// attached are leases released with this one (Attach), a list through next.
	attached atomic.Pointer[Lease]
	next     *Lease
}

// NewLease lends a buffer for a body of n bytes, held once (by the caller); nil
// when n is outside the pooled sizes (2 KiB to 8 MiB).
func NewLease(n int) *Lease {
	if n < leaseMin || n > leaseMax {
		return nil
	}
	pool, size := leaseClass(n)
	buf, _ := leasePools[pool].Get().(*[]byte)
	if buf == nil {
		b := make([]byte, size)
		buf = &b
	}
	l := &Lease{buf: buf, pool: pool}
	l.refs.Store(1)
	return l
}

// Buffer is the lent buffer, empty, with all its capacity (at least the n asked
// for). What is appended past it grows out of it: see Owns.
func (l *Lease) Buffer() []byte { return (*l.buf)[:0] }

// Owns reports whether b lies in the lent buffer (it did not grow out of it).
func (l *Lease) Owns(b []byte) bool {
	return cap(b) > 0 && &b[:1][0] == &(*l.buf)[0]
}

// Hold adds a holder. A nil Lease (a body not pooled) holds nothing.
func (l *Lease) Hold() {
	if l != nil {
		l.refs.Add(1)
	}
}

// Attach hands b's hold to l: b is released when l's last holder lets go. A
// body written from the client's (a translation) lives as long as the client's
// does, held by the same holders. The caller holds l; b must not be attached
// twice. On a nil l, b is released at once.
func (l *Lease) Attach(b *Lease) {
	if l == nil {
		b.Release()
		return
	}
	for {
		head := l.attached.Load()
		b.next = head
		if l.attached.CompareAndSwap(head, b) {
			return
		}
	}
}

// Release drops a hold; the last returns the buffer to its pool, and releases
// the leases attached to it.
func (l *Lease) Release() {
	if l == nil {
		return
	}
	switch n := l.refs.Add(-1); {
	case n > 0:
		return
	case n < 0:
		// A bug: the buffer is in the pool already. Tests fail on it; a
		// replica leaves it there rather than die in the transport's goroutine.
		if poisonReleased {
			panic("providers: Lease released more often than held")
		}
		return
	}
	if poisonReleased {
		// Race-detector builds (the tests) overwrite what is released, so that a
		// holder reading past its release sees garbage, not a plausible body.
		b := *l.buf
		for i := range b {
			b[i] = 0xA5
		}
	}
	// The lease itself may stay referenced (by a context, a finished run): it
	// must not keep the buffer.
	buf := l.buf
	l.buf = nil
	leasePools[l.pool].Put(buf)
	for b := l.attached.Swap(nil); b != nil; {
		next := b.next
		b.Release()
		b = next
	}
}

type leaseKey struct{}

// WithLease returns ctx carrying the lease of the body its upstream requests are
// built from: every reader of an upstream body holds it.
func WithLease(ctx context.Context, l *Lease) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, leaseKey{}, l)
}

// LeaseFrom returns the lease ctx carries, or nil.
func LeaseFrom(ctx context.Context) *Lease {
	l, _ := ctx.Value(leaseKey{}).(*Lease)
	return l
}
