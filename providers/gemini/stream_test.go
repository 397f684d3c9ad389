package gemini

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// drain reads a stream to its end and writes one line per chunk, then the end.
func drain(t testing.TB, s providers.Stream) (string, []providers.Chunk, error) {
	t.Helper()
	var out strings.Builder
	var chunks []providers.Chunk
	for i := 0; i < 1000; i++ {
		c, err := s.Recv()
		if err != nil {
			if err == io.EOF {
				out.WriteString("EOF\n")
			} else {
				e := providers.AsError(err)
				fmt.Fprintf(&out, "error: class=%s status=%d code=%s retry_after=%s truncated=%v message=%q\n",
					e.Class, e.Status, e.Code, e.RetryAfter, errors.Is(err, providers.ErrTruncated), e.Message)
			}
			return out.String(), chunks, err
		}
		if c.UsageOnly {
			out.WriteString("usage-only ")
		}
		out.Write(c.Data)
		out.WriteByte('\n')
		c.Data = bytes.Clone(c.Data)
		chunks = append(chunks, c)
	}
	t.Fatal("stream does not end")
	return "", nil, nil
}

func fixtureStream(t testing.TB, name string) *stream {
	s := newStream(io.NopCloser(bytes.NewReader(readTestdata(t, name+".sse"))), "configured-model")
	s.created = testCreated
	return s
}

// TestStreamGolden translates testdata/<case>.sse and compares the chunks (and how
// the stream ended) with <case>.chunks.
func TestStreamGolden(t *testing.T) {
	for _, name := range []string{"text", "function_calls", "error_mid_stream", "truncated", "blocked", "rate_limited_mid_stream"} {
		t.Run(name, func(t *testing.T) {
			got, _, _ := drain(t, fixtureStream(t, name))
			golden(t, name+".chunks", []byte(got))
		})
	}
}

func TestStreamSemantics(t *testing.T) {
	t.Run("text: role first, deltas, finish, usage, EOF", func(t *testing.T) {
		_, chunks, err := drain(t, fixtureStream(t, "text"))
		if err != io.EOF {
			t.Fatalf("end = %v", err)
		}
		var text strings.Builder
		for _, c := range chunks {
			if d := chunkDelta(t, c.Data); d != nil {
				text.WriteString(d.content)
			}
		}
		if text.String() != "Bonjour \"toi\"\n!" {
			t.Errorf("text = %q", text.String())
		}
		if !bytes.Contains(chunks[0].Data, []byte(`"role":"assistant"`)) {
			t.Error("first chunk is not the role")
		}
		last := chunks[len(chunks)-1]
		if !last.UsageOnly || last.Usage == nil || last.Usage.PromptTokens != 8 || last.Usage.CompletionTokens != 4 || last.Usage.CachedTokens() != 2 {
			t.Errorf("usage chunk = %+v", last)
		}
		if !bytes.Contains(chunks[len(chunks)-2].Data, []byte(`"finish_reason":"stop"`)) {
			t.Error("finish chunk missing")
		}
	})

	t.Run("function calls: whole calls, stable indexes, finish tool_calls", func(t *testing.T) {
		got, _, err := drain(t, fixtureStream(t, "function_calls"))
		if err != io.EOF {
			t.Fatalf("end = %v", err)
		}
		for _, want := range []string{`"index":0,"id":"call_`, `"index":1,"id":"call_`, `"index":2,"id":"fc-3"`,
			`~ts~ZmFrZS10aG91Z2h0OmdldF93ZWF0aGVy"`, `"arguments":"{\"city\":\"Paris\"}"`, `"finish_reason":"tool_calls"`,
			`"completion_tokens":62`} {
			if !strings.Contains(got, want) {
				t.Errorf("stream lacks %s:\n%s", want, got)
			}
		}
	})

	t.Run("ids match the non-streamed translation of the same calls", func(t *testing.T) {
		fc := &functionCall{Name: "get_weather", Args: []byte(`{"city":"Tokyo"}`)}
		got, _, _ := drain(t, fixtureStream(t, "function_calls"))
		if id := toolCallID("s-calls", 1, fc, argsString(fc.Args), ""); !strings.Contains(got, `"id":"`+id+`"`) {
			t.Errorf("stream does not name call 1 %s", id)
		}
	})

	for name, class := range map[string]providers.Class{
		"error_mid_stream":        providers.ClassUnavailable,
		"truncated":               providers.ClassConnection,
		"blocked":                 providers.ClassContentFilter,
		"rate_limited_mid_stream": providers.ClassRateLimited,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := drain(t, fixtureStream(t, name))
			var e *providers.Error
			if !errors.As(err, &e) || e.Class != class {
				t.Fatalf("end = %v, want class %v", err, class)
			}
			if (name == "truncated") != errors.Is(err, providers.ErrTruncated) {
				t.Errorf("ErrTruncated = %v", errors.Is(err, providers.ErrTruncated))
			}
		})
	}

	t.Run("a stream cut inside an event is truncated", func(t *testing.T) {
		data := readTestdata(t, "text.sse")
		s := newStream(io.NopCloser(bytes.NewReader(data[:len(data)-30])), "m")
		_, _, err := drain(t, s)
		if !errors.Is(err, providers.ErrTruncated) {
			t.Fatalf("end = %v", err)
		}
	})
}

type delta struct{ content string }

func chunkDelta(t *testing.T, data []byte) *delta {
	t.Helper()
	var c providers.ChatChunk
	if err := jsonUnmarshal(data, &c); err != nil {
		t.Fatalf("chunk %s: %v", data, err)
	}
	if len(c.Choices) == 0 || c.Choices[0].Delta.Content == nil {
		return nil
	}
	return &delta{content: *c.Choices[0].Delta.Content}
}

// BenchmarkStreamChunk measures the translation of one upstream text event into its
// chat.completion.chunk: SSE framing, decode, encode.
func BenchmarkStreamChunk(b *testing.B) {
	event := []byte("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The quick brown fox jumps over the lazy dog, again and again.\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"bench\"}\r\n\r\n")
	const perRound = 1024
	body := bytes.Repeat(event, perRound)
	r := bytes.NewReader(body)
	s := newStream(io.NopCloser(r), "m")
	if _, err := s.Recv(); err != nil { // the role chunk
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(event)))
	n := 0
	for b.Loop() {
		if n == perRound-1 { // refill without counting a new stream's setup
			b.StopTimer()
			r.Reset(body)
			s.r = newStream(io.NopCloser(r), "m").r
			n = 0
			b.StartTimer()
		}
		c, err := s.Recv()
		if err != nil || len(c.Data) == 0 {
			b.Fatalf("chunk %d: %v", n, err)
		}
		n++
	}
}

func FuzzStream(f *testing.F) {
	for _, name := range []string{"text", "function_calls", "error_mid_stream", "truncated", "blocked", "rate_limited_mid_stream"} {
		f.Add(readTestdata(f, name+".sse"))
	}
	f.Add([]byte("data: {\"candidates\":[{\"index\":0,\"finishReason\":\"STOP\",\"content\":{\"parts\":[{\"functionCall\":{}}]}}]}\n\n"))
	f.Add([]byte("data: [1,2]\n\ndata: {\"error\":{}}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream(io.NopCloser(bytes.NewReader(body)), "m")
		for i := 0; ; i++ {
			c, err := s.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				var e *providers.Error
				if !errors.As(err, &e) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if !jsonValid(c.Data) {
				t.Fatalf("invalid chunk %q", c.Data)
			}
			if i > 10*len(body)+10 {
				t.Fatal("stream does not end")
			}
		}
	})
}
