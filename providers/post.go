package providers

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
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

// reader reads the body from its start.
func (b Body) reader() io.Reader {
	bufs := append(net.Buffers(nil), b...)
	return &bufs
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
// the provider's static ones (credentials, versions) over them.
func NewPostBody(ctx context.Context, url string, body Body, static, extra http.Header, stream bool) (*http.Request, error) {
	if len(body) > 1 && body.Len() < joinBelow {
		body = Body{body.Bytes()}
	}
	var rd io.Reader
	if len(body) <= 1 {
		rd = bytes.NewReader(body.Bytes())
	} else {
		rd = body.reader()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	if err != nil {
		return nil, err
	}
	if len(body) > 1 {
		// What NewRequest does for a bytes.Reader.
		req.ContentLength = int64(body.Len())
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body.reader()), nil }
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
