package bedrock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// encodeMessage frames msg with the SDK's encoder.
func encodeMessage(t testing.TB, msg eventstream.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, msg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFrameReaderReadsEveryHeaderType(t *testing.T) {
	// Bedrock sends string headers only, but a message with any other header
	// type is still well formed: its headers are skipped, not misread.
	var msg eventstream.Message
	msg.Headers.Set("flag", eventstream.BoolValue(true))
	msg.Headers.Set("off", eventstream.BoolValue(false))
	msg.Headers.Set("b", eventstream.Int8Value(-3))
	msg.Headers.Set("s", eventstream.Int16Value(300))
	msg.Headers.Set("i", eventstream.Int32Value(70000))
	msg.Headers.Set("l", eventstream.Int64Value(1<<40))
	msg.Headers.Set("raw", eventstream.BytesValue([]byte{0, 1, 2}))
	msg.Headers.Set("at", eventstream.TimestampValue(time.UnixMilli(1700000000000)))
	msg.Headers.Set("id", eventstream.UUIDValue{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Headers.Set(":event-type", eventstream.StringValue("contentBlockDelta"))
	msg.Payload = []byte(`{"contentBlockIndex":0}`)
	body := append(encodeMessage(t, msg), encodeMessage(t, eventstream.Message{})...)

	fr := newFrameReader(bytes.NewReader(body))
	var f frame
	if err := fr.next(&f); err != nil {
		t.Fatal(err)
	}
	if string(f.messageType) != "event" || string(f.eventType) != "contentBlockDelta" || string(f.payload) != `{"contentBlockIndex":0}` ||
		f.exceptionType != nil {
		t.Errorf("frame %q %q %q %q", f.messageType, f.eventType, f.exceptionType, f.payload)
	}
	if err := fr.next(&f); err != nil || f.messageType != nil || len(f.payload) != 0 {
		t.Errorf("empty message: %v %+v", err, f)
	}
	if err := fr.next(&f); err != io.EOF {
		t.Errorf("after the last message: %v", err)
	}
}

func TestFrameReaderRejectsBrokenMessages(t *testing.T) {
	good := encodeMessage(t, eventstream.Message{Payload: []byte(`{"a":1}`)})
	withPrelude := func(total, headers uint32) []byte {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[0:4], total)
		binary.BigEndian.PutUint32(b[4:8], headers)
		binary.BigEndian.PutUint32(b[8:12], crc32.ChecksumIEEE(b[:8]))
		return b
	}
	flipped := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 1
		return b
	}
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"prelude checksum", flipped(9), errFrameChecksum},
		{"message checksum", flipped(len(good) - 1), errFrameChecksum},
		{"payload bit flip", flipped(14), errFrameChecksum},
		{"shorter than a message", withPrelude(15, 0), errFrameLength},
		{"longer than 16 MiB", withPrelude(16<<20+1, 0), errFrameLength},
		{"headers beyond the message", withPrelude(uint32(len(good)), uint32(len(good))), errFrameLength},
		{"headers over 128 KiB", withPrelude(1<<20, 128<<10+1), errFrameLength},
		{"cut in the prelude", good[:5], io.ErrUnexpectedEOF},
		{"cut in the message", good[:len(good)-2], io.ErrUnexpectedEOF},
		{"cut right after the prelude", good[:preludeLen], io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f frame
			if err := newFrameReader(bytes.NewReader(tc.body)).next(&f); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}

	// A header whose value runs past the header block, with valid checksums.
	bad := []byte{0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1, 'x', typeString}
	binary.BigEndian.PutUint32(bad[0:4], uint32(len(bad)+4))
	binary.BigEndian.PutUint32(bad[8:12], crc32.ChecksumIEEE(bad[:8]))
	bad = binary.BigEndian.AppendUint32(bad, crc32.ChecksumIEEE(bad))
	var f frame
	if err := newFrameReader(bytes.NewReader(bad)).next(&f); !errors.Is(err, errFrameHeaders) {
		t.Errorf("truncated header value: %v", err)
	}
}

func TestFrameReaderGrowsForLargeMessages(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100<<10)
	body := append(encodeMessage(t, eventstream.Message{Payload: big}), encodeMessage(t, eventstream.Message{Payload: []byte("y")})...)
	fr := newFrameReader(bytes.NewReader(body))
	var f frame
	if err := fr.next(&f); err != nil || !bytes.Equal(f.payload, big) {
		t.Fatalf("large message: %v, %d bytes", err, len(f.payload))
	}
	if err := fr.next(&f); err != nil || string(f.payload) != "y" {
		t.Fatalf("after it: %v %q", err, f.payload)
	}
}

// FuzzFrameReader holds frameReader to the SDK's decoder: on any bytes, both read
// the same messages, with the same headers of interest and payloads, and fail at
// the same message.
func FuzzFrameReader(f *testing.F) {
	var typed eventstream.Message
	typed.Headers.Set(":message-type", eventstream.StringValue("exception"))
	typed.Headers.Set(":exception-type", eventstream.StringValue("throttlingException"))
	typed.Headers.Set("n", eventstream.Int32Value(7))
	typed.Headers.Set("at", eventstream.TimestampValue(time.UnixMilli(1)))
	typed.Payload = []byte(`{"message":"slow down"}`)
	var errMsg eventstream.Message
	errMsg.Headers.Set(":message-type", eventstream.StringValue("error"))
	errMsg.Headers.Set(":error-code", eventstream.StringValue("InternalFailure"))
	errMsg.Headers.Set(":error-message", eventstream.StringValue("boom"))
	f.Add(encodeMessage(f, typed))
	f.Add(append(encodeMessage(f, errMsg), encodeFrame(f, "metadata", "", []byte(`{"usage":{}}`))...))
	f.Add(encodeFrame(f, "contentBlockDelta", "", []byte(`{"contentBlockIndex":0,"delta":{"text":"hi"}}`)))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsSDK(t, body)
		// Random bytes seldom carry valid checksums; with them repaired, the
		// lengths and headers are what is tested.
		sameAsSDK(t, withChecksums(body))
	})
}

func sameAsSDK(t *testing.T, body []byte) {
	names := []string{":message-type", ":event-type", ":exception-type", ":error-code", ":error-message"}
	{
		fr := newFrameReader(bytes.NewReader(body))
		sdk := eventstream.NewDecoder()
		sr := bytes.NewReader(body)
		for i := 0; ; i++ {
			var got frame
			err := fr.next(&got)
			want, wantErr := sdk.Decode(sr, nil)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("message %d: frameReader %v, SDK %v", i, err, wantErr)
			}
			if err != nil {
				// A clean end is one for both. (The SDK also calls a body cut
				// between two prelude fields io.EOF; either way the stream is
				// truncated.)
				if err == io.EOF && wantErr != io.EOF {
					t.Fatalf("message %d: frameReader %v, SDK %v", i, err, wantErr)
				}
				return
			}
			for j, v := range [][]byte{got.messageType, got.eventType, got.exceptionType, got.errorCode, got.errorMessage} {
				var w []byte
				if s, ok := want.Headers.Get(names[j]).(eventstream.StringValue); ok {
					w = []byte(s)
				}
				if !bytes.Equal(v, w) || (v == nil) != (w == nil) {
					t.Fatalf("message %d %s: %q, SDK %q", i, names[j], v, w)
				}
			}
			if !bytes.Equal(got.payload, want.Payload) {
				t.Fatalf("message %d payload %q, SDK %q", i, got.payload, want.Payload)
			}
		}
	}
}

// withChecksums is a copy of body with the CRCs of each message its lengths
// delimit recomputed.
func withChecksums(body []byte) []byte {
	b := append([]byte(nil), body...)
	for off := 0; len(b)-off >= preludeLen; {
		binary.BigEndian.PutUint32(b[off+8:], crc32.ChecksumIEEE(b[off:off+8]))
		total := int(binary.BigEndian.Uint32(b[off:]))
		if total < minMessage || total > len(b)-off {
			break
		}
		binary.BigEndian.PutUint32(b[off+total-4:], crc32.ChecksumIEEE(b[off:off+total-4]))
		off += total
	}
	return b
}

// BenchmarkFrameReader reads one Bedrock delta message; BenchmarkSDKDecoder is
// the SDK's decoder on the same bytes, the reason frameReader exists.
func BenchmarkFrameReader(b *testing.B) {
	benchmarkFrames(b, func(r io.Reader) func() error {
		fr := newFrameReader(r)
		var f frame
		return func() error { return fr.next(&f) }
	})
}

func BenchmarkSDKDecoder(b *testing.B) {
	benchmarkFrames(b, func(r io.Reader) func() error {
		dec := eventstream.NewDecoder()
		buf := make([]byte, 0, 1024)
		return func() error {
			m, err := dec.Decode(r, buf)
			buf = m.Payload[:0]
			return err
		}
	})
}

func benchmarkFrames(b *testing.B, reader func(io.Reader) func() error) {
	delta := encodeFrame(b, "contentBlockDelta", "", []byte(`{"contentBlockIndex":0,"delta":{"text":"The quick brown fox jumps over the lazy dog. "},"p":"abcdefgh"}`))
	const perRound = 1024
	body := bytes.Repeat(delta, perRound)
	r := bytes.NewReader(body)
	next := reader(r)
	b.ReportAllocs()
	b.SetBytes(int64(len(delta)))
	n := 0
	for b.Loop() {
		if n == perRound {
			r.Reset(body)
			n = 0
		}
		n++
		if err := next(); err != nil {
			b.Fatal(err)
		}
	}
}
