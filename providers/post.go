package providers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// Body is a request body in pieces sent one after another: a rewritten client body
// is the client's bytes around the values replaced, sent without copying them (an
// agent's request is several hundred kilobytes).
type Body [][]byte

// Len is the body's length in bytes.
func (b Body) Len() int {
	n := 0
	for _, p := range b {
		n += len(p)
	}
	return n
}

// Bytes is the body in one slice: its piece when it has one, else a copy.
func (b Body) Bytes() []byte {
	if len(b) == 1 {
		return b[0]
	}
	return bytes.Join(b, nil)
}

// joinBelow is the length under which a body in pieces is joined into one buffer:
// net/http writes the headers of a body it does not know to be in memory (anything
// but a bytes.Reader, Buffer or strings.Reader) in a system call of their own, which
// costs a small request far more than copying its body; for a large body the extra
// call is one of dozens, and the copy is what costs.
const joinBelow = 64 << 10

// NewPost builds an upstream POST of a JSON body.
func NewPost(ctx context.Context, url string, body []byte, static, extra http.Header, stream bool) (*http.Request, error) {
	return NewPostBody(ctx, url, Body{body}, static, extra, stream)
}

// NewPostBody builds an upstream POST of a JSON body in pieces. The request has a
// known length and GetBody, so that the transport never races the response against
// its last read of the body. Request-scoped headers (extra: traceparent) come first,
// the provider's static ones (credentials, versions) over them. Send it with Do.
func NewPostBody(ctx context.Context, url string, body Body, static, extra http.Header, stream bool) (*http.Request, error) {
	n := body.Len()
	var rd io.Reader
	lease := LeaseFrom(ctx)
	if n < joinBelow && lease == nil {
		rd = bytes.NewReader(body.Bytes())
	} else {
		// Held until Do returns, and read by readers the transport closes: a body
		// built from a lent buffer, whatever its size, holds the lease while read.
		held := &heldBody{pieces: body, lease: lease}
		rd, _ = held.open()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	if err != nil {
		if c, ok := rd.(io.Closer); ok {
			_ = c.Close()
		}
		return nil, err
	}
	if b, ok := rd.(*pieceReader); ok {
		// What NewRequest does for a bytes.Reader.
		req.ContentLength = int64(n)
		req.GetBody = b.held.open
	}
	h := req.Header
	for k, v := range extra {
		h[k] = v
	}
	for k, v := range static {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	if stream {
		h.Set("Accept", "text/event-stream")
	} else {
		h.Set("Accept", "application/json")
	}
	return req, nil
}

// Do sends a request built by NewPostBody. Once it returns, nothing reads the body
// again but the reader the transport is still writing from, and a large body is let
// go as soon as that reader is done: a stream may last minutes, and an agent's
// request of several hundred kilobytes (for a pass-through, the client's own bytes)
// must not stay in memory for all of it.
func Do(c *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := c.Do(req)
	if b, ok := req.Body.(*pieceReader); ok {
		b.held.release() // the transport calls GetBody only within Do
	}
	return resp, err
}

var errBodyReleased = errors.New("request body already sent and released")

// heldBody is a large request body, or one built from a lent buffer, held for
// GetBody until Do returns.
type heldBody struct {
	mu     sync.Mutex
	pieces Body
	lease  *Lease // of the buffer the pieces may lie in; nil when none is lent
}

func (h *heldBody) open() (io.ReadCloser, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pieces == nil {
		return nil, errBodyReleased
	}
	h.lease.Hold()
	return &pieceReader{bufs: append(net.Buffers(nil), h.pieces...), held: h}, nil
}

func (h *heldBody) release() {
	h.mu.Lock()
	h.pieces = nil
	h.mu.Unlock()
}

// pieceReader reads a held body; Close lets go of what is left of it. The
// transport may close a body from another goroutine than the one reading it.
type pieceReader struct {
	mu     sync.Mutex
	bufs   net.Buffers
	closed bool
	held   *heldBody
}

func (r *pieceReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyReleased
	}
	return r.bufs.Read(p)
}

func (r *pieceReader) Close() error {
	r.mu.Lock()
	wasClosed := r.closed
	r.bufs, r.closed = nil, true
	r.mu.Unlock()
	if !wasClosed {
		r.held.lease.Release()
	}
	return nil
}
