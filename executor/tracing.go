package executor

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/telemetry"
)

// StartSpan opens the request's server span, continuing the client's W3C trace.
func (e *Executor) StartSpan(r *http.Request, api string) *http.Request {
	if !e.tracing.Enabled {
		return r
	}
	ctx := e.tracing.Extract(r.Context(), r.Header)
	ctx, _ = e.tracing.Tracer.Start(ctx, api, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(telemetry.AttrOperation.String(api)))
	return r.WithContext(ctx)
}

// endSpan completes the request span with what the record learned.
func (rec *Record) endSpan() {
	span := trace.SpanFromContext(rec.r.Context())
	if !span.IsRecording() {
		return
	}
	if rec.Alias != "" {
		span.SetName(rec.API + " " + rec.Alias)
	}
	attrs := []attribute.KeyValue{telemetry.AttrAlias.String(rec.Alias), attribute.Int("http.response.status_code", rec.status)}
	if rec.target != nil {
		attrs = append(attrs, telemetry.AttrSystem.String(telemetry.GenAISystem(rec.target.ProviderType)),
			telemetry.AttrRequestModel.String(rec.target.Model), telemetry.AttrTarget.String(rec.target.ID))
	}
	if rec.Outcome.UsageKnown {
		attrs = append(attrs, telemetry.AttrInputTokens.Int(rec.Outcome.Usage.PromptTokens),
			telemetry.AttrOutputTokens.Int(rec.Outcome.Usage.CompletionTokens))
	}
	span.SetAttributes(attrs...)
	if rec.status >= 500 || rec.Outcome.StreamErr != nil {
		span.SetStatus(codes.Error, "request failed")
	}
	span.End()
}

// attemptSpan opens a client span for one upstream attempt and returns the headers
// to send upstream, carrying the span's traceparent. With tracing off the client's
// own trace headers are passed through.
func (x *Run) attemptSpan(t *policy.Target, w *Work) (trace.Span, http.Header) {
	if !x.e.tracing.Enabled {
		return nil, w.Header
	}
	op := w.operation()
	ctx, span := x.e.tracing.Tracer.Start(x.ctx, op+" "+t.Model, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			telemetry.AttrOperation.String(op),
			telemetry.AttrSystem.String(telemetry.GenAISystem(t.ProviderType)),
			telemetry.AttrProviderName.String(telemetry.GenAISystem(t.ProviderType)),
			telemetry.AttrRequestModel.String(t.Model),
			telemetry.AttrTarget.String(t.ID),
			telemetry.AttrAlias.String(x.plan.Alias.Name),
		))
	if req := w.Chat; req != nil {
		if req.MaxTokens > 0 {
			span.SetAttributes(telemetry.AttrMaxTokens.Int(req.MaxTokens))
		}
		if req.Temperature != nil {
			span.SetAttributes(telemetry.AttrTemperature.Float64(*req.Temperature))
		}
	}
	h := http.Header{}
	x.e.tracing.Inject(ctx, h)
	return span, h
}

// endAttemptSpan records an attempt's outcome on its span.
func endAttemptSpan(span trace.Span, outcome string, usage *providers.Usage, model string) {
	if span == nil {
		return
	}
	span.SetAttributes(telemetry.AttrOutcome.String(outcome))
	if usage != nil {
		span.SetAttributes(telemetry.AttrInputTokens.Int(usage.PromptTokens), telemetry.AttrOutputTokens.Int(usage.CompletionTokens))
	}
	if model != "" {
		span.SetAttributes(telemetry.AttrResponseModel.String(model))
	}
	if outcome != "success" {
		span.SetAttributes(telemetry.AttrErrorType.String(outcome))
		span.SetStatus(codes.Error, outcome)
	}
	span.End()
}
