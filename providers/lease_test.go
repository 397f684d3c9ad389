package providers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestLeaseClasses(t *testing.T) {
	prev := 0
	for n := leaseMin; n <= leaseMax; n += 997 {
		pool, size := leaseClass(n)
		if size < n || size-n > n/4+1 {
			t.Fatalf("a body of %d bytes gets a buffer of %d: too small or more than a quarter spare", n, size)
		}
		if pool < 0 || pool >= len(leasePools) || pool < prev {
			t.Fatalf("a body of %d bytes goes to pool %d (previous %d, %d pools)", n, pool, prev, len(leasePools))
		}
		prev = pool
	}
	for _, n := range []int{leaseMin, leaseMin + 1, 400 << 10, leaseMax} {
		if pool, size := leaseClass(n); pool < 0 || pool >= len(leasePools) || size < n {
			t.Errorf("leaseClass(%d) = %d, %d", n, pool, size)
		}
	}
}

// A large body is read into a lent buffer, which goes back to its pool when the
// last holder lets go, and no sooner; a small one, a failed read and a body
// longer than its announced length lend nothing.
func TestReadLeased(t *testing.T) {
	doc := bytes.Repeat([]byte("x"), 300<<10)
	body, lease, err := ReadLeased(bytes.NewReader(doc), int64(len(doc)), 1<<20)
	if err != nil || !bytes.Equal(body, doc) || lease == nil || !lease.Owns(body) {
		t.Fatalf("ReadLeased: %d bytes, lease %v, %v", len(body), lease, err)
	}
	lease.Hold() // an upstream reader
	lease.Release()
	if lease.buf == nil || !bytes.Equal(body, doc) {
		t.Fatal("the buffer was returned while a holder remained")
	}
	lease.Release()
	if lease.buf != nil {
		t.Fatal("the buffer was not returned after its last holder")
	}

	for _, small := range [][]byte{[]byte(`{"model":"m"}`), doc[:joinBelow-1]} {
		if _, lease, _ := ReadLeased(bytes.NewReader(small), int64(len(small)), 1<<20); lease != nil {
			t.Errorf("a body of %d bytes was lent a pooled buffer: its upstream request would be written in pieces", len(small))
		}
	}
	failing := io.MultiReader(bytes.NewReader(doc[:100<<10]), iotest.ErrReader(errors.New("connection reset")))
	if body, lease, err := ReadLeased(failing, int64(len(doc)), 1<<20); err == nil || body != nil || lease != nil {
		t.Errorf("a failed read returned %d bytes, lease %v, %v", len(body), lease, err)
	}
	// A body without a length is read to its end, then moved once into its buffer.
	body, lease, err = ReadLeased(bytes.NewReader(doc), -1, 1<<20)
	if err != nil || !bytes.Equal(body, doc) || lease == nil {
		t.Fatalf("no length: %d bytes, lease %v, %v", len(body), lease, err)
	}
	lease.Release()
	// A reader sending more than it announced (not net/http's) grows out of the
	// lent buffer: nothing stays lent.
	body, lease, err = ReadLeased(bytes.NewReader(doc), int64(len(doc)-1000), 1<<20)
	if err != nil || !bytes.Equal(body, doc) || lease != nil {
		t.Fatalf("longer than announced: %d bytes, lease %v, %v", len(body), lease, err)
	}
}

// An upstream body built under a lease holds it from each reader's opening to its
// closing, whatever its size, GetBody's replays included.
// A lease attached to another (a translation of the client's body) is held by
// the other's holders: returned with its last, not before; attached to no lease,
// it is returned at once.
func TestLeaseAttach(t *testing.T) {
	client, a, b := NewLease(300<<10), NewLease(320<<10), NewLease(8<<10)
	client.Attach(a)
	client.Attach(b)
	client.Hold() // a hedged attempt
	client.Release()
	if a.buf == nil || b.buf == nil {
		t.Fatal("an attached buffer was returned while the client's body was held")
	}
	client.Release()
	if client.buf != nil || a.buf != nil || b.buf != nil {
		t.Fatal("the attached buffers outlived the last holder of the client's body")
	}
	var none *Lease
	c := NewLease(4 << 10)
	none.Attach(c)
	if c.buf != nil {
		t.Fatal("attached to no lease, the buffer was kept")
	}
}

func TestUpstreamBodyHoldsTheLease(t *testing.T) {
	doc := bytes.Repeat([]byte("y"), 100<<10)
	client, lease, err := ReadLeased(bytes.NewReader(doc), int64(len(doc)), 1<<20)
	if err != nil || lease == nil {
		t.Fatal(err)
	}
	ctx := WithLease(context.Background(), lease)
	for _, body := range []Body{{client}, {client[:10]}} {
		req, err := NewPostBody(ctx, "http://127.0.0.1/", body, nil, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		replay, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		if got := lease.refs.Load(); got != 3 {
			t.Fatalf("%d holders with two readers open, want 3", got)
		}
		_ = req.Body.Close()
		_ = replay.Close()
		_ = replay.Close() // a second Close lets go of nothing more
		if got := lease.refs.Load(); got != 1 {
			t.Fatalf("%d holders once the readers closed, want 1", got)
		}
	}
	lease.Release()
	if lease.buf != nil {
		t.Fatal("the buffer was not returned")
	}
}
