package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type event struct{ name, data string }

func readAll(t *testing.T, r io.Reader) ([]event, error) {
	t.Helper()
	sr := NewReader(r)
	var out []event
	for {
		ev, err := sr.Next()
		if err != nil {
			return out, err
		}
		out = append(out, event{string(ev.Name), string(ev.Data)})
	}
}

func TestReaderFraming(t *testing.T) {
	in := ": keep-alive\n\n" +
		"data: {\"a\":1}\n\n" +
		"event: message_start\r\ndata: {\"b\":2}\r\n\r\n" +
		"data: line1\ndata: line2\n\n" +
		"id: 7\nretry: 100\ndata:no-space\n\n" +
		"event: ping\n\n" + // no data: not dispatched
		"data: [DONE]\n\n"
	got, err := readAll(t, strings.NewReader(in))
	if err != io.EOF {
		t.Fatalf("err = %v", err)
	}
	want := []event{{"", `{"a":1}`}, {"message_start", `{"b":2}`}, {"", "line1\nline2"}, {"", "no-space"}, {"", "[DONE]"}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestReaderOneByteAtATime(t *testing.T) {
	in := "data: " + strings.Repeat("x", 10000) + "\n\ndata: y\n\n"
	got, err := readAll(t, iotest.OneByteReader(strings.NewReader(in)))
	if err != io.EOF || len(got) != 2 || len(got[0].data) != 10000 || got[1].data != "y" {
		t.Fatalf("got %d events, err %v", len(got), err)
	}
}

func TestReaderCutStream(t *testing.T) {
	// A final event without its blank line was cut: the caller must be able to tell.
	_, err := readAll(t, strings.NewReader("data: a\n\ndata: b\n"))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut after a complete line: err = %v", err)
	}
	_, err = readAll(t, strings.NewReader("data: a\n\ndata: par"))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut mid-line: err = %v", err)
	}
}

func TestReaderLimitsEventSize(t *testing.T) {
	big := "data: " + strings.Repeat("x", MaxEventBytes+10) + "\n\n"
	_, err := readAll(t, strings.NewReader(big))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkReader(b *testing.B) {
	ev := []byte("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello \"},\"finish_reason\":null}]}\n\n")
	stream := bytes.Repeat(ev, 1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

// FuzzReader: arbitrary input never panics, and every event's data is a substring
// of the input's data lines.
func FuzzReader(f *testing.F) {
	f.Add([]byte("data: {}\n\n"))
	f.Add([]byte("event: x\r\ndata: a\r\ndata: b\r\n\r\n: c\n"))
	f.Add([]byte("data"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for range 10000 {
			ev, err := r.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > len(data) {
				t.Fatalf("event larger than the input")
			}
		}
	})
}
