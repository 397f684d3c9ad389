package bench

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Upstream is the emulated model server every target ends at. It speaks the two
// wire formats the harness measures: OpenAI Chat Completions (for direct, the bare
// ReverseProxy and Switchyard's pass-through) and Bedrock Converse/ConverseStream
// (for Switchyard's translation path), with the framing of providers/fakes (SSE with
// data: [DONE]; AWS event-stream messages with :event-type, :content-type and
// :message-type headers).
//
// It is not providers/fakes: those parse every request into a Prompt, build every
// answer through maps and encoding/json, verify SigV4 and record each request,
// which costs far more CPU than the proxies under test, on the same two cores. This
// one reads what a request asks for from a marker in the prompt and writes answers
// with append; what it sends is checked by the clients of the harness and by the
// real providers in Switchyard, which must decode it.
//
// The marker, anywhere in the request body, is
//
//	bench/<latency µs>/<content bytes>/<chunks>/<interval µs>/<pause 0|1>/<nonce>/end
//
// A response carries a content of exactly <content bytes> derived from the nonce,
// after <latency>. A stream sends a role chunk and <chunks> content chunks, each
// stamped with the time it left (nanoseconds since the upstream's epoch, on the
// monotonic clock of the harness process), <interval> apart; with pause 1 it stops
// after the first content chunk until Release.
type Upstream struct {
	ln    net.Listener
	srv   *http.Server
	epoch time.Time
	// tlsSrv serves the same API over TLS with HTTP/2 (ServeTLS), from a
	// certificate of the CA in CAFile; nil until StartTLS.
	tlsLn  net.Listener
	tlsSrv *http.Server
	ca     *testCA
	// Requests the TLS listener served, by protocol: the TLS phase checks that
	// the proxies spoke HTTP/2.
	h2, h1 atomic.Int64

	mu      sync.Mutex
	release chan struct{}
	// paused counts streams waiting for Release.
	paused atomic.Int64
}

// StartUpstream listens on a loopback port and serves until Close.
func StartUpstream() (*Upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &Upstream{ln: ln, epoch: time.Now(), release: make(chan struct{})}
	u.srv = &http.Server{Handler: u.mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = u.srv.Serve(ln) }()
	return u, nil
}

func (u *Upstream) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", u.openAI)
	mux.HandleFunc("POST /v1/messages", u.anthropic)
	mux.HandleFunc("POST /model/{model}/converse", u.converse)
	mux.HandleFunc("POST /model/{model}/converse-stream", u.converse)
	return mux
}

// StartTLS serves the API over TLS too, on another loopback port, with a
// certificate for 127.0.0.1 signed by a CA written to dir/ca.pem: the upstream as
// the clouds serve it, HTTP/2 negotiated by ALPN.
func (u *Upstream) StartTLS(dir string) error {
	ca, err := newTestCA(dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := u.mux()
	u.ca, u.tlsLn = ca, ln
	u.tlsSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, TLSConfig: ca.serverConfig(),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 {
				u.h2.Add(1)
			} else {
				u.h1.Add(1)
			}
			mux.ServeHTTP(w, r)
		})}
	go func() { _ = u.tlsSrv.ServeTLS(ln, "", "") }()
	return nil
}

// TLSURL is the TLS server's root, https://127.0.0.1:PORT.
func (u *Upstream) TLSURL() string { return "https://" + u.tlsLn.Addr().String() }

// CAFile is the PEM file of the CA that signed the TLS server's certificate.
func (u *Upstream) CAFile() string { return u.ca.file }

// Protocols are the requests the TLS listener served so far over HTTP/2 and
// over HTTP/1.x.
func (u *Upstream) Protocols() (h2, h1 int64) { return u.h2.Load(), u.h1.Load() }

// URL is the server's root, http://127.0.0.1:PORT.
func (u *Upstream) URL() string { return "http://" + u.ln.Addr().String() }

// Close stops the servers and releases paused streams.
func (u *Upstream) Close() {
	u.Release()
	_ = u.srv.Close()
	if u.tlsSrv != nil {
		_ = u.tlsSrv.Close()
	}
}

// Now is the upstream's clock: nanoseconds since its epoch.
func (u *Upstream) Now() int64 { return int64(time.Since(u.epoch)) }

// Release lets every paused stream go on, and arms the pause for the next ones.
func (u *Upstream) Release() {
	u.mu.Lock()
	defer u.mu.Unlock()
	close(u.release)
	u.release = make(chan struct{})
}

// Paused is the number of streams waiting for Release.
func (u *Upstream) Paused() int { return int(u.paused.Load()) }

func (u *Upstream) gate() <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.release
}

// Spec is what one request asks of the upstream.
type Spec struct {
	Latency  time.Duration
	Size     int // content bytes of a whole response
	Chunks   int // content chunks of a stream
	Interval time.Duration
	Pause    bool
	Nonce    uint64
}

// Marker is the prompt text that asks the upstream for s.
func (s Spec) Marker() string {
	pause := "0"
	if s.Pause {
		pause = "1"
	}
	return "bench/" + strconv.FormatInt(s.Latency.Microseconds(), 10) + "/" + strconv.Itoa(s.Size) + "/" +
		strconv.Itoa(s.Chunks) + "/" + strconv.FormatInt(s.Interval.Microseconds(), 10) + "/" + pause + "/" +
		strconv.FormatUint(s.Nonce, 10) + "/end"
}

var errNoMarker = errors.New("no bench marker in the request")

func parseSpec(body []byte) (Spec, error) {
	i := bytes.Index(body, []byte("bench/"))
	if i < 0 {
		return Spec{}, errNoMarker
	}
	rest := body[i+len("bench/"):]
	j := bytes.Index(rest, []byte("/end"))
	if j < 0 {
		return Spec{}, errNoMarker
	}
	f := bytes.Split(rest[:j], []byte("/"))
	if len(f) != 6 {
		return Spec{}, errNoMarker
	}
	var n [6]uint64
	for k := range f {
		v, err := strconv.ParseUint(string(f[k]), 10, 64)
		if err != nil {
			return Spec{}, errNoMarker
		}
		n[k] = v
	}
	return Spec{Latency: time.Duration(n[0]) * time.Microsecond, Size: int(n[1]), Chunks: int(n[2]),
		Interval: time.Duration(n[3]) * time.Microsecond, Pause: n[4] == 1, Nonce: n[5]}, nil
}

// filler is the alphabet of generated content: JSON-safe, no escapes.
const filler = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "

// appendContent appends the content of a whole response: "n<nonce>|" then filler
// shifted by the nonce, size bytes in all (at least the prefix).
func appendContent(b []byte, nonce uint64, size int) []byte {
	start := len(b)
	b = append(b, 'n')
	b = strconv.AppendUint(b, nonce, 10)
	b = append(b, '|')
	for i := len(b) - start; i < size; i++ {
		b = append(b, filler[(nonce+uint64(i))%uint64(len(filler))])
	}
	return b
}

// chunkBytes is the content of one stream chunk, about what a model sends per
// event (a few tokens).
const chunkBytes = 48

// appendChunkText appends the content of stream chunk i: "n<nonce>|i<i>|t<sent>|"
// then filler to chunkBytes.
func appendChunkText(b []byte, nonce uint64, i int, sent int64) []byte {
	start := len(b)
	b = append(b, 'n')
	b = strconv.AppendUint(b, nonce, 10)
	b = append(b, "|i"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "|t"...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, '|')
	for k := len(b) - start; k < chunkBytes; k++ {
		b = append(b, filler[(nonce+uint64(k))%uint64(len(filler))])
	}
	return b
}

// bodies are request buffers, reused: an agent-sized request is 400 KB, and the
// upstream shares the machine with the proxies it measures.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// readRequest reads the body and waits the latency the spec asks for; release
// returns the body's buffer once the handler is done with it.
func readRequest(w http.ResponseWriter, r *http.Request) (spec Spec, body []byte, release func(), ok bool) {
	buf := bodies.Get().(*[]byte)
	release = func() { bodies.Put(buf) }
	b := bytes.NewBuffer((*buf)[:0])
	if r.ContentLength > 0 {
		b.Grow(int(r.ContentLength))
	}
	if _, err := b.ReadFrom(r.Body); err != nil {
		return Spec{}, nil, release, false
	}
	*buf = b.Bytes()
	spec, err := parseSpec(*buf)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return Spec{}, nil, release, false
	}
	if spec.Latency > 0 && !sleepCtx(r.Context(), spec.Latency) {
		return Spec{}, nil, release, false
	}
	return spec, *buf, release, true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// openAI serves POST /v1/chat/completions as OpenAI does.
func (u *Upstream) openAI(w http.ResponseWriter, r *http.Request) {
	spec, body, release, ok := readRequest(w, r)
	defer release()
	if !ok {
		return
	}
	if !bytes.Contains(body, []byte(`"stream":true`)) {
		out := make([]byte, 0, spec.Size+320)
		out = append(out, `{"id":"chatcmpl-`...)
		out = strconv.AppendUint(out, spec.Nonce, 10)
		out = append(out, `","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"`...)
		out = appendContent(out, spec.Nonce, spec.Size)
		out = append(out, `","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":16,"completion_tokens":`...)
		out = strconv.AppendInt(out, int64(spec.Size/4), 10)
		out = append(out, `,"total_tokens":`...)
		out = strconv.AppendInt(out, int64(16+spec.Size/4), 10)
		out = append(out, `}}`...)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
		return
	}
	usage := bytes.Contains(body, []byte(`"include_usage":true`))
	u.streamOpenAI(w, r, spec, usage)
}

func (u *Upstream) streamOpenAI(w http.ResponseWriter, r *http.Request, spec Spec, usage bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var head []byte
	head = append(head, `data: {"id":"chatcmpl-`...)
	head = strconv.AppendUint(head, spec.Nonce, 10)
	head = append(head, `","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[{"index":0,`...)
	tail := []byte(`,"logprobs":null,"finish_reason":null}]}` + "\n\n")
	if usage {
		tail = []byte(`,"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	}
	buf := make([]byte, 0, 512)
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	buf = append(append(append(buf[:0], head...), `"delta":{"role":"assistant","content":""}`...), tail...)
	if !send(buf) {
		return
	}
	ok := u.eachChunk(r.Context(), spec, func(i int) bool {
		buf = append(append(buf[:0], head...), `"delta":{"content":"`...)
		buf = appendChunkText(buf, spec.Nonce, i, u.Now())
		buf = append(append(buf, `"}`...), tail...)
		return send(buf)
	})
	if !ok {
		return
	}
	finish := `"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n"
	if usage {
		finish = `"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n"
	}
	buf = append(append(buf[:0], head...), finish...)
	if !send(buf) {
		return
	}
	if usage {
		buf = append(buf[:0], `data: {"id":"chatcmpl-`...)
		buf = strconv.AppendUint(buf, spec.Nonce, 10)
		buf = append(buf, `","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[],"usage":{"prompt_tokens":16,"completion_tokens":`...)
		buf = strconv.AppendInt(buf, int64(spec.Chunks), 10)
		buf = append(buf, `,"total_tokens":`...)
		buf = strconv.AppendInt(buf, int64(16+spec.Chunks), 10)
		buf = append(buf, "}}\n\n"...)
		if !send(buf) {
			return
		}
	}
	send([]byte("data: [DONE]\n\n"))
}

// eachChunk calls send for each content chunk on the stream's timeline: the first
// at once, the next ones interval apart (from the first, so a late chunk does not
// delay the rest), pausing after the first when asked.
func (u *Upstream) eachChunk(ctx context.Context, spec Spec, send func(i int) bool) bool {
	start := time.Now()
	for i := range spec.Chunks {
		if i > 0 {
			if !sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*spec.Interval))) {
				return false
			}
		}
		if i == 0 && spec.Pause {
			if !u.sendAndPause(ctx, func() bool { return send(0) }) {
				return false
			}
			start = time.Now().Add(-spec.Interval)
			continue
		}
		if !send(i) {
			return false
		}
	}
	return true
}

// sendAndPause sends the first chunk and waits for Release. The gate is taken and
// the stream counted as paused before the chunk leaves: a client that has seen it
// may call Release at once, and that Release must be the one this stream waits for.
func (u *Upstream) sendAndPause(ctx context.Context, send func() bool) bool {
	gate := u.gate()
	u.paused.Add(1)
	defer u.paused.Add(-1)
	if !send() {
		return false
	}
	select {
	case <-gate:
		return true
	case <-ctx.Done():
		return false
	}
}

// anthropic serves POST /v1/messages as Anthropic does, not streamed: a message
// with one text block (platform.claude.com/docs/en/api/messages).
func (u *Upstream) anthropic(w http.ResponseWriter, r *http.Request) {
	spec, body, release, ok := readRequest(w, r)
	defer release()
	if !ok {
		return
	}
	if bytes.Contains(body, []byte(`"stream":true`)) {
		http.Error(w, "the bench upstream does not stream Anthropic messages", http.StatusBadRequest)
		return
	}
	out := make([]byte, 0, spec.Size+320)
	out = append(out, `{"id":"msg_`...)
	out = strconv.AppendUint(out, spec.Nonce, 10)
	out = append(out, `","type":"message","role":"assistant","model":"bench-model","content":[{"type":"text","text":"`...)
	out = appendContent(out, spec.Nonce, spec.Size)
	out = append(out, `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":16,"output_tokens":`...)
	out = strconv.AppendInt(out, int64(spec.Size/4), 10)
	out = append(out, `}}`...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
}

// converse serves Bedrock's Converse and ConverseStream.
func (u *Upstream) converse(w http.ResponseWriter, r *http.Request) {
	spec, _, release, ok := readRequest(w, r)
	release()
	if !ok {
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/converse-stream") {
		out := make([]byte, 0, spec.Size+256)
		out = append(out, `{"output":{"message":{"role":"assistant","content":[{"text":"`...)
		out = appendContent(out, spec.Nonce, spec.Size)
		out = append(out, `"}]}},"stopReason":"end_turn","usage":{"inputTokens":16,"outputTokens":`...)
		out = strconv.AppendInt(out, int64(spec.Size/4), 10)
		out = append(out, `,"totalTokens":`...)
		out = strconv.AppendInt(out, int64(16+spec.Size/4), 10)
		out = append(out, `},"metrics":{"latencyMs":0}}`...)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(out)))
		h.Set("X-Amzn-Requestid", "00000000-0000-4000-8000-000000000000")
		_, _ = w.Write(out)
		return
	}
	u.streamConverse(w, r, spec)
}

// streamConverse writes a ConverseStream answer in AWS event-stream framing:
// messageStart, one contentBlockDelta per chunk, contentBlockStop, messageStop and
// metadata with the usage (API_runtime_ConverseStreamOutput.html).
func (u *Upstream) streamConverse(w http.ResponseWriter, r *http.Request, spec Spec) {
	h := w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amzn-Requestid", "00000000-0000-4000-8000-000000000000")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	var frame bytes.Buffer
	send := func(typ string, payload []byte) bool {
		msg := eventstream.Message{Payload: payload}
		msg.Headers.Set(":event-type", eventstream.StringValue(typ))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		frame.Reset()
		if enc.Encode(&frame, msg) != nil {
			return false
		}
		if _, err := w.Write(frame.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("messageStart", []byte(`{"role":"assistant"}`)) {
		return
	}
	payload := make([]byte, 0, 256)
	ok := u.eachChunk(r.Context(), spec, func(i int) bool {
		payload = append(payload[:0], `{"contentBlockIndex":0,"delta":{"text":"`...)
		payload = appendChunkText(payload, spec.Nonce, i, u.Now())
		payload = append(payload, `"}}`...)
		return send("contentBlockDelta", payload)
	})
	if !ok {
		return
	}
	if !send("contentBlockStop", []byte(`{"contentBlockIndex":0}`)) || !send("messageStop", []byte(`{"stopReason":"end_turn"}`)) {
		return
	}
	payload = append(payload[:0], `{"usage":{"inputTokens":16,"outputTokens":`...)
	payload = strconv.AppendInt(payload, int64(spec.Chunks), 10)
	payload = append(payload, `,"totalTokens":`...)
	payload = strconv.AppendInt(payload, int64(16+spec.Chunks), 10)
	payload = append(payload, `},"metrics":{"latencyMs":0}}`...)
	send("metadata", payload)
}
