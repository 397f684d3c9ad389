package bedrock

import (
	"bytes"
	"io"
	"sync/atomic"

	"github.com/switchyard/switchyard/providers"
)

// A Converse request body of 64 KiB or more is written into a buffer lent by a
// providers.Lease: an agent's request is several hundred kilobytes, and a new
// buffer for each would be zeroed, faulted in and collected every time. The
// buffer goes back to its pool once nothing can read it: the sender holds it
// until Do returns, and each reader the transport was given until the transport
// closes it (http.Client.Do: "the request Body ... will be closed by the
// underlying Transport, even on errors", possibly after Do returns, while it
// still writes); the transport opens readers only within Do (GetBody, to retry
// on a new connection).

// requestBody is a request's body.
type requestBody struct {
	b []byte
	// own lends the buffer b was written in, held by the sender until release
	// and by each reader open; nil when b is not lent.
	own *providers.Lease
	// client is the lease of the client's body, which b may lie in: each reader
	// open holds it.
	client *providers.Lease
	// sum is b's SHA-256 when it is known (hashed while it was written); nil
	// when send hashes b.
	sum *[32]byte
}

// plainBody is a body that is not lent.
func plainBody(b []byte) *requestBody { return &requestBody{b: b} }

// sent is the translated body as send takes it.
func (cr *converseRequest) sent() *requestBody {
	return &requestBody{b: cr.body, own: cr.own, sum: &cr.sum}
}

// open returns a reader of the body, for Request.Body and GetBody.
func (r *requestBody) open() io.ReadCloser {
	r.own.Hold()
	r.client.Hold()
	br := &bodyReader{body: r}
	br.Reset(r.b)
	return br
}

// release drops the sender's hold.
func (r *requestBody) release() { r.own.Release() }

type bodyReader struct {
	bytes.Reader
	body   *requestBody
	closed atomic.Bool
}

func (r *bodyReader) Close() error {
	if !r.closed.Swap(true) {
		r.body.own.Release()
		r.body.client.Release()
	}
	return nil
}
