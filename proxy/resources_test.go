package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// waitMetric polls one series of /metrics until it reads want.
func waitMetric(t *testing.T, e *env, series, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := metricOrEmpty(t, e, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", series, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func metricOrEmpty(t *testing.T, e *env, series string) string {
	t.Helper()
	for _, line := range strings.Split(e.metricsText(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// metricsText is what /metrics shows now.
func (e *env) metricsText() string {
	e.t.Helper()
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

// apiAddr is the proxy's API listener address (host:port).
func (e *env) apiAddr() string {
	return strings.TrimSuffix(strings.TrimPrefix(e.base, "http://"), "/v1")
}

// Clients that announce large bodies and send one byte hold memory for the byte,
// not for the announcement.
func TestAnnouncedBodiesDoNotReserveMemory(t *testing.T) {
	e := newEnv(t, baseConfig)
	const conns = 40
	const announced = 8 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var open []net.Conn
	for range conns {
		c, err := net.Dial("tcp", e.apiAddr())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{", clientKey, announced)
	}
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	// Every connection's handler is reading its body.
	waitMetric(t, e, `switchyard_in_flight_requests{kind="request"}`, strconv.Itoa(conns))
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	grew := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d connections announcing %d MiB each: heap grew by %.1f MiB", conns, announced>>20, float64(grew)/(1<<20))
	if limit := int64(conns) * announced / 4; grew > limit {
		t.Errorf("heap grew by %d bytes for %d one-byte bodies: memory follows the announced length", grew, conns)
	}
}

// A client that sends its body too slowly is cut by the body deadline.
func TestSlowBodyIsCut(t *testing.T) {
	e := newEnv(t, baseConfig+"client_timeouts: {read_body: 300ms}\n")
	c, err := net.Dial("tcp", e.apiAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":", clientKey)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body: %d %s, want 408", resp.StatusCode, body)
	}
	if _, code, _ := errorCode(t, body); code != "request_timeout" {
		t.Errorf("code %q", code)
	}
	waitMetric(t, e, `switchyard_in_flight_requests{kind="request"}`, "0")
}

// A streaming client that stops reading is cut by the write deadline: its handler
// returns and the upstream stream is canceled.
func TestStalledStreamReaderIsCut(t *testing.T) {
	// The request's own total timeout is far beyond the test's patience, so only the
	// write deadline can end the stream.
	e := newEnv(t, strings.Replace(baseConfig, "first_byte: 2s, total: 20s", "first_byte: 60s, total: 300s", 1)+
		"client_timeouts: {write: 300ms}\n")
	word := strings.Repeat("x", 5000)
	chunks := make([]string, 2000) // ~10 MB: more than socket buffers hold
	for i := range chunks {
		chunks[i] = word
	}
	e.openai.Respond(func(p *fakes.Prompt) fakes.Reply { return fakes.Reply{Chunks: chunks} })
	c, err := net.Dial("tcp", e.apiAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	body := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", clientKey, len(body), body)
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream did not start: %v %v", resp, err)
	}
	// The client reads nothing more. The handler must give up on it.
	waitMetric(t, e, `switchyard_in_flight_requests{kind="stream"}`, "0")
	waitMetric(t, e, `switchyard_in_flight_requests{kind="request"}`, "0")
	deadline := time.Now().Add(30 * time.Second)
	for e.openai.Canceled() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.openai.Canceled() == 0 {
		t.Error("the upstream stream was not canceled after the client stopped reading")
	}
}

// collect collects twice: a body's buffer returned to its pool survives one
// collection (sync.Pool's victim cache), and only a held one must stay.
func collect() {
	runtime.GC()
	runtime.GC()
}

// A stream lets go of its request once it is committed: an agent's request of
// hundreds of kilobytes, held for the minutes a stream may last, would multiply
// the memory of every open stream. The upstream here answers one chunk and then
// holds each stream open; the heap, collected, must not hold the streams' bodies.
// Both dialects: the OpenAI one sends the client's bytes in place, the Anthropic
// one a translation of them.
func TestOpenStreamsDoNotHoldTheirRequests(t *testing.T) {
	hold := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",`+
			`"choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	defer close(hold) // before the upstream's Close, which waits for its handlers
	e := newEnv(t, strings.Replace(baseConfig, `"{{OPENAI}}"`, `"`+upstream.URL+`"`, 1))

	const streams = 12
	text := strings.Repeat("a long history ", 2<<20/15) // ~2 MiB, one allocation shared by every request
	for _, c := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"` + text + `"}]}`},
		{"messages", "/v1/messages", `{"model":"gpt-4o","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"` + text + `"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.body)
			collect()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var open []io.Closer
			defer func() {
				for _, b := range open {
					b.Close()
				}
			}()
			for range streams {
				req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(e.base, "/v1")+c.path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+clientKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				open = append(open, resp.Body)
				if resp.StatusCode != http.StatusOK {
					b, _ := io.ReadAll(resp.Body)
					t.Fatalf("HTTP %d: %s", resp.StatusCode, b)
				}
				// The first event has arrived: the stream is committed.
				if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
					t.Fatal(err)
				}
			}
			waitMetric(t, e, `switchyard_in_flight_requests{kind="stream"}`, strconv.Itoa(streams))
			collect()
			var during runtime.MemStats
			runtime.ReadMemStats(&during)
			grew := int64(during.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d open streams of %d KiB requests: heap grew by %.1f MiB", streams, len(body)>>10, float64(grew)/(1<<20))
			// Held, the bodies alone would be twice this; what else the streams hold
			// (connections, buffers, goroutines) is a tenth of it.
			if limit := int64(streams * len(body) / 2); grew > limit {
				t.Errorf("heap grew by %d bytes with %d streams open: their %d-byte requests are still held", grew, streams, len(body))
			}
		})
	}
}
