package bedrock

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"

	"github.com/switchyard/switchyard/providers"
)

// Converse request bodies are written into pooled buffers: an agent's request is
// several hundred kilobytes, and a new buffer for each would be zeroed, faulted in
// and collected every time. A buffer goes back to the pool once nothing can read
// it: the transport closes every reader it was given (http.Client.Do: "the
// request Body ... will be closed by the underlying Transport, even on errors",
// possibly after Do returns, while it still writes), and it opens readers only
// within Do (GetBody, to retry on a new connection).

// maxPooled bounds the buffers kept: a rare huge request does not stay in memory.
const maxPooled = 4 << 20

var bodies sync.Pool // *[]byte

// newBuffer returns an empty buffer of capacity at least n, from the pool when
// one is there.
func newBuffer(n int) *[]byte {
	if b, _ := bodies.Get().(*[]byte); b != nil && cap(*b) >= n {
		return b
	}
	b := make([]byte, 0, n)
	return &b
}

// requestBody is a request's body; a pooled one holds the buffer it was written in.
type requestBody struct {
	b   []byte
	buf *[]byte // nil when b is not pooled
	// refs counts the holders: the sender until Do returns, and each reader open.
	refs atomic.Int32
	// client is the lease of the client's body, which b may lie in: each reader
	// open holds it.
	client *providers.Lease
}

// plainBody is a body that is not pooled.
func plainBody(b []byte) *requestBody { return &requestBody{b: b} }

// pooledBody is the body b, written in buf, released by the sender's call to
// release.
func pooledBody(buf *[]byte, b []byte) *requestBody {
	*buf = b
	body := &requestBody{b: b, buf: buf}
	body.refs.Store(1)
	return body
}

// open returns a reader of the body, for Request.Body and GetBody.
func (r *requestBody) open() io.ReadCloser {
	if r.buf != nil {
		r.refs.Add(1)
	}
	r.client.Hold()
	br := &bodyReader{body: r}
	br.Reset(r.b)
	return br
}

// release drops one hold; the last returns the buffer to the pool.
func (r *requestBody) release() {
	if r.buf == nil || r.refs.Add(-1) != 0 {
		return
	}
	if cap(*r.buf) <= maxPooled {
		*r.buf = (*r.buf)[:0]
		bodies.Put(r.buf)
	}
}

type bodyReader struct {
	bytes.Reader
	body   *requestBody
	closed atomic.Bool
}

func (r *bodyReader) Close() error {
	if !r.closed.Swap(true) {
		r.body.release()
		r.body.client.Release()
	}
	return nil
}
