package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// Answer is the attempt that reached its first content: a whole response, or a
// stream whose first content chunk has arrived (with the chunks before it held
// back). Nothing has been sent to the client yet. Exactly one of Respond, Relay or
// Reject must follow.
type Answer struct {
	Target *policy.Target
	// Response is the whole answer of a non-streamed request; a dialect may replace
	// its Body with its own rendering before Respond.
	Response *providers.Response
	// Native is set when the target answered a Messages request natively: the
	// answer and its stream events are in the client's dialect already.
	Native bool
	stream providers.Stream
	held   []providers.Chunk
	// ended is set when the stream finished before any content (an empty answer).
	ended bool
	start time.Time
	ttft  time.Duration
	// report tells the breaker the attempt's outcome, once.
	report func(failure, ignore bool)
	// release ends the attempt's context; call it once the answer is relayed.
	release func()
	// span is the attempt's trace span (nil with tracing off).
	span trace.Span
	// ctx is the attempt's context: its cause tells the target's own deadlines
	// apart from the client's departure when the stream fails later.
	ctx context.Context
}

// Streaming reports whether the answer is a stream.
func (a *Answer) Streaming() bool { return a.Response == nil }

// abandon discards an answer that lost a hedge race.
func (a *Answer) abandon() {
	if a.stream != nil {
		a.stream.Close()
	}
	a.report(false, true)
	endAttemptSpan(a.span, providers.ClassCanceled.String(), nil, "")
	a.release()
}

// Reject discards an answer the dialect could not use (an upstream answer it cannot
// read): it counts against the target when healthFailure is set.
func (a *Answer) Reject(healthFailure bool) {
	if a.stream != nil {
		a.stream.Close()
	}
	a.report(healthFailure, !healthFailure)
	endAttemptSpan(a.span, providers.ClassDecode.String(), nil, "")
	a.release()
}

// attempt sends the work to t and waits for its first content, within t's first_byte
// and total timeouts. Failures are reported to t's breaker here; a success is
// reported once relayed (a stream may still fail).
func (x *Run) attempt(ctx context.Context, t *policy.Target) (*Answer, *providers.Error) {
	w := x.work.Load()
	if w == nil {
		return nil, errNotAdmitted // a hedged attempt starting after the other's stream was committed
	}
	report, err := t.Health.Allow()
	if err != nil {
		return nil, errNotAdmitted
	}
	x.dispatched.Add(1)
	start := time.Now()
	// Both of the target's timeouts cancel the attempt's one context with their
	// cause (classify names it): timers, not a context each, which every open
	// stream would hold. A total that the request's own deadline comes before is
	// left to it, as context.WithDeadline leaves it.
	actx, cancel := context.WithCancelCause(ctx)
	var total *time.Timer
	if d := t.Timeouts.Total; d > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > d {
			total = time.AfterFunc(d, func() { cancel(errAttemptTotal) })
		}
	}
	release := func() {
		if total != nil {
			total.Stop()
		}
		cancel(nil)
	}
	firstByte := time.AfterFunc(t.Timeouts.FirstByte, func() { cancel(errFirstByte) })
	span, header := x.attemptSpan(t, w)

	a := &Answer{Target: t, start: start, report: report, release: release, span: span, ctx: actx}
	var perr *providers.Error
	m := w.native(t)
	a.Native = m != nil
	switch {
	case w.Embed != nil:
		a.Response, perr = x.embed(actx, t, w.Embed, firstByte, header)
	case m != nil && w.Stream:
		perr = x.holdFirstContent(a, func() (providers.Stream, error) {
			return m.MessagesStream(actx, messagesCall(t, w.Messages, header))
		})
	case m != nil:
		a.Response, perr = x.messages(actx, m, t, messagesCall(t, w.Messages, header), firstByte)
	case w.Stream:
		perr = x.openStream(actx, t, w, a, header)
	default:
		a.Response, perr = x.chat(actx, t, w, firstByte, header)
	}
	if perr == nil && !firstByte.Stop() && a.stream != nil {
		// The deadline fired as the first content arrived: the context is canceled,
		// so the stream is unusable.
		a.stream.Close()
		perr = &providers.Error{Class: providers.ClassTimeout, Message: errFirstByte.Error()}
	}
	firstByte.Stop()
	elapsed := time.Since(start)
	if perr != nil {
		perr = classify(perr, ctx, actx, t)
		release()
		report(perr.Class.HealthFailure(), !perr.Class.HealthFailure())
		t.Health.Observe(false, elapsed, 0)
		x.observeAttempt(t, perr.Class.String(), perr.Status, elapsed)
		endAttemptSpan(span, perr.Class.String(), nil, "")
		return nil, perr
	}
	a.ttft = elapsed
	return a, nil
}

// chat sends a non-streamed request; the first byte is the response's first byte,
// seen through an httptrace hook so that a long generation is not cut by first_byte.
func (x *Run) chat(ctx context.Context, t *policy.Target, w *Work, firstByte *time.Timer, header http.Header) (*providers.Response, *providers.Error) {
	req, perr := w.request(t)
	if perr != nil {
		return nil, perr
	}
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { firstByte.Stop() }}
	resp, err := t.Provider.Chat(httptrace.WithClientTrace(ctx, trace),
		&providers.Call{Request: req, Model: t.Model, Header: header, HideReasoning: x.plan.Alias.HideReasoning})
	if err != nil {
		return nil, providers.AsError(err)
	}
	return resp, nil
}

func (x *Run) embed(ctx context.Context, t *policy.Target, work *providers.EmbedCall, firstByte *time.Timer, header http.Header) (*providers.Response, *providers.Error) {
	e, ok := t.Provider.(providers.Embedder)
	if !ok {
		return nil, &providers.Error{Class: providers.ClassNotFound, Message: fmt.Sprintf("provider %s does not serve embeddings", t.ProviderName)}
	}
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { firstByte.Stop() }}
	call := *work
	call.Model = t.Model
	call.Header = header
	resp, err := e.Embed(httptrace.WithClientTrace(ctx, trace), &call)
	if err != nil {
		return nil, providers.AsError(err)
	}
	return resp, nil
}

// messagesCall is the work's Messages request for t.
func messagesCall(t *policy.Target, work *providers.MessagesCall, header http.Header) *providers.MessagesCall {
	call := *work
	call.Model = t.Model
	call.Header = header
	return &call
}

// messages sends a Messages request natively; like chat, its first byte is the
// response's.
func (x *Run) messages(ctx context.Context, m providers.Messenger, t *policy.Target, call *providers.MessagesCall, firstByte *time.Timer) (*providers.Response, *providers.Error) {
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { firstByte.Stop() }}
	resp, err := m.Messages(httptrace.WithClientTrace(ctx, trace), call)
	if err != nil {
		return nil, providers.AsError(err)
	}
	return resp, nil
}

// openStream opens the upstream chat stream and holds it until its first content.
func (x *Run) openStream(ctx context.Context, t *policy.Target, w *Work, a *Answer, header http.Header) *providers.Error {
	req, perr := w.request(t)
	if perr != nil {
		return perr
	}
	return x.holdFirstContent(a, func() (providers.Stream, error) {
		return t.Provider.ChatStream(ctx, &providers.Call{Request: req, Model: t.Model, Header: header,
			HideReasoning: x.plan.Alias.HideReasoning})
	})
}

// holdFirstContent opens a stream and reads until its first content, holding back
// the chunks before it (a role, Azure's prompt filter results, message_start): until
// then nothing is sent, and a failure may still move to another target.
func (x *Run) holdFirstContent(a *Answer, open func() (providers.Stream, error)) *providers.Error {
	st, err := open()
	if err != nil {
		return providers.AsError(err)
	}
	for {
		c, err := st.Recv()
		if err == io.EOF {
			a.ended = true
			break
		}
		if err != nil {
			st.Close()
			return providers.AsError(err)
		}
		c.Data = append([]byte(nil), c.Data...) // valid until the next Recv otherwise
		a.held = append(a.held, c)
		if providers.CarriesContent(c) {
			break
		}
	}
	a.stream = st
	return nil
}

// classify names a failure by its cause: our own deadlines and the client's departure
// first (the transport error they provoke says only "connection closed"), then what
// the provider said.
func classify(e *providers.Error, reqCtx, attemptCtx context.Context, t *policy.Target) *providers.Error {
	if reqCtx.Err() != nil {
		if errors.Is(context.Cause(reqCtx), errRequestTimeout) {
			return &providers.Error{Class: providers.ClassTimeout, Err: e, Message: errRequestTimeout.Error()}
		}
		return &providers.Error{Class: providers.ClassCanceled, Err: e, Message: "client canceled the request"}
	}
	switch cause := context.Cause(attemptCtx); {
	case errors.Is(cause, errFirstByte):
		return &providers.Error{Class: providers.ClassTimeout, Err: e,
			Message: fmt.Sprintf("no first byte within %s", t.Timeouts.FirstByte)}
	case errors.Is(cause, errAttemptTotal):
		return &providers.Error{Class: providers.ClassTimeout, Err: e,
			Message: fmt.Sprintf("no answer within the target's total timeout %s", t.Timeouts.Total)}
	}
	return e
}

func (x *Run) observeAttempt(t *policy.Target, outcome string, status int, d time.Duration) {
	x.record(attemptEntry{Target: t.ID, Outcome: outcome, Status: status, Duration: d})
	m := x.e.metrics
	as := x.e.series.attempts.get(m, attemptKey{x.plan.Alias.Name, t.ProviderName, t.ID, outcome})
	as.attempts.Inc()
	as.duration.Observe(d.Seconds())
	if outcome == "decode" {
		m.DecodeErrors.WithLabelValues(t.ProviderName).Inc()
	}
}
