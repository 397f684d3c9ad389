// Package scrub removes configured secret values from text that leaves the process:
// upstream error messages before a client or a log sees them, and log lines.
//
// The rule, by the length of a secret value:
//
//   - 6 bytes or more: replaced wherever it appears, as written and in its URL- and
//     JSON-escaped forms.
//   - 3 to 5 bytes: replaced only as a whole token, where neither neighbour is a
//     letter, a digit, '-' or '_'; anywhere would mangle ordinary words that
//     happen to contain it ("abc" in "abcdef").
//   - 1 or 2 bytes: left alone. They cannot be told apart from ordinary text (a
//     secret "a" would erase every "a"), and such a value protects nothing: it is
//     guessed in a handful of tries.
//
// A value is replaced by [redacted], the placeholder config.Secret prints.
package scrub

import (
	"cmp"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
)

// Placeholder replaces a secret.
const Placeholder = "[redacted]"

const (
	// MinAnywhere is the length from which a secret is replaced wherever it appears.
	MinAnywhere = 6
	// MinToken is the length from which a shorter secret is replaced as a whole token.
	MinToken = 3
)

// Scrubber replaces a fixed set of secret values. The zero value and nil replace
// nothing. It is safe for concurrent use.
type Scrubber struct {
	long  *strings.Replacer // values of MinAnywhere bytes or more, longest first
	short []string          // values of MinToken..MinAnywhere-1 bytes
	// starts has a bit for the hash of the first MinToken bytes of every value:
	// text in which no window hits a bit holds no secret, and is returned as it is
	// without a copy (most log fields).
	starts [1 << 16 / 64]uint64
}

// New builds a scrubber of the given secret values.
func New(secrets []string) *Scrubber {
	seen := map[string]bool{}
	var long, short []string
	for _, s := range secrets {
		for _, v := range forms(s) {
			if seen[v] {
				continue
			}
			seen[v] = true
			switch {
			case len(v) >= MinAnywhere:
				long = append(long, v)
			case len(v) >= MinToken:
				short = append(short, v)
			}
		}
	}
	sc := &Scrubber{short: short}
	for _, v := range slices.Concat(long, short) {
		h := start(v)
		sc.starts[h/64] |= 1 << (h % 64)
	}
	if len(long) > 0 {
		// strings.Replacer tries the old strings in argument order at each position:
		// longest first, so that a secret containing another is replaced whole.
		slices.SortFunc(long, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
		pairs := make([]string, 0, 2*len(long))
		for _, v := range long {
			pairs = append(pairs, v, Placeholder)
		}
		sc.long = strings.NewReplacer(pairs...)
	}
	return sc
}

// forms are the ways a secret may be written in a message: as is, URL-escaped (a
// URL quoting it), JSON-escaped (a JSON body quoting it).
func forms(s string) []string {
	out := []string{s}
	if len(s) < MinAnywhere {
		return out
	}
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s), jsonEscaped(s)} {
		if f != s {
			out = append(out, f)
		}
	}
	return out
}

func jsonEscaped(s string) string {
	b, err := json.Marshal(s)
	if err != nil || len(b) < 2 {
		return s
	}
	return string(b[1 : len(b)-1])
}

// Empty reports whether the scrubber replaces nothing.
func (sc *Scrubber) Empty() bool { return sc == nil || (sc.long == nil && len(sc.short) == 0) }

// start hashes the first MinToken bytes of s into 16 bits.
func start(s string) uint32 {
	return (uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16) * 0x9E3779B1 >> 16
}

// mayHold reports whether a secret may start somewhere in text: one pass, a rolling
// window of MinToken bytes hashed as start hashes it.
func (sc *Scrubber) mayHold(text string) bool {
	if len(text) < MinToken {
		return false
	}
	w := uint32(text[0]) | uint32(text[1])<<8
	for i := 2; i < len(text); i++ {
		w |= uint32(text[i]) << 16
		if h := w * 0x9E3779B1 >> 16; sc.starts[h>>6]&(1<<(h&63)) != 0 {
			return true
		}
		w >>= 8
	}
	return false
}

// String returns text with every secret replaced.
func (sc *Scrubber) String(text string) string {
	if sc.Empty() || !sc.mayHold(text) {
		return text
	}
	if sc.long != nil {
		text = sc.long.Replace(text)
	}
	for _, s := range sc.short {
		text = replaceTokens(text, s)
	}
	return text
}

// replaceTokens replaces the occurrences of s in text that are whole tokens.
func replaceTokens(text, s string) string {
	var b strings.Builder
	rest, done := text, 0
	for {
		i := strings.Index(rest, s)
		if i < 0 {
			break
		}
		at := len(text) - len(rest) + i
		end := at + len(s)
		if (at == 0 || !tokenByte(text[at-1])) && (end == len(text) || !tokenByte(text[end])) {
			b.WriteString(text[done:at])
			b.WriteString(Placeholder)
			done = end
			rest = text[end:]
			continue
		}
		rest = text[at+1:]
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Error returns err with its text scrubbed; errors.Is and errors.As still see the
// original chain. nil stays nil.
func (sc *Scrubber) Error(err error) error {
	if err == nil || sc.Empty() {
		return err
	}
	msg := err.Error()
	if clean := sc.String(msg); clean != msg {
		return &cleanError{msg: clean, err: err}
	}
	return err
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// Holder is the scrubber in force, replaced when the configuration is reloaded. The
// zero value holds an empty scrubber.
type Holder struct {
	p atomic.Pointer[Scrubber]
}

// NewHolder returns a holder of sc.
func NewHolder(sc *Scrubber) *Holder {
	h := &Holder{}
	h.Use(sc)
	return h
}

// Use puts sc in force.
func (h *Holder) Use(sc *Scrubber) { h.p.Store(sc) }

// Load returns the scrubber in force (nil for none, which replaces nothing).
func (h *Holder) Load() *Scrubber {
	if h == nil {
		return nil
	}
	return h.p.Load()
}

// String scrubs text with the scrubber in force.
func (h *Holder) String(text string) string { return h.Load().String(text) }
