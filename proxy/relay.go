package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// served is what the client got, for the access log and accounting.
type served struct {
	usage      providers.Usage
	usageKnown bool
	// firstToken is when the first content reached the client (streams).
	firstToken time.Time
	// streamErr is a failure after the stream was committed to the client.
	streamErr *providers.Error
	// clientGone is set when the client left during the relay.
	clientGone bool
	// contentChunks counts the content chunks relayed: the output estimate when a
	// stream ends before its usage (the client left, the upstream failed).
	contentChunks int
	cost          float64
	priced        bool
}

func (x *execution) setServedHeaders(h http.Header, p *prepared) {
	h.Set("X-Switchyard-Provider", p.target.ProviderName)
	h.Set("X-Switchyard-Model", p.target.Model)
	h.Set("X-Switchyard-Attempts", strconv.Itoa(x.count()))
}

// writeResponse sends a complete response and settles the attempt as a success.
func (x *execution) writeResponse(w http.ResponseWriter, p *prepared) served {
	defer p.release()
	t := p.target
	elapsed := time.Since(p.start)
	p.report(false, false)
	t.Health.Observe(true, elapsed, 0)
	x.observeAttempt(t, "success", http.StatusOK, elapsed)
	endAttemptSpan(p.span, "success", &p.resp.Usage, p.resp.Model)

	h := w.Header()
	x.setServedHeaders(h, p)
	usd, priced := x.price(t, p.resp.Usage)
	if priced {
		h.Set("X-Switchyard-Cost-Usd", strconv.FormatFloat(usd, 'f', -1, 64))
	}
	out := served{usage: p.resp.Usage, usageKnown: true, cost: usd, priced: priced}
	if x.beforeDone != nil {
		x.beforeDone(t, &out, p.resp.Body)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(p.resp.Body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(p.resp.Body)
	out.clientGone = err != nil
	return out
}

var (
	dataPrefix  = []byte("data: ")
	eventEnd    = []byte("\n\n")
	doneEvent   = []byte("data: [DONE]\n\n")
	sseHeaderCT = "text/event-stream; charset=utf-8"
)

// relayStream commits the stream to the client: held chunks first, then every
// upstream chunk as it arrives, each flushed at once. Once the first byte is sent
// nothing is retried: an upstream failure ends the stream with an OpenAI-style error
// event and counts against the target.
func (x *execution) relayStream(w http.ResponseWriter, p *prepared, sink streamSink) (out served) {
	defer p.release()
	defer func() { out.cost, out.priced = x.streamCost(p.target, &out) }()
	defer func() {
		if p.stream != nil {
			p.stream.Close()
		}
	}()
	t := p.target
	h := w.Header()
	x.setServedHeaders(h, p)
	h.Set("Content-Type", sseHeaderCT)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx and friends must not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	send := func(data []byte, usage *providers.Usage, usageOnly bool) error {
		if usage != nil {
			out.usage, out.usageKnown = *usage, true
		}
		if x.tap != nil {
			_ = x.tap.Add(data) // an error sticks; Completion reports it
		}
		if !usageOnly {
			if out.firstToken.IsZero() {
				out.firstToken = time.Now()
			}
			out.contentChunks++
		}
		if err := sink.chunk(w, data, usageOnly); err != nil {
			return err
		}
		return rc.Flush()
	}

	var err error
	for _, c := range p.held {
		if err = send(c.data, c.usage, c.usageOnly); err != nil {
			break
		}
	}
	if err == nil && !p.ended {
		for {
			var c providers.Chunk
			c, err = p.stream.Recv()
			if err != nil {
				break
			}
			if err = send(c.Data, c.Usage, c.UsageOnly); err != nil {
				break
			}
		}
	}
	if p.ended || errors.Is(err, io.EOF) {
		if x.beforeDone != nil {
			x.beforeDone(p.target, &out, nil)
		}
		werr := sink.done(w)
		if werr == nil {
			werr = rc.Flush()
		}
		out.clientGone = werr != nil
		x.streamSucceeded(p, &out)
		return out
	}
	var perr *providers.Error
	if !errors.As(err, &perr) {
		// A write to the client failed: the client left.
		out.clientGone = true
		p.report(false, true)
		x.observeAttempt(t, providers.ClassCanceled.String(), http.StatusOK, time.Since(p.start))
		endAttemptSpan(p.span, providers.ClassCanceled.String(), nil, "")
		return out
	}
	perr = classify(perr, x.reqCtx, x.reqCtx, t)
	if perr.Class == providers.ClassCanceled {
		out.clientGone = true
		p.report(false, true)
		x.observeAttempt(t, perr.Class.String(), http.StatusOK, time.Since(p.start))
		endAttemptSpan(p.span, perr.Class.String(), nil, "")
		return out
	}
	out.streamErr = perr
	p.report(perr.Class.HealthFailure(), !perr.Class.HealthFailure())
	t.Health.Observe(false, time.Since(p.start), 0)
	x.observeAttempt(t, perr.Class.String(), http.StatusOK, time.Since(p.start))
	endAttemptSpan(p.span, perr.Class.String(), nil, "")
	if sink.fail(w, perr) == nil {
		_ = rc.Flush()
	}
	return out
}

// streamSink renders a relayed stream in the client's protocol: chat completion
// chunks, or Responses API events.
type streamSink interface {
	// chunk writes one chunk; usage-only chunks reach it too, it decides.
	chunk(w io.Writer, data []byte, usageOnly bool) error
	// done writes the successful end of the stream.
	done(w io.Writer) error
	// fail writes the event that ends a failed stream.
	fail(w io.Writer, e *providers.Error) error
}

// chatSink writes chat.completion.chunk events, drops the usage chunk unless the
// client asked for it, and ends with data: [DONE].
type chatSink struct{ includeUsage bool }

func (c chatSink) chunk(w io.Writer, data []byte, usageOnly bool) error {
	if usageOnly && !c.includeUsage {
		return nil
	}
	return writeData(w, data)
}

func (chatSink) done(w io.Writer) error {
	_, err := w.Write(doneEvent)
	return err
}

func (chatSink) fail(w io.Writer, e *providers.Error) error {
	body, _ := json.Marshal(streamErrorDoc(e))
	return writeData(w, body)
}

// writeData writes one SSE data event without copying data.
func writeData(w io.Writer, data []byte) error {
	if _, err := w.Write(dataPrefix); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(eventEnd)
	return err
}

func (x *execution) streamSucceeded(p *prepared, out *served) {
	elapsed := time.Since(p.start)
	p.report(false, false)
	p.target.Health.Observe(true, elapsed, p.ttft)
	x.observeAttempt(p.target, "success", http.StatusOK, elapsed)
	var usage *providers.Usage
	if out.usageKnown {
		usage = &out.usage
	}
	endAttemptSpan(p.span, "success", usage, "")
}

// streamErrorDoc is the error event that ends a failed stream; OpenAI SDKs raise it
// as an error ("received error while streaming").
func streamErrorDoc(e *providers.Error) errorDoc {
	code := "upstream_error"
	if e.Class == providers.ClassTimeout {
		code = "upstream_timeout"
	}
	return (&apiError{Type: "server_error", Code: code,
		Message: "The upstream failed while streaming: " + describe(e)}).body()
}

// streamCost prices a relayed stream: from its usage, or, when it ended before its
// usage chunk, from the estimated prompt and the content chunks relayed (about a
// token each), so that a cancelled stream still counts against budgets.
func (x *execution) streamCost(t *policy.Target, out *served) (float64, bool) {
	u := out.usage
	if !out.usageKnown {
		u = providers.Usage{PromptTokens: x.plan.Estimate.PromptTokens, CompletionTokens: out.contentChunks}
	}
	return x.price(t, u)
}
