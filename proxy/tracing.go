package proxy

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/telemetry"
)

// startSpan opens the request's server span, continuing the client's W3C trace.
func (s *Server) startSpan(r *http.Request, kind string) *http.Request {
	if !s.tracing.Enabled {
		return r
	}
	ctx := s.tracing.Extract(r.Context(), r.Header)
	ctx, _ = s.tracing.Tracer.Start(ctx, kind, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(telemetry.AttrOperation.String(kind)))
	return r.WithContext(ctx)
}

// endSpan completes the request span with what the exchange learned.
func (e *exchange) endSpan() {
	span := trace.SpanFromContext(e.r.Context())
	if !span.IsRecording() {
		return
	}
	span.SetName(e.kind + " " + e.alias)
	attrs := []attribute.KeyValue{telemetry.AttrAlias.String(e.alias), attribute.Int("http.response.status_code", e.status)}
	if e.target != nil {
		attrs = append(attrs, telemetry.AttrSystem.String(telemetry.GenAISystem(e.target.ProviderType)),
			telemetry.AttrRequestModel.String(e.target.Model), telemetry.AttrTarget.String(e.target.ID))
	}
	if e.served.usageKnown {
		attrs = append(attrs, telemetry.AttrInputTokens.Int(e.served.usage.PromptTokens),
			telemetry.AttrOutputTokens.Int(e.served.usage.CompletionTokens))
	}
	span.SetAttributes(attrs...)
	if e.status >= 500 || e.served.streamErr != nil {
		span.SetStatus(codes.Error, "request failed")
	}
	span.End()
}

// attemptSpan opens a client span for one upstream attempt and returns the headers
// to send upstream, carrying the span's traceparent. With tracing off the client's
// own trace headers are passed through.
func (x *execution) attemptSpan(t *policy.Target) (trace.Span, http.Header) {
	if !x.s.tracing.Enabled {
		return nil, x.job.header
	}
	ctx, span := x.s.tracing.Tracer.Start(x.reqCtx, x.operation()+" "+t.Model, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			telemetry.AttrOperation.String(x.operation()),
			telemetry.AttrSystem.String(telemetry.GenAISystem(t.ProviderType)),
			telemetry.AttrProviderName.String(telemetry.GenAISystem(t.ProviderType)),
			telemetry.AttrRequestModel.String(t.Model),
			telemetry.AttrTarget.String(t.ID),
			telemetry.AttrAlias.String(x.plan.Alias.Name),
		))
	if req := x.job.chat; req != nil {
		if req.MaxTokens > 0 {
			span.SetAttributes(telemetry.AttrMaxTokens.Int(req.MaxTokens))
		}
		if req.Temperature != nil {
			span.SetAttributes(telemetry.AttrTemperature.Float64(*req.Temperature))
		}
	}
	h := http.Header{}
	x.s.tracing.Inject(ctx, h)
	return span, h
}

func (x *execution) operation() string {
	if x.job.embed != nil {
		return "embeddings"
	}
	return "chat"
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
