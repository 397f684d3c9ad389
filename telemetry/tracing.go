package telemetry

import (
	"context"
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchyard/switchyard/config"
)

// GenAI semantic-convention attributes
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/). gen_ai.system
// is the name in the conventions most backends index today; gen_ai.provider.name is
// its successor, sent as well.
const (
	AttrSystem        = attribute.Key("gen_ai.system")
	AttrProviderName  = attribute.Key("gen_ai.provider.name")
	AttrOperation     = attribute.Key("gen_ai.operation.name")
	AttrRequestModel  = attribute.Key("gen_ai.request.model")
	AttrResponseModel = attribute.Key("gen_ai.response.model")
	AttrMaxTokens     = attribute.Key("gen_ai.request.max_tokens")
	AttrTemperature   = attribute.Key("gen_ai.request.temperature")
	AttrInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	AttrOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	AttrErrorType     = attribute.Key("error.type")
	// Switchyard's own: the alias the client named, the target and attempt outcome.
	AttrAlias   = attribute.Key("switchyard.alias")
	AttrTarget  = attribute.Key("switchyard.target")
	AttrOutcome = attribute.Key("switchyard.outcome")
)

// GenAISystem is the semantic-convention name of a provider type.
func GenAISystem(providerType string) string {
	switch providerType {
	case "azure":
		return "azure.ai.openai"
	case "bedrock":
		return "aws.bedrock"
	case "gemini":
		return "gcp.gemini"
	}
	return providerType // openai, anthropic
}

// Tracing is the process's tracer: a real one exporting over OTLP when enabled, a
// no-op one otherwise (it costs nothing on the hot path).
type Tracing struct {
	Tracer     trace.Tracer
	Enabled    bool
	propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
}

// NewTracing builds tracing from the configuration. exporter, when not nil,
// replaces the OTLP exporter (tests use an in-memory one).
func NewTracing(cfg config.Tracing, version string, exporter sdktrace.SpanExporter) (*Tracing, error) {
	if !cfg.Enabled && exporter == nil {
		return &Tracing{Tracer: noop.NewTracerProvider().Tracer("switchyard"), propagator: propagation.TraceContext{},
			shutdown: func(context.Context) error { return nil }}, nil
	}
	if exporter == nil {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(cfg.Endpoint)}
		var err error
		if exporter, err = otlptracehttp.New(context.Background(), opts...); err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
	}
	res := resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return &Tracing{Tracer: tp.Tracer("github.com/switchyard/switchyard"), Enabled: true,
		propagator: propagation.TraceContext{}, shutdown: tp.Shutdown}, nil
}

// Extract continues the client's W3C trace (traceparent, tracestate), if any.
func (t *Tracing) Extract(ctx context.Context, h http.Header) context.Context {
	return t.propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject writes the current span's traceparent into headers sent upstream.
func (t *Tracing) Inject(ctx context.Context, h http.Header) {
	t.propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Shutdown flushes pending spans.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }
