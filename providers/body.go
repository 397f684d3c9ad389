package providers

import (
	"fmt"
	"io"
	"net/http"
	"sync"
)

// DefaultMaxResponseBytes caps a buffered (non-streamed) chat answer when the
// configuration names no max_response_bytes: 32 MiB, far above what any model
// writes in one answer, and small enough that a few concurrent answers cannot
// exhaust a replica's memory.
const DefaultMaxResponseBytes = 32 << 20

// embeddingsFactor is how much larger than a chat answer an embeddings answer may
// be: 2048 inputs of 3072 dimensions written as JSON floats are about 120 MB.
const embeddingsFactor = 8

// ResponseLimit is a provider's cap on a buffered answer in bytes (the
// max_response_bytes setting); 0 stands for DefaultMaxResponseBytes.
type ResponseLimit int64

// Chat is the cap on a chat answer.
func (l ResponseLimit) Chat() int64 {
	if l <= 0 {
		return DefaultMaxResponseBytes
	}
	return int64(l)
}

// Embeddings is the cap on an embeddings answer, 8 times the chat cap.
func (l ResponseLimit) Embeddings() int64 { return embeddingsFactor * l.Chat() }

// firstRead is the buffer a body starts in whatever length it announces, and the
// size of the pooled chunks a larger body arrives in.
const firstRead = 64 << 10

// chunkPool holds the chunks bodies arrive in: a 400 KB body would otherwise
// allocate (and clear) 64 and 256 KiB on its way to its own buffer.
var chunkPool = sync.Pool{New: func() any { return new([firstRead]byte) }}

// ReadSized reads r to its end. Memory follows the bytes that arrive, not the length
// announced: a body is given a buffer of its announced length once that is at most
// 64 KiB or four times what arrived; until then its bytes wait in pooled 64 KiB
// chunks, moved into the buffer once. An honest 400 KB body lands in a buffer of its
// exact size, 128 KiB of it copied once; a client announcing 8 MB and sending one
// byte holds one chunk; a body without a length is copied once into a buffer of its
// size. An empty body is returned as empty, not nil.
func ReadSized(r io.Reader, length, limit int64) ([]byte, error) {
	return readSized(r, length, limit, nil)
}

// ReadLeased is ReadSized with a body of 64 KiB or more read into a pooled buffer,
// lent by the lease returned (nil for a body not pooled), held once by the caller.
// On an error nothing is returned.
func ReadLeased(r io.Reader, length, limit int64) ([]byte, *Lease, error) {
	var lease *Lease
	body, err := readSized(r, length, limit, &lease)
	if err != nil {
		lease.Release()
		return nil, nil, err
	}
	if lease != nil && !lease.Owns(body) {
		lease.Release() // a body longer than announced grew out of it
		lease = nil
	}
	return body, lease, nil
}

// readSized is ReadSized; with lease set, a body's buffer may be a lent one, whose
// lease it stores there.
func readSized(r io.Reader, length, limit int64, lease **Lease) ([]byte, error) {
	if length <= 0 || length > limit {
		length = -1
	}
	var arrived chunks
	defer arrived.release()
	for length < 0 || length > max(firstRead, 4*int64(arrived.n)) {
		end, err := arrived.fill(r)
		if err != nil {
			return nil, err
		}
		if end {
			return arrived.bytes(newBody(arrived.n, lease)), nil
		}
	}
	buf := arrived.bytes(newBody(int(length), lease))
	arrived.release()
	for {
		if len(buf) == cap(buf) {
			// The announced length is in: one small read confirms the end, or
			// finds a longer body, which append grows for.
			var probe [1]byte
			n, err := io.ReadFull(r, probe[:])
			if n == 0 {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					err = nil
				}
				return buf, err
			}
			buf = append(buf, probe[0])
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// newBody returns an empty buffer for a body of n bytes: a lent one when lease is
// set and n is at least 64 KiB. A smaller body is not lent: its upstream request
// would lose net/http's single write of the headers and an in-memory body
// (NewPostBody).
func newBody(n int, lease **Lease) []byte {
	if lease != nil && n >= joinBelow {
		if *lease = NewLease(n); *lease != nil {
			// Room for n bytes and no more: a longer body grows out of it (see
			// ReadLeased), as it would out of a buffer of its announced length.
			return (*lease).Buffer()[:0:n]
		}
	}
	return make([]byte, 0, n)
}

// chunks hold the first bytes of a body, in pooled chunks.
type chunks struct {
	list []*[firstRead]byte
	n    int // bytes held
}

// fill reads once into the last chunk, taking a new one when it is full; end is
// set at the end of r.
func (c *chunks) fill(r io.Reader) (end bool, err error) {
	used := c.n % firstRead
	if used == 0 && len(c.list)*firstRead == c.n {
		c.list = append(c.list, chunkPool.Get().(*[firstRead]byte))
	}
	n, err := r.Read(c.list[len(c.list)-1][used:])
	c.n += n
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// bytes appends the bytes held to buf.
func (c *chunks) bytes(buf []byte) []byte {
	for i, ch := range c.list {
		buf = append(buf, ch[:min(firstRead, c.n-i*firstRead)]...)
	}
	return buf
}

// release returns the chunks to the pool.
func (c *chunks) release() {
	for _, ch := range c.list {
		chunkPool.Put(ch)
	}
	c.list = c.list[:0]
}

// ReadResponse reads and closes a buffered upstream response of at most limit
// bytes. A larger answer is a ClassLocal failure: its size is what the client's
// request asked for, so it neither counts against the target nor is retried there.
// An announced length over the limit is refused without reading the body.
func ReadResponse(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, tooLarge(resp, limit)
	}
	body, err := ReadSized(io.LimitReader(resp.Body, limit+1), resp.ContentLength, limit)
	if err != nil {
		return nil, AsError(err)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge(resp, limit)
	}
	return body, nil
}

func tooLarge(resp *http.Response, limit int64) *Error {
	return &Error{Class: ClassLocal, Status: resp.StatusCode, Code: "response_too_large",
		Message: fmt.Sprintf("the upstream answer is larger than %d bytes, the limit on a non-streamed answer (max_response_bytes); ask for less (max_tokens, n, fewer inputs) or stream it", limit)}
}
