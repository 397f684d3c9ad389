package state

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestBudgetEncodingRoundTrips(t *testing.T) {
	in := budget{spent: 1234, holds: []holding{
		{id: "req-1", amount: 10, expires: 1_800_000_000_000_000_000},
		{id: "", amount: 0, expires: 1},
		{id: string(make([]byte, 300)), amount: MaxAmount, expires: 42}, // a 2-byte varint length
	}}
	exp, p, err := decodeEntry(encodeBudget(99, &in))
	if err != nil || exp != 99 {
		t.Fatalf("entry: %d %v", exp, err)
	}
	out, err := decodeBudget(p)
	if err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v %v", out, err)
	}
}

func TestWindowEncodingRoundTrips(t *testing.T) {
	exp, p, err := decodeEntry(encodeWindow(7, 5, 3))
	if err != nil || exp != 7 {
		t.Fatal(exp, err)
	}
	if start, n, err := decodeWindow(p); start != 5 || n != 3 || err != nil {
		t.Fatal(start, n, err)
	}
}

func TestDecodersRejectDamage(t *testing.T) {
	good := encodeBudget(0, &budget{spent: 1, holds: []holding{{id: "abc", amount: 2, expires: 3}}})
	for name, b := range map[string][]byte{
		"short entry":        good[:7],
		"truncated hold":     good[:len(good)-1],
		"id longer than all": append(good[:16:16], 0xff, 0xff, 0xff, 0xff, 0x0f),
		"negative spent":     append(appendEntry(nil, 0), 0xff, 0, 0, 0, 0, 0, 0, 0),
	} {
		_, p, err := decodeEntry(b)
		if err == nil {
			_, err = decodeBudget(p)
		}
		if !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want errCorrupt", name, err)
		}
	}
	if _, _, err := decodeWindow(make([]byte, 15)); !errors.Is(err, errCorrupt) {
		t.Errorf("short window: %v", err)
	}
}

// FuzzDecodeEntry: whatever bytes the file holds, decoding never panics, and what
// decodes re-encodes to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeWindow(1, 2, 3))
	f.Add(encodeBudget(0, &budget{spent: 5, holds: []holding{{id: "req-1", amount: 7, expires: 9}}}))
	f.Add(append(appendEntry(nil, 0), "a conversation item"...))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, p, err := decodeEntry(data)
		if err != nil {
			return
		}
		if start, n, err := decodeWindow(p); err == nil {
			if again := encodeWindow(exp, start, n); !bytes.Equal(again, data) {
				t.Fatalf("window re-encodes to %x, was %x", again, data)
			}
		}
		b, err := decodeBudget(p)
		if err != nil {
			return
		}
		// Uvarint accepts non-minimal encodings; compare decoded values instead.
		_, p2, _ := decodeEntry(encodeBudget(exp, &b))
		b2, err := decodeBudget(p2)
		if err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("budget %+v re-decodes to %+v (%v)", b, b2, err)
		}
	})
}
