package executor

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// Outcome is what the client got, for the access log and accounting.
type Outcome struct {
	Usage      providers.Usage
	UsageKnown bool
	// FirstToken is when the first content reached the client (streams).
	FirstToken time.Time
	// StreamErr is a failure after the stream was committed to the client.
	StreamErr *providers.Error
	// ClientGone is set when the client left during the relay.
	ClientGone bool
	// contentChunks counts the content chunks relayed: the output estimate when a
	// stream ends before its usage (the client left, the upstream failed).
	contentChunks int
	Cost          float64
	Priced        bool
}

// Sink renders a relayed stream in the client's dialect: chat completion chunks,
// Responses API events, Anthropic Messages events.
type Sink interface {
	// Chunk writes one upstream chunk; usage-only chunks reach it too, it decides.
	Chunk(w io.Writer, c providers.Chunk) error
	// Done writes the successful end of the stream.
	Done(w io.Writer) error
	// Fail writes the event that ends a failed stream.
	Fail(w io.Writer, e *providers.Error) error
}

func (x *Run) setServedHeaders(h http.Header, a *Answer) {
	h.Set("X-Switchyard-Provider", a.Target.ProviderName)
	h.Set("X-Switchyard-Model", a.Target.Model)
	h.Set("X-Switchyard-Attempts", strconv.Itoa(x.count()))
}

// Respond sends a complete answer (a.Response.Body, as the dialect left it) and
// settles the attempt as a success.
func (x *Run) Respond(w http.ResponseWriter, a *Answer) {
	defer a.release()
	x.succeeded(a)
	out := &x.rec.Outcome
	h := w.Header()
	x.setServedHeaders(h, a)
	if out.Priced {
		h.Set("X-Switchyard-Cost-Usd", strconv.FormatFloat(out.Cost, 'f', -1, 64))
	}
	if x.BeforeDone != nil {
		x.BeforeDone(a.Target, out, a.Response.Body)
	}
	if x.snap.Config.Log.Bodies {
		x.rec.RespBody = a.Response.Body
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(a.Response.Body)))
	ArmWrite(http.NewResponseController(w), x.snap.Config.ClientTimeouts.Write)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(a.Response.Body)
	out.ClientGone = err != nil
}

// Withhold settles an answer the client does not get (the dialect could not keep
// what it promised, e.g. store a response): the upstream succeeded and was paid
// for, so the attempt is a success and its cost counts.
func (x *Run) Withhold(a *Answer) {
	defer a.release()
	x.succeeded(a)
}

// succeeded settles a complete answer's attempt as a success and records its
// usage and cost as the request's outcome.
func (x *Run) succeeded(a *Answer) {
	t := a.Target
	elapsed := time.Since(a.start)
	a.report(false, false)
	t.Health.Observe(true, elapsed, 0)
	x.observeAttempt(t, "success", http.StatusOK, elapsed)
	endAttemptSpan(a.span, "success", &a.Response.Usage, a.Response.Model)
	usd, priced := x.Price(t, a.Response.Usage)
	x.rec.Outcome = Outcome{Usage: a.Response.Usage, UsageKnown: true, Cost: usd, Priced: priced}
}

// SSEContentType is the Content-Type of every relayed stream.
const SSEContentType = "text/event-stream; charset=utf-8"

// Relay commits the stream to the client through sink: held chunks first, then every
// upstream chunk as it arrives, each flushed at once. Once the first byte is sent
// nothing is retried: an upstream failure ends the stream with the sink's error
// event and counts against the target.
func (x *Run) Relay(w http.ResponseWriter, a *Answer, sink Sink) {
	x.work.Store(nil) // committed: no attempt follows, and the request need not outlive its stream's start
	x.rec.returnBody()
	x.e.streams.Inc()
	defer x.e.streams.Dec()
	out := &x.rec.Outcome
	defer a.release()
	defer func() { out.Cost, out.Priced = x.StreamCost(a.Target, out) }()
	defer func() {
		if a.stream != nil {
			a.stream.Close()
		}
	}()
	t := a.Target
	h := w.Header()
	x.setServedHeaders(h, a)
	h.Set("Content-Type", SSEContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx and friends must not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	writeTimeout := x.snap.Config.ClientTimeouts.Write

	send := func(c providers.Chunk) error {
		ArmWrite(rc, writeTimeout)
		if c.Usage != nil {
			out.Usage, out.UsageKnown = *c.Usage, true
		}
		if x.Tap != nil {
			_ = x.Tap.Add(c.Data) // an error sticks; Completion reports it
		}
		if !c.UsageOnly {
			if out.FirstToken.IsZero() {
				out.FirstToken = time.Now()
			}
			out.contentChunks++
		}
		if err := sink.Chunk(w, c); err != nil {
			return err
		}
		return rc.Flush()
	}

	var err error
	for _, c := range a.held {
		if err = send(c); err != nil {
			break
		}
	}
	a.held = nil // sent: not kept for the stream's life
	if err == nil && !a.ended {
		for {
			var c providers.Chunk
			c, err = a.stream.Recv()
			if err != nil {
				break
			}
			if err = send(c); err != nil {
				break
			}
		}
	}
	if a.ended || errors.Is(err, io.EOF) {
		if x.BeforeDone != nil {
			x.BeforeDone(a.Target, out, nil)
		}
		ArmWrite(rc, writeTimeout)
		werr := sink.Done(w)
		if werr == nil {
			werr = rc.Flush()
		}
		out.ClientGone = werr != nil
		x.streamSucceeded(a, out)
		return
	}
	var perr *providers.Error
	if !errors.As(err, &perr) {
		// A write to the client failed: the client left.
		out.ClientGone = true
		a.report(false, true)
		x.observeAttempt(t, providers.ClassCanceled.String(), http.StatusOK, time.Since(a.start))
		endAttemptSpan(a.span, providers.ClassCanceled.String(), nil, "")
		return
	}
	perr = classify(perr, x.ctx, a.ctx, t)
	if perr.Class == providers.ClassCanceled {
		out.ClientGone = true
		a.report(false, true)
		x.observeAttempt(t, perr.Class.String(), http.StatusOK, time.Since(a.start))
		endAttemptSpan(a.span, perr.Class.String(), nil, "")
		return
	}
	out.StreamErr = perr
	a.report(perr.Class.HealthFailure(), !perr.Class.HealthFailure())
	t.Health.Observe(false, time.Since(a.start), 0)
	x.observeAttempt(t, perr.Class.String(), http.StatusOK, time.Since(a.start))
	endAttemptSpan(a.span, perr.Class.String(), nil, "")
	ArmWrite(rc, writeTimeout)
	if sink.Fail(w, perr) == nil {
		_ = rc.Flush()
	}
}

// ArmWrite gives the next write to the client d to complete: a client that stops
// reading is cut, releasing the handler, the upstream stream and their buffers.
// Writers without deadlines (tests' recorders) ignore it.
func ArmWrite(rc *http.ResponseController, d time.Duration) {
	_ = rc.SetWriteDeadline(time.Now().Add(d))
}

func (x *Run) streamSucceeded(a *Answer, out *Outcome) {
	elapsed := time.Since(a.start)
	a.report(false, false)
	a.Target.Health.Observe(true, elapsed, a.ttft)
	x.observeAttempt(a.Target, "success", http.StatusOK, elapsed)
	var usage *providers.Usage
	if out.UsageKnown {
		usage = &out.Usage
	}
	endAttemptSpan(a.span, "success", usage, "")
}

// StreamCost prices a relayed stream: from its usage, or, when it ended before its
// usage chunk, from the estimated prompt and the content chunks relayed (about a
// token each), so that a cancelled stream still counts against budgets.
func (x *Run) StreamCost(t *policy.Target, out *Outcome) (float64, bool) {
	u := out.Usage
	if !out.UsageKnown {
		u = providers.Usage{PromptTokens: x.plan.Estimate.PromptTokens, CompletionTokens: out.contentChunks}
	}
	return x.Price(t, u)
}
