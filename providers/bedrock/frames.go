package bedrock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The application/vnd.amazon.eventstream framing
// (https://smithy.io/2.0/aws/amazon-eventstream.html): each message is
//
//	total length (uint32) | headers length (uint32) | prelude CRC (uint32)
//	headers | payload | message CRC (uint32)
//
// big-endian, CRC-32 (IEEE) of the prelude and of everything before the message
// CRC. A header is a 1-byte name length, the name, a 1-byte value type and the
// value: 0 true, 1 false (no bytes), 2 byte, 3 int16, 4 int32, 5 int64,
// 6 bytes and 7 string (uint16 length + data), 8 timestamp (int64), 9 UUID (16).
//
// The SDK's decoder (aws-sdk-go-v2/aws/protocol/eventstream.Decoder) reads the
// same format, but copies and boxes every header and reads through a chain of
// wrapping readers: 38 allocations and ~1.8 µs a Bedrock delta message
// (BenchmarkSDKDecoder), most of the 2 µs a whole streamed chunk may cost.
// frameReader reads each message into one reused buffer and looks at its
// headers in place (no allocation, ~0.1 µs: BenchmarkFrameReader);
// FuzzFrameReader holds it to accepting, rejecting and reading exactly what the
// SDK's decoder does.

const (
	preludeLen = 12
	minMessage = preludeLen + 4
	// The limits of the AWS SDKs (aws-sdk-kotlin eventstream: "max message size
	// is 16 MB", "max header size is 128 KB"): a larger length is corruption,
	// and trusting it would buffer or wait for data that never comes.
	maxMessage = 16 << 20
	maxHeaders = 128 << 10
)

// Header value types, and the headers of a message Bedrock sends.
const (
	typeBoolTrue  = 0
	typeBoolFalse = 1
	typeByte      = 2
	typeInt16     = 3
	typeInt32     = 4
	typeInt64     = 5
	typeBytes     = 6
	typeString    = 7
	typeTimestamp = 8
	typeUUID      = 9
)

var (
	errFrameLength   = errors.New("event stream: message length out of range")
	errFrameChecksum = errors.New("event stream: checksum mismatch")
	errFrameHeaders  = errors.New("event stream: malformed headers")
)

// frame is one decoded message. Its slices point into the reader's buffer and
// are valid until the next call to next.
type frame struct {
	messageType   []byte // :message-type: event, exception or error
	eventType     []byte // :event-type of an event
	exceptionType []byte // :exception-type of an exception
	errorCode     []byte // :error-code of an error
	errorMessage  []byte // :error-message of an error
	payload       []byte
}

// frameReader reads messages one by one from a stream.
type frameReader struct {
	r   io.Reader
	buf []byte // the current message; grows to the largest one, then stays
}

// A text delta's message is about 250 bytes (prelude, three headers, the delta
// and its padding "p"): an idle stream holds this buffer for its whole life.
func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: r, buf: make([]byte, 512)}
}

// next reads the next message into f. It returns io.EOF when the stream ends
// cleanly between messages, io.ErrUnexpectedEOF when it ends inside one.
func (fr *frameReader) next(f *frame) error {
	*f = frame{}
	if _, err := io.ReadFull(fr.r, fr.buf[:preludeLen]); err != nil {
		return err
	}
	total := binary.BigEndian.Uint32(fr.buf[0:4])
	headers := binary.BigEndian.Uint32(fr.buf[4:8])
	if crc32.ChecksumIEEE(fr.buf[:8]) != binary.BigEndian.Uint32(fr.buf[8:12]) {
		return errFrameChecksum
	}
	if total < minMessage || total > maxMessage || headers > maxHeaders || headers > total-minMessage {
		return fmt.Errorf("%w: total %d, headers %d", errFrameLength, total, headers)
	}
	if int(total) > len(fr.buf) {
		grown := make([]byte, max(int(total), 2*len(fr.buf)))
		copy(grown, fr.buf[:preludeLen])
		fr.buf = grown
	}
	msg := fr.buf[:total]
	if _, err := io.ReadFull(fr.r, msg[preludeLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the prelude promised more
		}
		return err
	}
	end := total - 4
	if crc32.ChecksumIEEE(msg[:end]) != binary.BigEndian.Uint32(msg[end:]) {
		return errFrameChecksum
	}
	if err := parseHeaders(msg[preludeLen:preludeLen+headers], f); err != nil {
		return err
	}
	f.payload = msg[preludeLen+headers : end]
	return nil
}

// parseHeaders walks the header block, keeping the string headers a frame names
// and checking that every other header is well formed. A repeated header: the
// last one wins, as with the SDK's Headers.Set; one of another type than string
// counts as absent.
func parseHeaders(h []byte, f *frame) error {
	for len(h) > 0 {
		n := int(h[0])
		if len(h) == 1 && n > 0 {
			// A name length and nothing after it: the SDK's decoder reads this
			// as the end of the headers (its read of the name finds io.EOF), so
			// this does too.
			break
		}
		if len(h) < 1+n+1 {
			return errFrameHeaders
		}
		name := h[1 : 1+n]
		typ := h[1+n]
		h = h[2+n:]
		var size int
		switch typ {
		case typeBoolTrue, typeBoolFalse:
			size = 0
		case typeByte:
			size = 1
		case typeInt16:
			size = 2
		case typeInt32:
			size = 4
		case typeInt64, typeTimestamp:
			size = 8
		case typeUUID:
			size = 16
		case typeBytes, typeString:
			if len(h) < 2 {
				return errFrameHeaders
			}
			size = 2 + int(binary.BigEndian.Uint16(h))
		default:
			return fmt.Errorf("%w: unknown value type %d", errFrameHeaders, typ)
		}
		if len(h) < size {
			return errFrameHeaders
		}
		var value []byte // nil unless a string
		if typ == typeString {
			value = h[2:size]
		}
		h = h[size:]
		switch string(name) {
		case ":message-type":
			f.messageType = value
		case ":event-type":
			f.eventType = value
		case ":exception-type":
			f.exceptionType = value
		case ":error-code":
			f.errorCode = value
		case ":error-message":
			f.errorMessage = value
		}
	}
	return nil
}
