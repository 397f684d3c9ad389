package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchyard/switchyard/providers"
)

// drain reads a stream to its end: the chunks, then how it ended.
func drain(s providers.Stream) ([]providers.Chunk, error) {
	var out []providers.Chunk
	for i := 0; i < 10000; i++ {
		c, err := s.Recv()
		if err != nil {
			return out, err
		}
		c.Data = append([]byte(nil), c.Data...)
		out = append(out, c)
	}
	return out, errors.New("stream did not end")
}

// transcript is the readable record of a translated stream: one chunk per line,
// then how the stream ended.
func transcript(chunks []providers.Chunk, end error) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		if c.UsageOnly {
			b.WriteString("usage-only ")
		}
		b.Write(stable(c.Data))
		b.WriteByte('\n')
	}
	var e *providers.Error
	switch {
	case errors.Is(end, io.EOF):
		b.WriteString("end: EOF\n")
	case errors.As(end, &e):
		fmt.Fprintf(&b, "end: %s error, truncated=%v: %s\n", e.Class, errors.Is(end, providers.ErrTruncated), e.Message)
	default:
		fmt.Fprintf(&b, "end: %v\n", end)
	}
	return b.Bytes()
}

func streamFile(t testing.TB, name string, tr translation) providers.Stream {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return newStream(io.NopCloser(bytes.NewReader(raw)), tr)
}

// TestStreamGolden: each testdata/<case>.sse (an Anthropic stream as sent on the
// wire) becomes testdata/<case>.chunks (the chat.completion.chunks, then the end).
func TestStreamGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		t.Run(name, func(t *testing.T) {
			chunks, end := drain(streamFile(t, name+".sse", translation{jsonTool: strings.HasPrefix(name, "json_")}))
			for _, c := range chunks {
				if !json.Valid(c.Data) {
					t.Fatalf("invalid chunk JSON: %s", c.Data)
				}
			}
			golden(t, name+".chunks", transcript(chunks, end))
		})
	}
}

// chunkOf decodes one chunk.
func chunkOf(t *testing.T, c providers.Chunk) providers.ChatChunk {
	t.Helper()
	var cc providers.ChatChunk
	if err := json.Unmarshal(c.Data, &cc); err != nil {
		t.Fatalf("%v: %s", err, c.Data)
	}
	return cc
}

func TestStreamText(t *testing.T) {
	chunks, end := drain(streamFile(t, "text.sse", translation{}))
	if !errors.Is(end, io.EOF) {
		t.Fatalf("end %v, want io.EOF after message_stop", end)
	}
	first := chunkOf(t, chunks[0])
	if first.Choices[0].Delta.Role != "assistant" || first.ID != "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY" || first.Model != "claude-sonnet-4-5-20250929" {
		t.Fatalf("first chunk %s", chunks[0].Data)
	}
	var text strings.Builder
	for _, c := range chunks {
		if cc := chunkOf(t, c); len(cc.Choices) > 0 && cc.Choices[0].Delta.Content != nil {
			text.WriteString(*cc.Choices[0].Delta.Content)
		}
	}
	if want := "Hello \"world\"\né😀!"; text.String() != want {
		t.Fatalf("text %q, want %q", text.String(), want)
	}
	last := chunks[len(chunks)-1]
	if !last.UsageOnly || last.Usage == nil || last.Usage.PromptTokens != 25 || last.Usage.CompletionTokens != 15 {
		t.Fatalf("last chunk %+v %s", last.Usage, last.Data)
	}
	if fin := chunkOf(t, chunks[len(chunks)-2]); *fin.Choices[0].FinishReason != "stop" {
		t.Fatalf("finish %s", chunks[len(chunks)-2].Data)
	}
}

func TestStreamParallelToolCalls(t *testing.T) {
	chunks, end := drain(streamFile(t, "parallel_tools.sse", translation{}))
	if !errors.Is(end, io.EOF) {
		t.Fatal(end)
	}
	// Reassemble the calls as an OpenAI client does, by tool call index.
	type call struct{ id, name, args string }
	calls := map[int]*call{}
	for _, c := range chunks {
		cc := chunkOf(t, c)
		if len(cc.Choices) == 0 {
			continue
		}
		for _, tc := range cc.Choices[0].Delta.ToolCalls {
			k := *tc.Index
			if calls[k] == nil {
				if tc.ID == "" || tc.Function.Name == "" {
					t.Fatalf("tool call %d began without its id and name: %s", k, c.Data)
				}
				calls[k] = &call{id: tc.ID, name: tc.Function.Name}
			}
			calls[k].args += tc.Function.Arguments
		}
	}
	// OpenAI's index counts tool calls (0, 1), not Anthropic's blocks (1, 2).
	if len(calls) != 2 || calls[0] == nil || calls[1] == nil {
		t.Fatalf("calls %v", calls)
	}
	if calls[0].args != `{"city": "Paris"}` || calls[1].args != `{"city": "Rome"}` || calls[1].id != "toolu_02" {
		t.Fatalf("calls %+v %+v", *calls[0], *calls[1])
	}
	fin := chunkOf(t, chunks[len(chunks)-2])
	u := chunks[len(chunks)-1].Usage
	if *fin.Choices[0].FinishReason != "tool_calls" || u.PromptTokens != 472+1024 || u.CachedTokens() != 1024 || u.CompletionTokens != 89 {
		t.Fatalf("finish %s usage %+v", chunks[len(chunks)-2].Data, u)
	}
}

func TestStreamErrorEvent(t *testing.T) {
	chunks, end := drain(streamFile(t, "error_midstream.sse", translation{}))
	var e *providers.Error
	if !errors.As(end, &e) || e.Class != providers.ClassUnavailable || e.Type != "overloaded_error" || e.Message != "Overloaded" {
		t.Fatalf("end %#v, want an unavailable overloaded_error", end)
	}
	if len(chunks) != 2 { // role, "Once upon"
		t.Fatalf("chunks before the error: %d", len(chunks))
	}
}

func TestStreamTruncated(t *testing.T) {
	_, end := drain(streamFile(t, "truncated.sse", translation{}))
	var e *providers.Error
	if !errors.As(end, &e) || e.Class != providers.ClassConnection || !errors.Is(end, providers.ErrTruncated) {
		t.Fatalf("end %v, want a connection error wrapping ErrTruncated", end)
	}
}

func TestStreamJSONTool(t *testing.T) {
	chunks, end := drain(streamFile(t, "json_tool.sse", translation{jsonTool: true}))
	if !errors.Is(end, io.EOF) {
		t.Fatal(end)
	}
	var text strings.Builder
	for _, c := range chunks {
		cc := chunkOf(t, c)
		if len(cc.Choices) == 0 {
			continue
		}
		if len(cc.Choices[0].Delta.ToolCalls) > 0 {
			t.Fatalf("JSON mode answer leaked as a tool call: %s", c.Data)
		}
		if d := cc.Choices[0].Delta.Content; d != nil {
			text.WriteString(*d)
		}
		if f := cc.Choices[0].FinishReason; f != nil && *f != "stop" {
			t.Fatalf("finish %q, want stop", *f)
		}
	}
	if text.String() != `{"color": "teal"}` {
		t.Fatalf("text %q", text.String())
	}
}

func TestStreamRejectsOutOfOrder(t *testing.T) {
	for name, body := range map[string]string{
		"delta before message_start": "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
		"tool input outside a tool":  "event: message_start\ndata: {\"message\":{}}\n\nevent: content_block_delta\ndata: {\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n",
		"block index out of range":   "event: message_start\ndata: {\"message\":{}}\n\nevent: content_block_delta\ndata: {\"index\":99999,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
		"malformed delta":            "event: message_start\ndata: {\"message\":{}}\n\nevent: content_block_delta\ndata: {\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\q\"}}\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, end := drain(newStream(io.NopCloser(strings.NewReader(body)), translation{}))
			var e *providers.Error
			if !errors.As(end, &e) || e.Class != providers.ClassDecode {
				t.Fatalf("end %v, want a decode error", end)
			}
		})
	}
}

// TestUnquoteMatchesEncodingJSON: the hand-written string decoder agrees with
// encoding/json on every escape form, surrogate pairs and lone halves included.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{`""`, `"plain"`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ude00x"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\uD83D\uDE00"`} {
		checkUnquote(t, []byte(in))
	}
}

func checkUnquote(t *testing.T, in []byte) {
	t.Helper()
	in = bytes.Trim(in, " \t\r\n") // jsonfield hands values over without surrounding space
	var want string
	wantErr := json.Unmarshal(in, &want)
	s := &stream{}
	got, err := s.unquote(in)
	if wantErr != nil {
		return // the hand decoder may accept more (raw control bytes); never less
	}
	if err != nil {
		t.Fatalf("unquote(%s): %v; encoding/json reads %q", in, err, want)
	}
	// Compare as the client will see them: the encoder turns each invalid UTF-8
	// byte into U+FFFD, as encoding/json's decoder does.
	if string([]rune(got)) != want {
		t.Fatalf("unquote(%s) = %q, encoding/json %q", in, got, want)
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a\u00e9\ud83d\ude00"`, `"\ud83d"`, `"x\\y"`, `"\u12"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkUnquote(t, in) })
}

// FuzzStream: no upstream byte sequence makes the stream translator panic or emit
// invalid JSON, and every stream ends (EOF or an error).
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sse")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, strings.Contains(p, "json_"))
	}
	f.Add([]byte("data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"message_stop\"}\n\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, jsonTool bool) {
		s := newStream(io.NopCloser(bytes.NewReader(body)), translation{jsonTool: jsonTool})
		chunks, end := drain(s)
		if end == nil || (!errors.Is(end, io.EOF) && providers.AsError(end) == nil) {
			t.Fatalf("stream ended with %v", end)
		}
		for _, c := range chunks {
			if !json.Valid(c.Data) || !utf8.Valid(c.Data) {
				t.Fatalf("invalid chunk %q", c.Data)
			}
		}
	})
}

// looping serves head once, then body forever: an endless stream of one event.
type looping struct {
	head, body []byte
	off        int
}

func (l *looping) Read(p []byte) (int, error) {
	if len(l.head) > 0 {
		n := copy(p, l.head)
		l.head = l.head[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.body[l.off:])
		n += c
		l.off = (l.off + c) % len(l.body)
	}
	return n, nil
}

func benchStream(b *testing.B, delta string) {
	head := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	s := newStream(io.NopCloser(&looping{head: []byte(head), body: []byte(delta)}), translation{})
	for range 3 { // role chunk, tool call start
		if _, err := s.Recv(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(delta)))
	for b.Loop() {
		if _, err := s.Recv(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamChunk is the per-chunk cost of a translated stream, SSE framing
// included: a typical text delta.
func BenchmarkStreamChunk(b *testing.B) {
	benchStream(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" the quick brown fox\"}}\n\n")
}

// BenchmarkStreamChunkToolArgs: an escaped tool-argument fragment.
func BenchmarkStreamChunkToolArgs(b *testing.B) {
	benchStream(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Par\"}}\n\n")
}
