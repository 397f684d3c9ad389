// Package sse reads Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html)
// from upstream streams with one small buffer per stream and no allocation per event.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxEventBytes bounds one event; an upstream sending more is cut off.
const MaxEventBytes = 16 << 20

// ErrEventTooLarge is returned for an event larger than MaxEventBytes.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one dispatched event. Its slices are valid until the next call to Next.
type Event struct {
	Name []byte // the "event:" field, empty for the default "message"
	Data []byte // "data:" lines joined with '\n'
}

// Reader reads events from an upstream body.
type Reader struct {
	r    *bufio.Reader
	data []byte
	name []byte
	line []byte // a line longer than the buffer, assembled
}

// bufferSize holds one line of the events upstreams send: an OpenAI or Anthropic
// chunk is 150 to 400 bytes, a Gemini one up to about 1 KiB. A stream holds its
// buffer for its whole life, idle or not, and below it the transport buffers the
// connection already (4 KiB): a bigger buffer here would only cost memory per
// stream. Longer lines are assembled (readLine), at the cost of one copy.
const bufferSize = 1024

// NewReader reads events from r with a 1 KiB buffer; longer lines are assembled.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, bufferSize)}
}

// Next returns the next event with data. It returns io.EOF at the end of input; an
// event not terminated by a blank line before EOF is dropped, as the specification
// says, and io.ErrUnexpectedEOF is returned instead so callers can tell a cut stream.
func (r *Reader) Next() (Event, error) {
	r.data = r.data[:0]
	r.name = r.name[:0]
	pending, hasData := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && pending {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 { // blank line: dispatch
			if hasData {
				return Event{Name: r.name, Data: r.data}, nil
			}
			pending = false
			r.name = r.name[:0]
			continue
		}
		if line[0] == ':' { // comment, e.g. ": keep-alive"
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			if len(r.data)+len(value) > MaxEventBytes {
				return Event{}, ErrEventTooLarge
			}
			r.data = append(r.data, value...)
			pending, hasData = true, true
		case "event":
			r.name = append(r.name[:0], value...)
			pending = true
		default: // id, retry and unknown fields carry nothing we use
			pending = true
		}
	}
}

// readLine returns one line without its terminator (LF or CRLF; no upstream we
// speak to ends lines with a lone CR).
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.line = append(r.line[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.line) > MaxEventBytes {
				return nil, ErrEventTooLarge
			}
			line, err = r.r.ReadSlice('\n')
			r.line = append(r.line, line...)
		}
		line = r.line
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			// A final line without a terminator cannot dispatch an event.
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
