package proxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/proxy"
)

func TestTracingSpansAndPropagation(t *testing.T) {
	exp := keptSpans{tracetest.NewInMemoryExporter()}
	e := newEnvWith(t, twoClouds, func(o *proxy.Options) { o.SpanExporter = exp }, "primary", "secondary")
	e.clouds["primary"].Fail(fakes.Fault{Status: 503, Times: 1})

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, e.base+"/chat/completions",
		strings.NewReader(`{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"trace me"}]}`))
	req.Header.Set("Traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if err := e.shutdown(); err != nil { // flushes the batcher
		t.Fatal(err)
	}

	var server *tracetest.SpanStub
	var attempts []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch s.SpanKind {
		case trace.SpanKindServer:
			s := s
			server = &s
		case trace.SpanKindClient:
			attempts = append(attempts, s)
		}
	}
	if server == nil || server.Name != "chat m" || server.SpanContext.TraceID().String() != clientTrace {
		t.Fatalf("request span: %+v", server)
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans, want 2 (a 503, then the standby)", len(attempts))
	}
	attrs := func(s tracetest.SpanStub) map[string]string {
		m := map[string]string{}
		for _, kv := range s.Attributes {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	first, second := attrs(attempts[0]), attrs(attempts[1])
	if first["switchyard.outcome"] != "unavailable" || second["switchyard.outcome"] != "success" ||
		second["gen_ai.system"] != "openai" || second["gen_ai.request.model"] != "s-model" ||
		second["gen_ai.request.max_tokens"] != "50" || second["gen_ai.usage.input_tokens"] == "" {
		t.Errorf("attempt attributes:\n%v\n%v", first, second)
	}
	for _, a := range attempts {
		if a.Parent.SpanID() != server.SpanContext.SpanID() {
			t.Error("attempt span is not a child of the request span")
		}
	}
	// The upstream received the attempt span's traceparent, in the client's trace.
	got := e.clouds["secondary"].Requests()[0].Header.Get("Traceparent")
	if !strings.Contains(got, clientTrace) || !strings.Contains(got, attempts[1].SpanContext.SpanID().String()) {
		t.Errorf("upstream traceparent %q", got)
	}
}

// keptSpans keeps its spans past Shutdown (the in-memory exporter forgets them),
// so a test can read what the proxy flushed when it stopped.
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }

func TestTraceparentPassedThroughWithTracingOff(t *testing.T) {
	e := newEnv(t, twoClouds, "primary", "secondary")
	req, _ := http.NewRequest(http.MethodPost, e.base+"/chat/completions",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req.Header.Set("Traceparent", tp)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := e.clouds["primary"].Requests()[0].Header.Get("Traceparent"); got != tp {
		t.Errorf("upstream traceparent %q, want the client's", got)
	}
}
