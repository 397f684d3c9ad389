package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/providers"
)

type sseEvent struct {
	typ  string
	data []byte
}

// parseSSE splits the builder's output into events, failing on any framing error.
func parseSSE(t testing.TB, b []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	for len(b) > 0 {
		end := bytes.Index(b, []byte("\n\n"))
		if end < 0 {
			t.Fatalf("unterminated event %q", b)
		}
		block := b[:end]
		b = b[end+2:]
		typ, data, ok := bytes.Cut(block, []byte("\n"))
		if !ok || !bytes.HasPrefix(typ, []byte("event: ")) || !bytes.HasPrefix(data, []byte("data: ")) {
			t.Fatalf("bad event framing %q", block)
		}
		out = append(out, sseEvent{typ: string(typ[7:]), data: data[6:]})
	}
	return out
}

// checkEvents decodes every event with the SDK's stream event union, checks that
// its type matches the SSE event name and that sequence numbers count from 0, and
// feeds the SDK's accumulator, whose reconstruction must match the final Response.
func checkEvents(t *testing.T, events []sseEvent, final *Response) []string {
	t.Helper()
	var types []string
	var acc sdk.ResponseAccumulator
	for i, e := range events {
		var u sdk.ResponseStreamEventUnion
		if err := json.Unmarshal(e.data, &u); err != nil {
			t.Fatalf("event %d (%s) does not decode: %v\n%s", i, e.typ, err, e.data)
		}
		if u.Type != e.typ || u.SequenceNumber != int64(i) {
			t.Fatalf("event %d: type %q seq %d, framed as %q", i, u.Type, u.SequenceNumber, e.typ)
		}
		if u.AsAny() == nil {
			t.Fatalf("event %d: the SDK does not know %q", i, u.Type)
		}
		var ws sdk.ResponsesServerEventUnion
		if err := json.Unmarshal(e.data, &ws); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(ws); err != nil {
			t.Fatalf("accumulator refused event %d (%s): %v\n%s", i, e.typ, err, e.data)
		}
		types = append(types, e.typ)
	}
	got, err := acc.ReconstructedResponse()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != final.ID || string(got.Status) != final.Status || got.OutputText() != final.OutputText() || len(got.Output) != len(final.Output) {
		t.Fatalf("accumulated %s %s %q (%d items), final %s %s %q (%d items)", got.ID, got.Status, got.OutputText(),
			len(got.Output), final.ID, final.Status, final.OutputText(), len(final.Output))
	}
	// Deltas must add up to the done events and the final items.
	snap := acc.Snapshot()
	for i, it := range final.Output {
		o := snap.Output[i]
		if o.ItemID != it.ID || o.Type != it.Type {
			t.Fatalf("item %d: accumulated %s %s, final %s %s", i, o.ItemID, o.Type, it.ID, it.Type)
		}
		if it.Type == ItemFunctionCall && (o.Arguments != it.Arguments || o.CallID != it.CallID || o.Name != it.Name) {
			t.Fatalf("call %d: accumulated %+v, final %+v", i, o, it)
		}
		if it.Type == ItemMessage && it.Content[0].Type == PartOutputText && o.Text[0] != it.Content[0].Text {
			t.Fatalf("message %d: accumulated %q, final %q", i, o.Text[0], it.Content[0].Text)
		}
	}
	return types
}

func streamBase() *Response {
	req, _ := DecodeCreate([]byte(`{"model":"gpt-4o","input":"hi","stream":true}`))
	return NewResponse(req, NewResponseID(), time.Unix(1700000000, 0))
}

func run(t *testing.T, b *StreamBuilder, chunks ...[]byte) []byte {
	t.Helper()
	out := append([]byte(nil), b.Start()...)
	for _, c := range chunks {
		ev, err := b.Chunk(c)
		if err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		out = append(out, ev...)
	}
	return out
}

func TestStreamText(t *testing.T) {
	enc := providers.NewStreamEncoder("chatcmpl-1", "gpt-4o", 1)
	b := NewStreamBuilder(streamBase())
	out := run(t, b,
		bytes.Clone(enc.Role()),
		bytes.Clone(enc.Text("Hel")),
		bytes.Clone(enc.Text("lo \"wörld\"\n\u2028")),
		bytes.Clone(enc.Finish(providers.FinishStop)),
		bytes.Clone(enc.Usage(providers.Usage{PromptTokens: 9, CompletionTokens: 4, TotalTokens: 13,
			PromptTokensDetails: &providers.PromptTokensDetails{CachedTokens: 2}})))
	end, final := b.Finish()
	out = append(out, end...)
	types := checkEvents(t, parseSSE(t, out), final)
	want := "response.created response.in_progress response.output_item.added response.content_part.added " +
		"response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done " +
		"response.output_item.done response.completed"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	if final.Status != ResponseCompleted || final.OutputText() != "Hello \"wörld\"\n\u2028" || final.CompletedAt == nil {
		t.Fatalf("final %+v", final)
	}
	if u := final.Usage; u.InputTokens != 9 || u.OutputTokens != 4 || u.TotalTokens != 13 || u.InputTokensDetails.CachedTokens != 2 {
		t.Fatalf("usage %+v", u)
	}
	var done sdk.ResponseCompletedEvent
	events := parseSSE(t, out)
	if err := json.Unmarshal(events[len(events)-1].data, &done); err != nil {
		t.Fatal(err)
	}
	if done.Response.Usage.InputTokensDetails.CachedTokens != 2 || done.Response.OutputText() != final.OutputText() {
		t.Fatalf("completed event %+v", done.Response.Usage)
	}
}

// Parallel tool calls, with their argument deltas interleaved as some upstreams send
// them: each call is its own output item, and the deltas land on the right one.
func TestStreamParallelToolCalls(t *testing.T) {
	enc := providers.NewStreamEncoder("chatcmpl-1", "m", 1)
	b := NewStreamBuilder(streamBase())
	out := run(t, b,
		bytes.Clone(enc.Role()),
		bytes.Clone(enc.Text("Checking.")),
		bytes.Clone(enc.ToolCallStart(0, "call_paris", "weather")),
		bytes.Clone(enc.ToolCallArgs(0, `{"city":`)),
		bytes.Clone(enc.ToolCallStart(1, "call_rome", "weather")),
		bytes.Clone(enc.ToolCallArgs(1, `{"city":"Rome"}`)),
		bytes.Clone(enc.ToolCallArgs(0, `"Paris"}`)),
		bytes.Clone(enc.Finish(providers.FinishToolCalls)))
	end, final := b.Finish()
	out = append(out, end...)
	types := checkEvents(t, parseSSE(t, out), final)
	want := "response.created response.in_progress " +
		"response.output_item.added response.content_part.added response.output_text.delta " +
		"response.output_text.done response.content_part.done response.output_item.done " +
		"response.output_item.added response.function_call_arguments.delta " +
		"response.output_item.added response.function_call_arguments.delta response.function_call_arguments.delta " +
		"response.function_call_arguments.done response.output_item.done " +
		"response.function_call_arguments.done response.output_item.done response.completed"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	if len(final.Output) != 3 {
		t.Fatalf("output %+v", final.Output)
	}
	paris, rome := final.Output[1], final.Output[2]
	if paris.CallID != "call_paris" || paris.Arguments != `{"city":"Paris"}` || rome.CallID != "call_rome" ||
		rome.Arguments != `{"city":"Rome"}` || !strings.HasPrefix(paris.ID, "fc_") || paris.ID == rome.ID {
		t.Fatalf("calls %+v %+v", paris, rome)
	}
	if final.Usage != nil {
		t.Fatalf("no usage chunk, yet usage %+v", final.Usage)
	}
}

func TestStreamRefusalAndLength(t *testing.T) {
	b := NewStreamBuilder(streamBase())
	out := run(t, b,
		[]byte(`{"choices":[{"index":0,"delta":{"role":"assistant","refusal":"I can't"}}]}`),
		[]byte(`{"choices":[{"index":0,"delta":{"refusal":" help."}}]}`),
		[]byte(`{"choices":[{"index":0,"delta":{"content":"But here"}}]}`),
		[]byte(`{"choices":[{"index":1,"delta":{"content":"another choice, ignored"}}]}`),
		[]byte(`{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`))
	end, final := b.Finish()
	out = append(out, end...)
	types := checkEvents(t, parseSSE(t, out), final)
	want := "response.created response.in_progress response.output_item.added " +
		"response.content_part.added response.refusal.delta response.refusal.delta " +
		"response.refusal.done response.content_part.done " +
		"response.content_part.added response.output_text.delta " +
		"response.output_text.done response.content_part.done response.output_item.done response.incomplete"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	m := final.Output[0]
	if final.Status != ResponseIncomplete || final.IncompleteDetails.Reason != "max_output_tokens" ||
		m.Status != StatusIncomplete || m.Content[0] != (Part{Type: PartRefusal, Text: "I can't help."}) ||
		m.Content[1].Text != "But here" {
		t.Fatalf("final %+v %+v", final, m)
	}
}

// An upstream that breaks after the stream was committed ends it with
// response.failed, carrying the partial output and the error.
func TestStreamFailure(t *testing.T) {
	enc := providers.NewStreamEncoder("chatcmpl-1", "m", 1)
	b := NewStreamBuilder(streamBase())
	out := run(t, b, bytes.Clone(enc.Text("partial")))
	if _, err := b.Chunk([]byte(`{"choices":[`)); err == nil {
		t.Fatal("a truncated chunk must be an error")
	}
	end, final := b.Fail(&providers.Error{Class: providers.ClassConnection, Message: "upstream connection reset", Err: providers.ErrTruncated})
	out = append(out, end...)
	events := parseSSE(t, out)
	types := checkEvents(t, events, final)
	if types[len(types)-1] != "response.failed" {
		t.Fatalf("events %v", types)
	}
	var failed sdk.ResponseFailedEvent
	if err := json.Unmarshal(events[len(events)-1].data, &failed); err != nil {
		t.Fatal(err)
	}
	r := failed.Response
	if r.Status != sdk.ResponseStatusFailed || r.Error.Code != "server_error" || r.Error.Message != "upstream connection reset" ||
		len(r.Output) != 1 || r.Output[0].Status != "incomplete" || r.OutputText() != "partial" {
		t.Fatalf("failed response %+v", r)
	}
	if _, err := b.Chunk(enc.Text("late")); err == nil {
		t.Fatal("a chunk after the end must be an error")
	}
	if again, same := b.Finish(); len(again) != 0 || same != final {
		t.Fatal("Finish after Fail must change nothing")
	}
}

func TestStreamRateLimitFailureCode(t *testing.T) {
	b := NewStreamBuilder(streamBase())
	_, final := b.Fail(&providers.Error{Class: providers.ClassRateLimited})
	if final.Error.Code != "rate_limit_exceeded" || final.Error.Message == "" {
		t.Fatalf("error %+v", final.Error)
	}
}

// Invalid UTF-8 from a pass-through upstream is replaced in the events exactly as in
// the final Response.
func TestStreamSanitisesInvalidUTF8(t *testing.T) {
	b := NewStreamBuilder(streamBase())
	out := run(t, b, []byte("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\xffb\"}}]}"))
	end, final := b.Finish()
	out = append(out, end...)
	checkEvents(t, parseSSE(t, out), final)
	if final.OutputText() != "a\ufffdb" {
		t.Fatalf("text %q", final.OutputText())
	}
}

// A stream whose final Response could not be stored ends with response.failed, never
// response.completed: the client must not hold the id of a response that does not
// exist. The answer's items and usage are still there.
func TestStreamNotStoredEndsFailed(t *testing.T) {
	enc := providers.NewStreamEncoder("chatcmpl-1", "m", 1)
	b := NewStreamBuilder(streamBase())
	out := run(t, b, bytes.Clone(enc.Text("all of it")), bytes.Clone(enc.Finish(providers.FinishStop)))
	storeDown := errors.New("state: store unavailable")
	var savedStatus string
	end, final, err := b.FinishSaved(func(r *Response) error { savedStatus = r.Status; return storeDown })
	if err != storeDown || savedStatus != StatusCompleted {
		t.Fatalf("save saw status %q, returned %v", savedStatus, err)
	}
	events := parseSSE(t, append(out, end...))
	types := checkEvents(t, events, final)
	if types[len(types)-1] != "response.failed" || slices.Contains(types, "response.completed") {
		t.Fatalf("events %v", types)
	}
	var failed sdk.ResponseFailedEvent
	if err := json.Unmarshal(events[len(events)-1].data, &failed); err != nil {
		t.Fatal(err)
	}
	if r := failed.Response; r.Status != sdk.ResponseStatusFailed || r.Error.Code != "server_error" || r.Error.Message != NotStored ||
		r.OutputText() != "all of it" || r.CompletedAt != 0 {
		t.Fatalf("failed response %s", events[len(events)-1].data)
	}
	if again, same, err := b.FinishSaved(func(*Response) error { t.Fatal("saved twice"); return nil }); len(again) != 0 || same != final || err != nil {
		t.Fatal("a second FinishSaved must change nothing")
	}
}
