package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Kinds of target.
const (
	kindDirect     = "direct"     // the client talks to the upstream itself
	kindFloor      = "floor"      // httputil.ReverseProxy with a buffer pool (bench/cmd/bareproxy)
	kindSwitchyard = "switchyard" // switchyard serve
	kindPeer       = "peer"       // another gateway, run from its published package
)

// Groups of targets: each group ends at one upstream listener.
const (
	groupH1  = "http1" // the loopback HTTP/1.1 upstream
	groupTLS = "tls"   // the same upstream over TLS with HTTP/2
)

// target is one way to the upstream: direct, or through a proxy process.
type target struct {
	name  string
	kind  string
	group string
	root  string // the API root, http://host:port
	// models is the model a request of each format names; a format absent is
	// not served by the target.
	models map[string]string
	key    string      // a client key (Switchyard's), or the upstream key (a peer forwards it)
	header http.Header // extra request headers (a peer's routing headers)
	proc   *process    // nil for direct
	admin  string      // Switchyard's admin root
	pprof  string      // the pprof root of a profiled Switchyard build
	client *http.Client
	tr     *http.Transport
	// counts of every response of every phase: the zero-defect target.
	counts *tally
	// agent is the agent-sized request of each format, for this target's model.
	agent map[string]agentBody
}

func newTarget(name, kind, group, root string, proc *process) *target {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1 << 16, // every connection of a phase stays warm for the next request
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &target{name: name, kind: kind, group: group, root: root, proc: proc, tr: tr, client: &http.Client{Transport: tr},
		counts: &tally{}, models: map[string]string{}, agent: map[string]agentBody{}}
}

// serves reports whether the target takes requests of format.
func (t *target) serves(format string) bool { return t.models[format] != "" }

// Counts tally the fate of responses. Every failure is one of: failed (no 200, a
// transport error before the body, a stream error event), cut (the body or stream
// ended early), corrupt (the bytes differ from what the upstream sent).
type Counts struct {
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	Failed   int64 `json:"failed"`
	Cut      int64 `json:"cut"`
	Corrupt  int64 `json:"corrupt"`
	// Example is the first failure seen, for the report.
	Example string `json:"example,omitempty"`
}

// Bad is the number of responses that were not delivered whole and intact.
func (c Counts) Bad() int64 { return c.Failed + c.Cut + c.Corrupt }

// tally counts outcomes from concurrent requests.
type tally struct {
	requests, ok, failed, cut, corrupt atomic.Int64
	example                            atomic.Pointer[string]
}

func (c *tally) add(o outcome) {
	c.requests.Add(1)
	switch o.kind {
	case okOutcome:
		c.ok.Add(1)
		return
	case failedOutcome:
		c.failed.Add(1)
	case cutOutcome:
		c.cut.Add(1)
	case corruptOutcome:
		c.corrupt.Add(1)
	}
	msg := o.err.Error()
	c.example.CompareAndSwap(nil, &msg)
}

func (c *tally) snapshot() Counts {
	out := Counts{Requests: c.requests.Load(), OK: c.ok.Load(), Failed: c.failed.Load(), Cut: c.cut.Load(),
		Corrupt: c.corrupt.Load()}
	if e := c.example.Load(); e != nil {
		out.Example = *e
	}
	return out
}

type outcomeKind int

const (
	okOutcome outcomeKind = iota
	failedOutcome
	cutOutcome
	corruptOutcome
)

type outcome struct {
	kind outcomeKind
	err  error
}

func failed(format string, args ...any) outcome {
	return outcome{failedOutcome, fmt.Errorf(format, args...)}
}
func cut(format string, args ...any) outcome { return outcome{cutOutcome, fmt.Errorf(format, args...)} }
func corrupt(format string, args ...any) outcome {
	return outcome{corruptOutcome, fmt.Errorf(format, args...)}
}

func (t *target) body(spec Spec, stream bool) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"model":"`...)
	b = append(b, t.models[formatChat]...)
	b = append(b, `","messages":[{"role":"system","content":"You are a benchmark."},{"role":"user","content":"`...)
	b = append(b, spec.Marker()...)
	b = append(b, `"}],"max_tokens":4096`...)
	if stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}')
}

func (t *target) post(ctx context.Context, spec Spec, stream bool) (*http.Response, error) {
	body := t.body(spec, stream)
	return t.send(ctx, formatChat, len(body), func() io.Reader { return bytes.NewReader(body) })
}

// send posts a request of format; body returns a new reader of its n bytes each
// time it is called (the transport reads it again to retry on a connection that
// the server closed while idle).
func (t *target) send(ctx context.Context, format string, n int, body func() io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.root+formatPath(format), body())
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(n)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body()), nil }
	req.Header.Set("Content-Type", "application/json")
	switch {
	case t.key == "":
	case format == formatMessages:
		// As Anthropic's SDKs authenticate.
		req.Header.Set("X-Api-Key", t.key)
	default:
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	if format == formatMessages {
		req.Header.Set("Anthropic-Version", "2023-06-01")
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	return t.client.Do(req)
}

// agentRequest sends the agent-sized request of format, with spec's marker,
// and checks its answer to the byte.
func (t *target) agentRequest(ctx context.Context, format string, spec Spec) outcome {
	a := t.agent[format]
	marker := spec.Marker()
	body, o := t.answer(t.send(ctx, format, a.size(len(marker)), func() io.Reader {
		return io.MultiReader(bytes.NewReader(a.head), strings.NewReader(marker), bytes.NewReader(a.tail))
	}))
	if o.kind == okOutcome && format == formatMessages {
		o = t.checkMessage(body, spec)
	} else if o.kind == okOutcome {
		o = t.checkCompletion(body, spec)
	}
	return t.count(ctx, o)
}

// count tallies an outcome: the harness's own cancellations are no one's failure.
func (t *target) count(ctx context.Context, o outcome) outcome {
	if o.kind == okOutcome || ctx.Err() == nil {
		t.counts.add(o)
	}
	return o
}

// answer reads a non-streamed answer, or says how it failed.
func (t *target) answer(resp *http.Response, err error) ([]byte, outcome) {
	if err != nil {
		return nil, failed("%s: %v", t.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, failed("%s: HTTP %d: %.200s", t.name, resp.StatusCode, body)
	}
	if err != nil {
		return nil, cut("%s: reading the body: %v", t.name, err)
	}
	return body, outcome{}
}

// checkMessage checks an Anthropic message: one text block carrying the content
// the upstream derived from the nonce, ended by end_turn.
func (t *target) checkMessage(body []byte, spec Spec) outcome {
	var doc struct {
		Type    string `json:"type"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return corrupt("%s: body is not a message: %v", t.name, err)
	}
	want := appendContent(nil, spec.Nonce, spec.Size)
	if doc.Type != "message" || len(doc.Content) != 1 || doc.Content[0].Type != "text" || doc.Content[0].Text != string(want) ||
		doc.StopReason != "end_turn" {
		return corrupt("%s: message differs from what the upstream sent: %.200s", t.name, body)
	}
	return outcome{}
}

// chat sends one non-streamed request and checks its answer to the byte.
func (t *target) chat(ctx context.Context, spec Spec) outcome {
	body, o := t.answer(t.post(ctx, spec, false))
	if o.kind == okOutcome {
		o = t.checkCompletion(body, spec)
	}
	return t.count(ctx, o)
}

// checkCompletion checks a chat completion: one choice carrying the content the
// upstream derived from the nonce, finished by stop.
func (t *target) checkCompletion(body []byte, spec Spec) outcome {
	var doc struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return corrupt("%s: body is not a chat completion: %v", t.name, err)
	}
	want := appendContent(nil, spec.Nonce, spec.Size)
	if len(doc.Choices) != 1 || doc.Choices[0].Message.Content != string(want) || doc.Choices[0].FinishReason != "stop" {
		return corrupt("%s: content differs from what the upstream sent", t.name)
	}
	return outcome{}
}

// streamTimes is what one stream's client saw, on the upstream's clock.
type streamTimes struct {
	firstToken, lastToken time.Duration // since the stream's intended start
	// delays of each content chunk: received minus sent, both on the upstream clock.
	delays []time.Duration
}

// stream sends one streamed request and checks every chunk: the nonce, the index
// sequence, the text, the finish reason, and data: [DONE] last. first is called
// once the first content chunk arrived (idle-stream counting).
func (t *target) stream(ctx context.Context, up *Upstream, spec Spec, intended int64, first func()) (streamTimes, outcome) {
	st, o := t.doStream(ctx, up, spec, intended, first)
	return st, t.count(ctx, o)
}

func (t *target) doStream(ctx context.Context, up *Upstream, spec Spec, intended int64, first func()) (streamTimes, outcome) {
	var st streamTimes
	resp, err := t.post(ctx, spec, true)
	if err != nil {
		return st, failed("%s: %v", t.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return st, failed("%s: HTTP %d: %.200s", t.name, resp.StatusCode, body)
	}
	br := bufio.NewReaderSize(resp.Body, 4096)
	next, finished, done := 0, false, false
	var chunk struct {
		Choices []struct {
			Delta struct {
				Content *string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Error json.RawMessage `json:"error"`
	}
	want := make([]byte, 0, chunkBytes+32)
	for {
		line, err := br.ReadSlice('\n')
		now := up.Now()
		if err != nil {
			if errors.Is(err, io.EOF) && done {
				break
			}
			if done {
				return st, corrupt("%s: bytes after [DONE]", t.name)
			}
			return st, cut("%s: stream ended after %d of %d chunks (done %v): %v", t.name, next, spec.Chunks, done, err)
		}
		line = bytes.TrimRight(line, "\r\n")
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue // blank lines between events, comments
		}
		if done {
			return st, corrupt("%s: an event after [DONE]", t.name)
		}
		if string(data) == "[DONE]" {
			done = true
			st.lastToken = time.Duration(now - intended)
			continue
		}
		chunk.Choices, chunk.Error = nil, nil
		if err := json.Unmarshal(data, &chunk); err != nil {
			return st, corrupt("%s: event is not JSON: %v: %.200s", t.name, err, data)
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" {
			return st, failed("%s: error event: %s", t.name, chunk.Error)
		}
		if len(chunk.Choices) == 0 {
			continue // a usage chunk
		}
		c := chunk.Choices[0]
		if c.FinishReason != nil {
			if *c.FinishReason != "stop" || next != spec.Chunks {
				return st, corrupt("%s: finish %q after %d of %d chunks", t.name, *c.FinishReason, next, spec.Chunks)
			}
			finished = true
		}
		if c.Delta.Content == nil || *c.Delta.Content == "" {
			continue
		}
		sent, err := checkChunk(*c.Delta.Content, spec.Nonce, next, want)
		if err != nil {
			return st, corrupt("%s: chunk %d: %v", t.name, next, err)
		}
		st.delays = append(st.delays, time.Duration(now-sent))
		if next == 0 {
			st.firstToken = time.Duration(now - intended)
			if first != nil {
				first()
			}
		}
		next++
	}
	if !finished || next != spec.Chunks {
		return st, cut("%s: %d of %d chunks, finish seen %v", t.name, next, spec.Chunks, finished)
	}
	return st, outcome{}
}

// checkChunk verifies one chunk's text and returns when it left the upstream.
func checkChunk(text string, nonce uint64, index int, scratch []byte) (int64, error) {
	// n<nonce>|i<index>|t<sent>|filler
	i := len("n") + len(strconv.FormatUint(nonce, 10)) + len("|i") + len(strconv.Itoa(index)) + len("|t")
	if len(text) < i {
		return 0, errors.New("chunk too short")
	}
	j := i
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	sent, err := strconv.ParseInt(text[i:j], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("no timestamp in %q", text)
	}
	if want := appendChunkText(scratch[:0], nonce, index, sent); string(want) != text {
		return 0, fmt.Errorf("got %q, want %q", text, want)
	}
	return sent, nil
}
