package anthropic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"

	"github.com/switchyard/switchyard/providers"
)

func readChunks(t testing.TB, file string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		out = append(out, line)
	}
	return out
}

func testOptions() StreamOptions {
	return StreamOptions{ID: "msg_test", Model: "claude-alias", InputTokens: 1234}
}

// translate runs chunks through a translator and finishes the stream.
func translate(t testing.TB, chunks [][]byte) []byte {
	t.Helper()
	tr := NewStreamTranslator(testOptions())
	var out []byte
	for _, c := range chunks {
		b, err := tr.Chunk(c)
		if err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		out = append(out, b...)
	}
	return append(out, tr.Finish()...)
}

// accumulate reads a stream as the official SDK does.
func accumulate(t testing.TB, sse []byte) (sdk.Message, error) {
	t.Helper()
	res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(sse))}
	stream := ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(res), nil)
	var m sdk.Message
	for stream.Next() {
		if err := m.Accumulate(stream.Current()); err != nil {
			return m, err
		}
	}
	return m, stream.Err()
}

// TestStreamGolden translates each testdata/*.chunks (one chat.completion.chunk
// per line) into the events of *.sse, which the official SDK must accumulate
// into a message.
func TestStreamGolden(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.chunks"))
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".chunks")
		t.Run(name, func(t *testing.T) {
			out := translate(t, readChunks(t, in))
			golden(t, name+".sse", out)
			if err := wellFormed(out, true); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if _, err := accumulate(t, out); err != nil {
				t.Fatalf("the SDK: %v", err)
			}
		})
	}
}

func TestStreamAsTheSDKSeesIt(t *testing.T) {
	msg := func(name string) sdk.Message {
		t.Helper()
		m, err := accumulate(t, translate(t, readChunks(t, filepath.Join("testdata", name+".chunks"))))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	text := msg("text")
	if text.ID != "msg_test" || text.Model != "claude-alias" || text.Content[0].Text != "Hello \"world\"\né😀!" ||
		text.StopReason != sdk.StopReasonEndTurn {
		t.Errorf("text %+v", text)
	}
	// message_delta's exact usage replaces message_start's estimate.
	if u := text.Usage; u.InputTokens != 50 || u.CacheReadInputTokens != 1000 || u.CacheCreationInputTokens != 150 || u.OutputTokens != 4 {
		t.Errorf("usage %+v", u)
	}
	th := msg("thinking")
	if len(th.Content) != 3 || th.Content[0].AsThinking().Thinking != "Let me think." || th.Content[0].AsThinking().Signature != "EqQBCgIYAhIM+/==" ||
		th.Content[1].AsRedactedThinking().Data != "EmwKAhgB" || th.Content[2].Text != "42." {
		t.Errorf("thinking %+v", th.Content)
	}
	tools := msg("parallel_tools")
	if tools.StopReason != sdk.StopReasonToolUse || len(tools.Content) != 3 {
		t.Fatalf("tools %+v", tools)
	}
	a, b := tools.Content[1].AsToolUse(), tools.Content[2].AsToolUse()
	if a.ID != "call_a" || a.Name != "get_weather" || string(a.Input) != `{"city":"Paris"}` ||
		b.ID != "call_b" || string(b.Input) != `{"tz":"CET"}` {
		t.Errorf("tool uses %+v %+v", a, b)
	}
	one := msg("tools_one_chunk")
	if len(one.Content) != 2 || string(one.Content[0].AsToolUse().Input) != `{"x":1}` || one.Content[1].AsToolUse().Name != "b" {
		t.Errorf("one chunk %+v", one.Content)
	}
	if r := msg("refusal"); r.StopReason != sdk.StopReasonRefusal || r.Content[0].Text != "I can't help with that." {
		t.Errorf("refusal %+v", r)
	}
	if l := msg("length"); l.StopReason != sdk.StopReasonMaxTokens || l.Usage.InputTokens != 1234 {
		t.Errorf("length %+v", l)
	}
}

// TestStreamFailAfterStart: a failure after the first event is an error event,
// which the SDK raises with Anthropic's type.
func TestStreamFailAfterStart(t *testing.T) {
	tr := NewStreamTranslator(testOptions())
	out, err := tr.Chunk(readChunks(t, filepath.Join("testdata", "text.chunks"))[1])
	if err != nil || !tr.Started() {
		t.Fatal(err)
	}
	out = append(bytes.Clone(out), tr.Fail(FromProvider(&providers.Error{Class: providers.ClassUnavailable, Message: "upstream reset"}))...)
	if tr.Finish() != nil {
		t.Fatal("events after the error")
	}
	if err := wellFormed(out, false); err != nil {
		t.Fatal(err)
	}
	res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(out)), Request: &http.Request{Method: "POST"}}
	stream := ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(res), nil)
	for stream.Next() {
	}
	var apiErr *sdk.Error
	if !errors.As(stream.Err(), &apiErr) || apiErr.Type() != TypeOverloaded {
		t.Fatalf("the SDK raised %v", stream.Err())
	}
}

// TestStreamWriteMatchesChunks: the raw SSE of the same chunks, cut anywhere,
// translates to the same events.
func TestStreamWriteMatchesChunks(t *testing.T) {
	for _, name := range []string{"text", "thinking", "parallel_tools"} {
		chunks := readChunks(t, filepath.Join("testdata", name+".chunks"))
		want := translate(t, chunks)
		var raw []byte
		for _, c := range chunks {
			raw = append(raw, "data: "...)
			raw = append(raw, c...)
			raw = append(raw, "\r\n\r\n"...)
		}
		raw = append(raw, ": keep-alive\n\ndata: [DONE]\n\n"...)
		for _, size := range []int{1, 7, 64, len(raw)} {
			tr := NewStreamTranslator(testOptions())
			var got []byte
			for i := 0; i < len(raw); i += size {
				out, err := tr.Write(raw[i:min(i+size, len(raw))])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, out...)
			}
			got = append(got, tr.Finish()...)
			if !bytes.Equal(got, want) {
				t.Errorf("%s in pieces of %d:\n%s\nwant\n%s", name, size, got, want)
			}
		}
	}
}

func TestStreamRefusesReopenedToolCall(t *testing.T) {
	tr := NewStreamTranslator(testOptions())
	for i, c := range []string{
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}}]}`,
	} {
		_, err := tr.Chunk([]byte(c))
		var pe *providers.Error
		if i < 2 && err != nil || i == 2 && (!errors.As(err, &pe) || pe.Class != providers.ClassDecode) {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
}

// wellFormed checks an event sequence as the SDKs read it: message_start first;
// blocks opened with indexes 0, 1, 2..., one at a time, each closed with its
// own index, deltas only for the open block; then message_delta and
// message_stop last (complete), or an error event last (failed).
func wellFormed(sse []byte, complete bool) error {
	type event struct {
		name string
		data map[string]any
	}
	var events []event
	sc := bufio.NewScanner(bytes.NewReader(sse))
	sc.Buffer(nil, 1<<24)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				return fmt.Errorf("event %s: %v", name, err)
			}
			if d["type"] != name {
				return fmt.Errorf("event %s has type %v", name, d["type"])
			}
			events = append(events, event{name, d})
		case line != "":
			return fmt.Errorf("stray line %q", line)
		}
	}
	if len(events) == 0 {
		return errors.New("no events")
	}
	last := events[len(events)-1].name
	if !complete {
		if last != "error" {
			return fmt.Errorf("a failed stream ends with %s", last)
		}
		events = events[:len(events)-1]
		if len(events) == 0 {
			return nil
		}
	}
	if events[0].name != "message_start" {
		return fmt.Errorf("first event %s", events[0].name)
	}
	open, next, stopped := -1, 0, false
	for i, e := range events[1:] {
		idx := -1
		if v, ok := e.data["index"].(float64); ok {
			idx = int(v)
		}
		switch e.name {
		case "content_block_start":
			if open >= 0 || idx != next || stopped {
				return fmt.Errorf("event %d: start of %d (open %d, next %d)", i+1, idx, open, next)
			}
			open, next = idx, next+1
		case "content_block_delta":
			if idx != open || open < 0 {
				return fmt.Errorf("event %d: delta for %d (open %d)", i+1, idx, open)
			}
		case "content_block_stop":
			if idx != open || open < 0 {
				return fmt.Errorf("event %d: stop of %d (open %d)", i+1, idx, open)
			}
			open = -1
		case "message_delta":
			if open >= 0 || stopped {
				return fmt.Errorf("event %d: message_delta with block %d open", i+1, open)
			}
			stopped = true
		case "message_stop":
			if !stopped || i+2 != len(events) {
				return fmt.Errorf("event %d: message_stop out of place", i+1)
			}
		case "ping":
		default:
			return fmt.Errorf("event %d: %s", i+1, e.name)
		}
	}
	if complete && (last != "message_stop" || !stopped) {
		return fmt.Errorf("a complete stream ends with %s", last)
	}
	return nil
}

// FuzzStreamTranslator feeds arbitrary chunk sequences (one per line): the events
// are always well formed, whether the stream finishes or fails on a chunk it
// cannot read, and a finished stream is one the official SDK accumulates.
func FuzzStreamTranslator(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.chunks"))
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"x"}},{"index":0}]}}]}`))
	f.Fuzz(func(t *testing.T, lines []byte) {
		tr := NewStreamTranslator(testOptions())
		var out []byte
		failed := false
		for _, line := range bytes.Split(lines, []byte("\n")) {
			b, err := tr.Chunk(line)
			if err != nil {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Class != providers.ClassDecode {
					t.Fatalf("error %T %v", err, err)
				}
				out = append(out, tr.Fail(FromProvider(pe))...)
				failed = true
				break
			}
			out = append(out, b...)
		}
		if !failed {
			out = append(out, tr.Finish()...)
		}
		if err := wellFormed(out, !failed); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !failed {
			if _, err := accumulate(t, out); err != nil {
				t.Fatalf("the SDK: %v\n%s", err, out)
			}
		}
	})
}

// FuzzStreamOps builds well-formed chunk sequences from arbitrary bytes (each
// byte one delta: text, reasoning, a signature, a redacted block, a refusal, a
// tool call start or arguments for tool index b%3, a finish, usage), so that the
// fuzzer explores block transitions rather than JSON syntax. Every sequence the
// translator accepts must come out well formed and accumulate in the SDK with
// every text and tool input intact.
func FuzzStreamOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{1, 1, 2, 0, 0, 5, 8, 5, 8, 11, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tr := NewStreamTranslator(testOptions())
		var out []byte
		var text strings.Builder
		started := map[int]bool{}
		for i, op := range ops {
			var delta string
			switch op % 12 {
			case 0:
				delta = fmt.Sprintf(`{"content":"t%d "}`, i)
				text.WriteString(fmt.Sprintf("t%d ", i))
			case 1:
				delta = fmt.Sprintf(`{"reasoning_content":"r%d"}`, i)
			case 2:
				delta = `{"thinking_blocks":[{"type":"thinking","signature":"sig"}]}`
			case 3:
				delta = `{"thinking_blocks":[{"type":"redacted_thinking","data":"xx"}]}`
			case 4:
				delta = `{"refusal":"no"}`
				text.WriteString("no")
			case 5, 6, 7:
				k := int(op/12) % 3
				if started[k] {
					delta = fmt.Sprintf(`{"tool_calls":[{"index":%d,"function":{"arguments":"{}"}}]}`, k)
				} else {
					started[k] = true
					delta = fmt.Sprintf(`{"tool_calls":[{"index":%d,"id":"c%d","function":{"name":"f%d","arguments":""}}]}`, k, k, k)
				}
			case 8:
				delta = `{}`
			default:
				chunk := `{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`
				if op%12 == 9 {
					chunk = `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
				}
				b, err := tr.Chunk([]byte(chunk))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b...)
				continue
			}
			b, err := tr.Chunk([]byte(`{"choices":[{"index":0,"delta":` + delta + `}]}`))
			if err != nil {
				// A tool call's arguments after another block began: refused.
				out = append(out, tr.Fail(FromProvider(providers.AsError(err)))...)
				if err := wellFormed(out, false); err != nil {
					t.Fatal(err)
				}
				return
			}
			out = append(out, b...)
		}
		out = append(out, tr.Finish()...)
		if err := wellFormed(out, true); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		m, err := accumulate(t, out)
		if err != nil {
			t.Fatalf("the SDK: %v\n%s", err, out)
		}
		var got strings.Builder
		for _, c := range m.Content {
			got.WriteString(c.Text)
		}
		if got.String() != text.String() {
			t.Fatalf("text %q, want %q", got.String(), text.String())
		}
	})
}

// BenchmarkStreamTextDelta is the translated stream's hot path: one text chunk
// in, one content_block_delta out.
func BenchmarkStreamTextDelta(b *testing.B) {
	tr := NewStreamTranslator(testOptions())
	chunk := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"hello "},"finish_reason":null}]}`)
	if _, err := tr.Chunk(chunk); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Chunk(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzStreamWrite is differential: the raw SSE of chunk lines, cut at arbitrary
// places and fed to Write, translates to exactly what Chunk makes of the lines.
func FuzzStreamWrite(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.chunks"))
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b, uint8(7))
	}
	f.Fuzz(func(t *testing.T, lines []byte, cut uint8) {
		var want, raw []byte
		ref := NewStreamTranslator(testOptions())
		refFailed := false
		for _, line := range bytes.Split(lines, []byte("\n")) {
			line = bytes.TrimRight(line, "\r")
			if len(bytes.TrimSpace(line)) == 0 || bytes.Equal(bytes.TrimSpace(line), []byte("[DONE]")) {
				continue // Write skips empty data and [DONE]
			}
			raw = append(append(append(raw, "data: "...), line...), "\n\n"...)
			if refFailed {
				continue
			}
			out, err := ref.Chunk(line)
			if err != nil {
				refFailed = true
				continue
			}
			want = append(want, out...)
		}
		tr := NewStreamTranslator(testOptions())
		var got []byte
		step := int(cut)%61 + 1
		failed := false
		for i := 0; i < len(raw) && !failed; i += step {
			out, err := tr.Write(raw[i:min(i+step, len(raw))])
			got = append(got, out...)
			failed = err != nil
		}
		if failed != refFailed || !bytes.Equal(got, want) {
			t.Fatalf("Write (failed %v)\n%s\nChunk (failed %v)\n%s", failed, got, refFailed, want)
		}
	})
}
