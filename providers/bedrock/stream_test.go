package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

var eventStreamHeader = http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}}

// recorded is a ConverseStream response written down as its events, the form of
// testdata/*.events.json.
type recorded struct {
	JSONTool string `json:"jsonTool"`
	Events   []struct {
		Event     string          `json:"event"`
		Exception string          `json:"exception"`
		Payload   json.RawMessage `json:"payload"`
		// Partial sends only the first half of the frame: the connection died in it.
		Partial bool `json:"partial"`
	} `json:"events"`
}

// encodeFrame encodes one event-stream message as Bedrock sends it, with the
// SDK's encoder.
func encodeFrame(t testing.TB, event, exception string, payload []byte) []byte {
	t.Helper()
	msg := eventstream.Message{Payload: payload}
	if exception != "" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(exception))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(event))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	}
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, msg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (r *recorded) body(t testing.TB) []byte {
	var out []byte
	for _, ev := range r.Events {
		f := encodeFrame(t, ev.Event, ev.Exception, ev.Payload)
		if ev.Partial {
			f = f[:len(f)/2]
		}
		out = append(out, f...)
	}
	return out
}

// openStream answers a ConverseStream call with body and returns the stream,
// with a fixed id and time so the output can be compared.
func openStream(t testing.TB, fx *fixture, body []byte, jsonTool string) (*stream, error) {
	t.Helper()
	fx.status, fx.header, fx.body = 200, eventStreamHeader, body
	s, err := fx.p.ChatStream(context.Background(), chatCall(t, sonnet, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		return nil, err
	}
	st := s.(*stream)
	st.tr.enc = providers.NewStreamEncoder("chatcmpl-test", sonnet, 1700000000)
	st.tr.jsonTool = jsonTool
	return st, nil
}

// transcript writes what a stream yields, one line per chunk, then how it ended.
func transcript(s providers.Stream) []byte {
	var b bytes.Buffer
	for {
		c, err := s.Recv()
		if err != nil {
			var pe *providers.Error
			switch {
			case err == io.EOF:
				b.WriteString("end: EOF\n")
			case errors.As(err, &pe):
				fmt.Fprintf(&b, "end: error class=%s status=%d code=%q truncated=%v message=%q\n",
					pe.Class, pe.Status, pe.Code, errors.Is(err, providers.ErrTruncated), pe.Message)
			default:
				fmt.Fprintf(&b, "end: unclassified error %T %v\n", err, err)
			}
			s.Close()
			return b.Bytes()
		}
		if c.UsageOnly {
			fmt.Fprintf(&b, "usage: %s\n", c.Data)
			if c.Usage == nil {
				b.WriteString("usage: missing Chunk.Usage\n")
			}
			continue
		}
		fmt.Fprintf(&b, "data: %s\n", c.Data)
	}
}

// TestStreamGolden replays each testdata/*.events.json, framed by the SDK's
// encoder, through the provider's stream, and compares the chunks with *.sse.
func TestStreamGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.events.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	fx := newFixture(t, 200, eventStreamHeader, nil)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".events.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var rec recorded
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatal(err)
			}
			s, err := openStream(t, fx, rec.body(t), rec.JSONTool)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".sse", transcript(s))
		})
	}
}

func TestStreamToolIndexesCountToolBlocksOnly(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join("testdata", "stream_parallel_tools.events.json"))
	var rec recorded
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	s, err := openStream(t, newFixture(t, 200, eventStreamHeader, nil), rec.body(t), "")
	if err != nil {
		t.Fatal(err)
	}
	data, chunks, err := drain(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	role, text, calls, finish := assemble(t, data)
	// Bedrock's blocks 1 and 2 are OpenAI's tool calls 0 and 1.
	if role != "assistant" || text != "Checking both." || finish != "tool_calls" || len(calls) != 2 ||
		calls[0].ID != "tooluse_paris" || calls[0].Function.Arguments != `{"city":"Paris"}` ||
		calls[1].ID != "tooluse_rome" || calls[1].Function.Arguments != `{"city":"Rome"}` {
		t.Errorf("%q %q %q %+v", role, text, finish, calls)
	}
	if u := chunks[len(chunks)-1]; !u.UsageOnly || u.Usage.TotalTokens != 80 {
		t.Errorf("usage chunk %+v", u)
	}
}

// FuzzStreamEvent sends one arbitrary event (or, with a leading '!', exception)
// between a valid start and end through the stream: whatever the payload, no
// panic, and the stream ends with io.EOF or an *Error.
func FuzzStreamEvent(f *testing.F) {
	f.Add("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"hi"}}`))
	f.Add("contentBlockDelta", []byte(`{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{"}}}`))
	f.Add("contentBlockStart", []byte(`{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"answer"}}}`))
	f.Add("contentBlockStart", []byte(`{"start":{"image":{}}}`))
	f.Add("messageStop", []byte(`{"stopReason":"malformed_model_output"}`))
	f.Add("metadata", []byte(`{"usage":{"inputTokens":-1}}`))
	f.Add("!throttlingException", []byte(`{"message":"slow down"}`))
	f.Add("!somethingNew", []byte(`not json`))
	f.Add("unknown", []byte(`[]`))
	fx := newFixture(f, 200, eventStreamHeader, nil)
	start := encodeFrame(f, "messageStart", "", []byte(`{"role":"assistant"}`))
	end := append(encodeFrame(f, "messageStop", "", []byte(`{"stopReason":"end_turn"}`)),
		encodeFrame(f, "metadata", "", []byte(`{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`))...)
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		exception := ""
		if rest, ok := strings.CutPrefix(event, "!"); ok {
			event, exception = "", rest
		}
		if len(event)+len(exception) > 200 || len(payload) > 1<<16 {
			return // header values are bounded by the framing itself
		}
		body := append(append(append([]byte(nil), start...), encodeFrame(t, event, exception, payload)...), end...)
		s, err := openStream(t, fx, body, "answer")
		if err != nil {
			t.Fatalf("stream refused: %v", err)
		}
		checkEnd(t, s)
	})
}

// FuzzStreamBody sends arbitrary bytes as the whole event-stream body.
func FuzzStreamBody(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.events.json"))
	for _, in := range inputs {
		raw, _ := os.ReadFile(in)
		var rec recorded
		if json.Unmarshal(raw, &rec) == nil {
			f.Add(rec.body(f))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 1, 2, 3, 4})
	fx := newFixture(f, 200, eventStreamHeader, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := openStream(t, fx, body, "")
		if err != nil {
			t.Fatalf("stream refused: %v", err)
		}
		checkEnd(t, s)
	})
}

func checkEnd(t *testing.T, s providers.Stream) {
	t.Helper()
	defer s.Close()
	for range 10000 {
		c, err := s.Recv()
		if err == io.EOF {
			return
		}
		if err != nil {
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Class == 0 {
				t.Fatalf("unclassified stream error %T %v", err, err)
			}
			return
		}
		if !json.Valid(c.Data) {
			t.Fatalf("chunk is not JSON: %s", c.Data)
		}
	}
	t.Fatal("stream never ended")
}

// BenchmarkStreamChunk measures the translation of one decoded text delta into a
// chat.completion.chunk.
func BenchmarkStreamChunk(b *testing.B) {
	tr := translator{enc: providers.NewStreamEncoder("chatcmpl-0123456789abcdef01234567", sonnet, 1700000000), roleSent: true}
	ev := &event{kind: evDelta, text: []byte("The quick brown fox jumps over the lazy dog. ")}
	b.ReportAllocs()
	for b.Loop() {
		c, st, err := tr.translate(ev)
		if err != nil || st != stepEmit || len(c.Data) == 0 {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkStreamToolArgs is the same for a tool-argument fragment.
func BenchmarkStreamToolArgs(b *testing.B) {
	tr := translator{enc: providers.NewStreamEncoder("chatcmpl-0123456789abcdef01234567", sonnet, 1700000000), roleSent: true,
		blocks: []toolBlock{{block: 0, tool: 0}, {block: 2, tool: 1}}}
	ev := &event{kind: evDelta, index: 2, toolInput: true, text: []byte(`{"city": "Par`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, st, err := tr.translate(ev); err != nil || st != stepEmit {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkStreamEndToEnd measures one event from the wire to a chunk: reading
// the event-stream message off the response body, decoding its payload, and the
// translation. The body holds b.N deltas as Bedrock frames them (with its "p"
// padding); the request that opens the stream is amortized over them.
func BenchmarkStreamEndToEnd(b *testing.B) {
	delta := encodeFrame(b, "contentBlockDelta", "", []byte(`{"contentBlockIndex":0,"delta":{"text":"The quick brown fox jumps over the lazy dog. "},"p":"abcdefgh"}`))
	n := b.N
	body := make([]byte, 0, len(delta)*n+512)
	body = append(body, encodeFrame(b, "messageStart", "", []byte(`{"role":"assistant"}`))...)
	for range n {
		body = append(body, delta...)
	}
	body = append(body, encodeFrame(b, "messageStop", "", []byte(`{"stopReason":"end_turn"}`))...)
	body = append(body, encodeFrame(b, "metadata", "", []byte(`{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`))...)
	fx := newFixture(b, 200, eventStreamHeader, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(delta)))
	b.ResetTimer()
	s, err := openStream(b, fx, body, "")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for {
		if _, err := s.Recv(); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			return
		}
	}
}

func TestStreamFailuresAreClassified(t *testing.T) {
	start := encodeFrame(t, "messageStart", "", []byte(`{"role":"assistant"}`))
	var errMsg eventstream.Message
	errMsg.Headers.Set(":message-type", eventstream.StringValue("error"))
	errMsg.Headers.Set(":error-code", eventstream.StringValue("InternalFailure"))
	errMsg.Headers.Set(":error-message", eventstream.StringValue("An internal error occurred."))
	var oddMsg eventstream.Message
	oddMsg.Headers.Set(":message-type", eventstream.StringValue("telemetry"))
	corrupt := encodeFrame(t, "contentBlockDelta", "", []byte(`{"contentBlockIndex":0,"delta":{"text":"x"}}`))
	corrupt[len(corrupt)-6] ^= 0x20
	fx := newFixture(t, 200, eventStreamHeader, nil)
	for _, tc := range []struct {
		name  string
		body  []byte
		class providers.Class
		code  string
	}{
		{"error message", encodeMessage(t, errMsg), providers.ClassUnavailable, "InternalFailure"},
		{"unknown exception", encodeFrame(t, "", "somethingNewException", []byte(`{"message":"new"}`)), providers.ClassInternal, "SomethingNewException"},
		{"daily quota exception", encodeFrame(t, "", "throttlingException", []byte(`{"message":"Too many tokens per day, please wait before trying again."}`)), providers.ClassQuota, "ThrottlingException"},
		{"unknown message type", encodeMessage(t, oddMsg), providers.ClassDecode, ""},
		{"corrupt message", corrupt, providers.ClassConnection, ""},
		{"not an event stream", []byte(`{"output":{"message":{"role":"assistant","content":[]}}}`), providers.ClassConnection, ""},
		{"malformed delta", encodeFrame(t, "contentBlockDelta", "", []byte(`{"contentBlockIndex":"zero","delta":{"text":"x"}}`)), providers.ClassDecode, ""},
		{"malformed stop", encodeFrame(t, "messageStop", "", []byte(`{"stopReason":7}`)), providers.ClassDecode, ""},
		{"tool input for a block never started", encodeFrame(t, "contentBlockDelta", "", []byte(`{"contentBlockIndex":4,"delta":{"toolUse":{"input":"{"}}}`)), providers.ClassDecode, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := openStream(t, fx, append(append([]byte(nil), start...), tc.body...), "")
			if err != nil {
				t.Fatal(err)
			}
			data, _, err := drain(t, s)
			e := asError(t, err)
			if len(data) != 1 || e.Class != tc.class || e.Code != tc.code || errors.Is(err, providers.ErrTruncated) {
				t.Errorf("%d chunks, then %+v", len(data), e)
			}
		})
	}
}

func TestStreamRefusesOtherMediaTypes(t *testing.T) {
	closed := false
	fx := newFixture(t, 200, jsonHeader, okConverse)
	fx.p.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: jsonHeader.Clone(), Request: r,
			Body: closeFunc{Reader: bytes.NewReader(okConverse), close: func() { closed = true }}}, nil
	})
	_, err := fx.p.ChatStream(context.Background(), chatCall(t, sonnet, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if e := asError(t, err); e.Class != providers.ClassDecode || !strings.Contains(e.Message, "application/json") || !closed {
		t.Errorf("got %+v, body closed %v", e, closed)
	}
}

type closeFunc struct {
	io.Reader
	close func()
}

func (c closeFunc) Close() error { c.close(); return nil }

func TestFinishedStreamsGiveTheirConnectionBack(t *testing.T) {
	// A stream read to its end leaves its connection to the next request: after
	// the terminal event the body is read to its end, here a moment later.
	raw, err := os.ReadFile(filepath.Join("testdata", "stream_text.events.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recorded
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	body := rec.body(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		_, _ = w.Write(body)
		http.NewResponseController(w).Flush()
		time.Sleep(20 * time.Millisecond) // the end of the chunked body comes later
	}))
	defer srv.Close()
	p := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret, BaseURL: srv.URL,
		HTTPClient: providers.NewHTTPClient(time.Second)})
	var reused []bool
	for range 3 {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }})
		s, err := p.ChatStream(ctx, chatCall(t, sonnet, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hello"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := drain(t, s); err != io.EOF {
			t.Fatal(err)
		}
	}
	if len(reused) != 3 || !reused[1] || !reused[2] {
		t.Errorf("connections reused: %v", reused)
	}
}

func TestCloseDuringRecv(t *testing.T) {
	// Close may come from another goroutine while Recv waits for the next event. The
	// next event never comes: only Close can end the wait.
	f := newFake(t, fakes.BedrockOptions{})
	f.SetChunkDelay(time.Hour)
	p, _ := fakeProvider(t, f)
	s, err := p.ChatStream(context.Background(), chatCall(t, sonnet, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil { // the role chunk
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { s.Close() })
	_, err = s.Recv()
	if e := asError(t, err); e.Class != providers.ClassConnection {
		t.Errorf("after Close: %+v", e)
	}
}
