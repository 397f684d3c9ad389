package fakes

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Fault is a failure injected into the next requests of a fake.
type Fault struct {
	// Status answers with this HTTP status and the cloud's error body.
	Status int
	// Code and Message fill the error body; empty uses the cloud's usual ones.
	Code    string
	Message string
	// RetryAfter is sent as Retry-After (whole seconds) and retry-after-ms.
	RetryAfter time.Duration
	// Latency delays the response headers.
	Latency time.Duration
	// Hang never answers; the request ends when the client gives up.
	Hang bool
	// Reset closes the connection with a TCP RST instead of answering.
	Reset bool
	// CutAfter ends a stream after this many events, without its terminal event
	// (0 = not cut). CutAfter -1 cuts before the first event, right after headers.
	CutAfter int
	// ChunkDelay is the pause between stream events.
	ChunkDelay time.Duration
	// Times limits the fault to this many requests; 0 applies it until Clear.
	Times int
}

// Recorded is a request a fake received.
type Recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	At     time.Time
}

// Backend is the state every fake shares: a responder, faults, recorded requests.
type Backend struct {
	Name string

	mu        sync.Mutex
	responder Responder
	faults    []Fault
	recorded  []Recorded
	served    int
	canceled  int
	delay     time.Duration
}

func newBackend(name string) *Backend {
	return &Backend{Name: name, responder: Echo(name)}
}

// Respond replaces the emulated model.
func (b *Backend) Respond(r Responder) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.responder = r
}

// Fail queues a fault; queued faults apply in order.
func (b *Backend) Fail(f Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = append(b.faults, f)
}

// Clear removes every fault.
func (b *Backend) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = nil
}

// SetChunkDelay sets the pause between stream events of healthy responses.
func (b *Backend) SetChunkDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = d
}

// Requests returns a copy of the requests received so far.
func (b *Backend) Requests() []Recorded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Recorded(nil), b.recorded...)
}

// Served counts the requests answered without a fault.
func (b *Backend) Served() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.served
}

// Canceled counts requests whose client went away before the answer was complete:
// proof that a cancellation reached the upstream.
func (b *Backend) Canceled() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.canceled
}

func (b *Backend) noteCanceled() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.canceled++
}

// ResetRecords forgets the recorded requests and the served count.
func (b *Backend) ResetRecords() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recorded = nil
	b.served = 0
}

// admit records the request and returns the fault that applies to it, if any.
func (b *Backend) admit(r *http.Request, body []byte) (Fault, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.recorded) < 100000 { // bounded: long benchmarks must not grow forever
		b.recorded = append(b.recorded, Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body, At: time.Now()})
	}
	if len(b.faults) == 0 {
		b.served++
		return Fault{ChunkDelay: b.delay}, false
	}
	f := b.faults[0]
	if f.Times > 0 {
		b.faults[0].Times--
		if b.faults[0].Times == 0 {
			b.faults = b.faults[1:]
		}
	}
	if f.ChunkDelay == 0 {
		f.ChunkDelay = b.delay
	}
	if f.Status == 0 && !f.Hang && !f.Reset {
		b.served++ // latency, cut or slow streams still answer
	}
	return f, true
}

func (b *Backend) reply(p *Prompt) Reply {
	b.mu.Lock()
	r := b.responder
	b.mu.Unlock()
	return r(p).Finish(p)
}

// preamble applies the transport-level part of a fault: latency, hang, reset. It
// reports whether the handler should go on answering.
func (b *Backend) preamble(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Latency > 0 {
		if !sleep(r.Context(), f.Latency) {
			b.noteCanceled()
			return false
		}
	}
	if f.Hang {
		<-r.Context().Done()
		b.noteCanceled()
		return false
	}
	if f.Reset {
		resetConn(w)
		return false
	}
	return true
}

// resetConn aborts the connection with an RST (SO_LINGER 0), as a crashed load
// balancer would.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	conn.Close()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func readBody(r *http.Request) []byte {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	return body
}

// server is an httptest server with a Backend.
type server struct {
	*Backend
	srv *httptest.Server
}

func startServer(name string, h func(*Backend) http.Handler) server {
	b := newBackend(name)
	return server{Backend: b, srv: httptest.NewServer(h(b))}
}

// URL is the server's root, http://127.0.0.1:PORT.
func (s server) URL() string { return s.srv.URL }

// Close stops the server; hung requests are released.
func (s server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// flushWriter writes SSE events and flushes each at once.
type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newFlushWriter(w http.ResponseWriter) *flushWriter {
	return &flushWriter{w: w, rc: http.NewResponseController(w)}
}

func (f *flushWriter) event(name string, data []byte) error {
	var buf bytes.Buffer
	if name != "" {
		buf.WriteString("event: ")
		buf.WriteString(name)
		buf.WriteByte('\n')
	}
	buf.WriteString("data: ")
	buf.Write(data)
	buf.WriteString("\n\n")
	if _, err := f.w.Write(buf.Bytes()); err != nil {
		return err
	}
	return f.rc.Flush()
}
