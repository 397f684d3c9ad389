package anthropic

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/sse"
)

// The native sink relays each upstream event as it came: parsed back as a
// client parses server-sent events, the stream is the upstream's events, names
// and data byte for byte, however the data's JSON is spread over lines.
func TestNativeSinkFramesEveryEvent(t *testing.T) {
	events := []providers.Chunk{
		{Event: "message_start", Data: []byte(`{"type":"message_start","message":{}}`)},
		{Event: "ping", Data: []byte("{\"type\":\r\n\"ping\"}")},
		{Event: "content_block_delta", Data: []byte("{\"type\":\"content_block_delta\",\n\n\"index\":0}")},
	}
	checkNativeFraming(t, events)
}

func checkNativeFraming(t *testing.T, events []providers.Chunk) {
	t.Helper()
	var out bytes.Buffer
	s := &nativeSink{}
	for _, c := range events {
		if err := s.Chunk(&out, c); err != nil {
			t.Fatal(err)
		}
	}
	r := sse.NewReader(bytes.NewReader(out.Bytes()))
	for i, want := range events {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v in %q", i, err, out.Bytes())
		}
		// A client joins data lines with "\n"; the line breaks themselves are
		// JSON whitespace.
		wantData := bytes.ReplaceAll(bytes.ReplaceAll(want.Data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		if string(ev.Name) != want.Event || !bytes.Equal(ev.Data, wantData) {
			t.Fatalf("event %d: %q %q, want %q %q", i, ev.Name, ev.Data, want.Event, wantData)
		}
	}
	if _, err := r.Next(); err == nil {
		t.Fatalf("more events than sent: %q", out.Bytes())
	}
}

// FuzzNativeSink: any event a native stream yields (providers.MessagesEvents
// reads each line as the data of a nameless event, as Bedrock's are) is framed
// so that the client reads it back whole.
func FuzzNativeSink(f *testing.F) {
	f.Add([]byte(`{"type":"message_start","message":{"usage":{"input_tokens":1}}}` + "\n" + `{"type":"ping"}`))
	f.Add([]byte("{\"type\":\"message_start\",\"message\":{}}\n{\"type\":\"content_block_delta\",\r\"index\":0}"))
	f.Fuzz(func(t *testing.T, lines []byte) {
		var m providers.MessagesEvents
		var events []providers.Chunk
		for _, line := range bytes.Split(lines, []byte("\n\x00")) {
			c, err := m.Next(nil, line)
			if err != nil {
				break
			}
			events = append(events, c)
		}
		checkNativeFraming(t, events)
	})
}

// FuzzTranslatedSink drives the sink as the executor does: a chunk per line,
// some with the provider's usage, then the stream's end or its failure. The
// client always gets a well-formed stream: complete, or ended by one error event
// with nothing after it.
func FuzzTranslatedSink(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.chunks"))
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b, uint8(0))
		f.Add(b, uint8(3))
	}
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"a"}}]}`+"\n"+`not json`+"\n"+`{"choices":[]}`), uint8(1))
	f.Fuzz(func(t *testing.T, lines []byte, how uint8) {
		s := &translatedSink{t: NewStreamTranslator(testOptions())}
		var out bytes.Buffer
		broken := false
		for i, line := range bytes.Split(lines, []byte("\n")) {
			c := providers.Chunk{Data: line}
			if how&1 != 0 && i%2 == 1 {
				c.Usage = &providers.Usage{PromptTokens: 9, CompletionTokens: i,
					PromptTokensDetails: &providers.PromptTokensDetails{CachedTokens: 2, CacheWriteTokens: 3}}
			}
			if err := s.Chunk(&out, c); err != nil {
				t.Fatal(err)
			}
			broken = broken || s.failed
		}
		failed := broken
		if how&2 != 0 {
			if err := s.Fail(&out, &providers.Error{Class: providers.ClassConnection, Message: "cut"}); err != nil {
				t.Fatal(err)
			}
			failed = true
		} else if err := s.Done(&out); err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(out.Bytes(), !failed); err != nil {
			t.Fatalf("%v\n%s", err, out.Bytes())
		}
		if !failed {
			if _, err := accumulate(t, out.Bytes()); err != nil {
				t.Fatalf("the SDK: %v\n%s", err, out.Bytes())
			}
		}
	})
}
