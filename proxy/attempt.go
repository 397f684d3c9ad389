package proxy

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

var (
	errFirstByte      = errors.New("no first byte within the first_byte timeout")
	errAttemptTotal   = errors.New("attempt exceeded the target's total timeout")
	errRequestTimeout = errors.New("request exceeded its total timeout")
)

// prepared is an attempt that reached its first content: a whole response, or a
// stream whose first content chunk has arrived (with the chunks before it held back).
// Nothing has been sent to the client yet.
type prepared struct {
	target *policy.Target
	resp   *providers.Response
	stream providers.Stream
	held   []heldChunk
	// ended is set when the stream finished before any content (an empty answer).
	ended bool
	start time.Time
	ttft  time.Duration
	// report tells the breaker the attempt's outcome, once.
	report func(failure, ignore bool)
	// release ends the attempt's context; call it once the stream is relayed.
	release func()
	// span is the attempt's trace span (nil with tracing off).
	span trace.Span
}

type heldChunk struct {
	data      []byte
	usage     *providers.Usage
	usageOnly bool
}

// abandon discards a prepared attempt that lost a hedge race.
func (p *prepared) abandon() {
	if p.stream != nil {
		p.stream.Close()
	}
	p.report(false, true)
	endAttemptSpan(p.span, providers.ClassCanceled.String(), nil, "")
	p.release()
}

// attempt sends the job to t and waits for its first content, within t's first_byte
// and total timeouts. Failures are reported to t's breaker here; a success is
// reported once relayed (a stream may still fail).
func (x *execution) attempt(ctx context.Context, t *policy.Target) (*prepared, *providers.Error) {
	report, err := t.Health.Allow()
	if err != nil {
		return nil, errNotAdmitted
	}
	x.dispatched.Add(1)
	start := time.Now()
	actx, cancel := context.WithCancelCause(ctx)
	var stopTotal context.CancelFunc = func() {}
	if t.Timeouts.Total > 0 {
		actx, stopTotal = context.WithTimeoutCause(actx, t.Timeouts.Total, errAttemptTotal)
	}
	release := func() { stopTotal(); cancel(nil) }
	firstByte := time.AfterFunc(t.Timeouts.FirstByte, func() { cancel(errFirstByte) })
	span, header := x.attemptSpan(t)

	p := &prepared{target: t, start: start, report: report, release: release, span: span}
	var perr *providers.Error
	switch {
	case x.job.embed != nil:
		p.resp, perr = x.embed(actx, t, firstByte, header)
	case x.job.stream:
		perr = x.openStream(actx, t, p, header)
	default:
		p.resp, perr = x.chat(actx, t, firstByte, header)
	}
	if perr == nil && !firstByte.Stop() && p.stream != nil {
		// The deadline fired as the first content arrived: the context is canceled,
		// so the stream is unusable.
		p.stream.Close()
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
	p.ttft = elapsed
	return p, nil
}

// chat sends a non-streamed request; the first byte is the response's first byte,
// seen through an httptrace hook so that a long generation is not cut by first_byte.
func (x *execution) chat(ctx context.Context, t *policy.Target, firstByte *time.Timer, header http.Header) (*providers.Response, *providers.Error) {
	req, perr := x.job.request(t)
	if perr != nil {
		return nil, perr
	}
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { firstByte.Stop() }}
	resp, err := t.Provider.Chat(httptrace.WithClientTrace(ctx, trace),
		&providers.Call{Request: req, Model: t.Model, Header: header})
	if err != nil {
		return nil, providers.AsError(err)
	}
	return resp, nil
}

func (x *execution) embed(ctx context.Context, t *policy.Target, firstByte *time.Timer, header http.Header) (*providers.Response, *providers.Error) {
	e, ok := t.Provider.(providers.Embedder)
	if !ok {
		return nil, &providers.Error{Class: providers.ClassNotFound, Message: fmt.Sprintf("provider %s does not serve embeddings", t.ProviderName)}
	}
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { firstByte.Stop() }}
	call := *x.job.embed
	call.Model = t.Model
	call.Header = header
	resp, err := e.Embed(httptrace.WithClientTrace(ctx, trace), &call)
	if err != nil {
		return nil, providers.AsError(err)
	}
	return resp, nil
}

// openStream opens the upstream stream and reads until its first content chunk,
// holding back the chunks before it (role, Azure's prompt filter results).
func (x *execution) openStream(ctx context.Context, t *policy.Target, p *prepared, header http.Header) *providers.Error {
	req, perr := x.job.request(t)
	if perr != nil {
		return perr
	}
	st, err := t.Provider.ChatStream(ctx, &providers.Call{Request: req, Model: t.Model, Header: header})
	if err != nil {
		return providers.AsError(err)
	}
	for {
		c, err := st.Recv()
		if err == io.EOF {
			p.ended = true
			break
		}
		if err != nil {
			st.Close()
			return providers.AsError(err)
		}
		p.held = append(p.held, heldChunk{data: append([]byte(nil), c.Data...), usage: c.Usage, usageOnly: c.UsageOnly})
		if !c.UsageOnly && providers.ChunkHasContent(c.Data) {
			break
		}
	}
	p.stream = st
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

func (x *execution) observeAttempt(t *policy.Target, outcome string, status int, d time.Duration) {
	x.record(attemptRecord{Target: t.ID, Outcome: outcome, Status: status, Duration: d})
	m := x.s.metrics
	m.Attempts.WithLabelValues(x.plan.Alias.Name, t.ProviderName, t.ID, outcome).Inc()
	m.AttemptDuration.WithLabelValues(t.ProviderName, t.ID, outcome).Observe(d.Seconds())
	if outcome == "decode" {
		m.DecodeErrors.WithLabelValues(t.ProviderName).Inc()
	}
}
