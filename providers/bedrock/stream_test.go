package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/switchyard/switchyard/providers"
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

// frame encodes one event-stream message as Bedrock sends it.
func frame(t testing.TB, event, exception string, payload []byte) []byte {
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
		f := frame(t, ev.Event, ev.Exception, ev.Payload)
		if ev.Partial {
			f = f[:len(f)/2]
		}
		out = append(out, f...)
	}
	return out
}

// openStream runs body through the SDK's ConverseStream and our stream, with a
// fixed id and time so the output can be compared.
func openStream(t testing.TB, fx *fixture, body []byte, jsonTool string) (*stream, error) {
	t.Helper()
	fx.status, fx.header, fx.body = 200, eventStreamHeader, body
	out, err := fx.p.client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(sonnet),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}},
		ownDecoder)
	if err != nil {
		return nil, err
	}
	return newStream(out.GetStream(), sonnet, jsonTool, "chatcmpl-test", 1700000000), nil
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

// TestStreamGolden replays each testdata/*.events.json through the SDK's event
// stream reader and the translation, and compares the chunks with *.sse.
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
// between a valid start and end through the SDK's reader and the translation:
// whatever the payload, no panic, and the stream ends with io.EOF or an *Error.
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
	start := frame(f, "messageStart", "", []byte(`{"role":"assistant"}`))
	end := append(frame(f, "messageStop", "", []byte(`{"stopReason":"end_turn"}`)),
		frame(f, "metadata", "", []byte(`{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`))...)
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		exception := ""
		if rest, ok := strings.CutPrefix(event, "!"); ok {
			event, exception = "", rest
		}
		if len(event)+len(exception) > 200 || len(payload) > 1<<16 {
			return // header values are bounded by the framing itself
		}
		body := append(append(append([]byte(nil), start...), frame(t, event, exception, payload)...), end...)
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

// BenchmarkStreamChunk measures the translation of one streamed text delta into
// a chat.completion.chunk (the SDK has decoded the event already).
func BenchmarkStreamChunk(b *testing.B) {
	tr := translator{enc: providers.NewStreamEncoder("chatcmpl-0123456789abcdef01234567", sonnet, 1700000000), roleSent: true}
	ev := &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
		ContentBlockIndex: aws.Int32(0), Delta: &types.ContentBlockDeltaMemberText{Value: "The quick brown fox jumps over the lazy dog. "}}}
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
	ev := &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
		ContentBlockIndex: aws.Int32(2), Delta: &types.ContentBlockDeltaMemberToolUse{Value: types.ToolUseBlockDelta{Input: aws.String(`{"city": "Par`)}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, st, err := tr.translate(ev); err != nil || st != stepEmit {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkStreamEndToEnd measures one event from the wire to a chunk: the SDK's
// event-stream decoding and JSON deserialization (on its reader goroutines, with
// its channel hand-offs) plus the translation.
func BenchmarkStreamEndToEnd(b *testing.B) {
	delta := frame(b, "contentBlockDelta", "", []byte(`{"contentBlockIndex":0,"delta":{"text":"The quick brown fox jumps over the lazy dog. "},"p":"abcdefgh"}`))
	n := b.N
	body := make([]byte, 0, len(delta)*n+512)
	body = append(body, frame(b, "messageStart", "", []byte(`{"role":"assistant"}`))...)
	for range n {
		body = append(body, delta...)
	}
	body = append(body, frame(b, "messageStop", "", []byte(`{"stopReason":"end_turn"}`))...)
	body = append(body, frame(b, "metadata", "", []byte(`{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`))...)
	fx := newFixture(b, 200, eventStreamHeader, nil)
	b.ReportAllocs()
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
