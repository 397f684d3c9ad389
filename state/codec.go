package state

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The embedded driver stores every value as an entry: an 8-byte big-endian expiry
// (Unix nanoseconds; 0 = never) followed by the payload. Window and budget payloads
// have their own fixed layouts below. The decoders read bytes from disk, which a
// crash or a foreign tool may have damaged: they return errCorrupt, never panic.

const entryHeader = 8

var errCorrupt = errors.New("state: corrupt entry")

func appendEntry(dst []byte, expiry int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(expiry))
}

func decodeEntry(b []byte) (expiry int64, payload []byte, err error) {
	if len(b) < entryHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, want at least %d", errCorrupt, len(b), entryHeader)
	}
	return int64(binary.BigEndian.Uint64(b)), b[entryHeader:], nil
}

// expired reports whether an entry with expiry is gone at now (both Unix nanoseconds).
func expired(expiry, now int64) bool { return expiry != 0 && now >= expiry }

// A window payload is its start (Unix nanoseconds) and its count.
const windowPayload = 16

func encodeWindow(expiry, start, count int64) []byte {
	b := make([]byte, 0, entryHeader+windowPayload)
	b = appendEntry(b, expiry)
	b = binary.BigEndian.AppendUint64(b, uint64(start))
	return binary.BigEndian.AppendUint64(b, uint64(count))
}

func decodeWindow(p []byte) (start, count int64, err error) {
	if len(p) != windowPayload {
		return 0, 0, fmt.Errorf("%w: window of %d bytes, want %d", errCorrupt, len(p), windowPayload)
	}
	start = int64(binary.BigEndian.Uint64(p))
	count = int64(binary.BigEndian.Uint64(p[8:]))
	if count < 0 {
		return 0, 0, fmt.Errorf("%w: negative window count", errCorrupt)
	}
	return start, count, nil
}

// budget is one budget key: what was spent and the reservations held against it.
type budget struct {
	spent int64
	holds []holding
}

type holding struct {
	id      string
	amount  int64
	expires int64 // Unix nanoseconds
}

// A budget payload is spent (8 bytes), then per hold: uvarint id length, id,
// amount (8 bytes), expiry (8 bytes).
func encodeBudget(expiry int64, b *budget) []byte {
	n := entryHeader + 8
	for _, h := range b.holds {
		n += binary.MaxVarintLen64 + len(h.id) + 16
	}
	out := make([]byte, 0, n)
	out = appendEntry(out, expiry)
	out = binary.BigEndian.AppendUint64(out, uint64(b.spent))
	for _, h := range b.holds {
		out = binary.AppendUvarint(out, uint64(len(h.id)))
		out = append(out, h.id...)
		out = binary.BigEndian.AppendUint64(out, uint64(h.amount))
		out = binary.BigEndian.AppendUint64(out, uint64(h.expires))
	}
	return out
}

func decodeBudget(p []byte) (budget, error) {
	var b budget
	if len(p) < 8 {
		return b, fmt.Errorf("%w: budget of %d bytes", errCorrupt, len(p))
	}
	b.spent = int64(binary.BigEndian.Uint64(p))
	if b.spent < 0 {
		return budget{}, fmt.Errorf("%w: negative spent", errCorrupt)
	}
	p = p[8:]
	for len(p) > 0 {
		idLen, n := binary.Uvarint(p)
		if n <= 0 || idLen > uint64(len(p)-n) || uint64(len(p)-n)-idLen < 16 {
			return budget{}, fmt.Errorf("%w: truncated reservation", errCorrupt)
		}
		p = p[n:]
		h := holding{id: string(p[:idLen])}
		p = p[idLen:]
		h.amount = int64(binary.BigEndian.Uint64(p))
		h.expires = int64(binary.BigEndian.Uint64(p[8:]))
		if h.amount < 0 {
			return budget{}, fmt.Errorf("%w: negative reservation", errCorrupt)
		}
		p = p[16:]
		b.holds = append(b.holds, h)
	}
	return b, nil
}
