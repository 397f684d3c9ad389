// Package floor is the proxy the benchmark holds Switchyard to: the standard
// library's httputil.ReverseProxy in front of one upstream, with nothing else,
// tuned as any production Go proxy is (Caddy's is): a buffer pool for the copy
// loop (without one, every response copy allocates 32 KiB and the GC pays for
// it), and the transport of Switchyard's providers (providers.NewHTTPClient: 256
// idle connections per host, HTTP/2 over TLS, 4 KiB connection buffers, the same
// timeouts), so that the two differ only in what Switchyard does on top. It runs
// as bench/cmd/bareproxy in the harness, and in process in the benchmarks.
package floor

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// New is the floor in front of upstream.
func New(upstream *url.URL) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		// 10 s: Switchyard's default connect timeout (config.DefaultConnectTimeout).
		Transport:  providers.NewHTTPClient(10 * time.Second).Transport,
		BufferPool: newBufferPool(),
	}
	// The request body is copied upstream while the answer may already be coming
	// back. Without full duplex, the server reads what is left of the body itself
	// once the answer's headers go out, the transport then finds the body short,
	// and closes the upstream connection under the answer it is copying (a cut
	// stream, "use of closed network connection" in the log, a few in 100,000).
	// Switchyard reads a body whole before it sends it and cannot meet this.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

// bufferPool hands the ReverseProxy's copy loop 32 KiB buffers, its default
// size, reused across responses.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

var _ httputil.BufferPool = (*bufferPool)(nil)
