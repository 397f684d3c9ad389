package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

var canons = sync.Pool{New: func() any { return new(canon) }}

// maxPooledBytes keeps an exceptional body's buffers out of the pool.
const maxPooledBytes = 64 << 10

// Key returns the cache key of a chat request: the hex SHA-256 of scope (the client
// key's name, or "" when shared), alias and the canonical form of the body, so a key
// never reveals a prompt. It returns false when the request must not be cached:
// temperature absent or not 0 (unless anyTemperature), n other than 1, a body that is not
// a JSON object or is nested deeper than 64 levels.
//
// The body is canonicalised as it was sent, not through req.Canonical(): the
// canonical struct drops members it does not know (modalities, audio, prediction,
// top_k of vLLM, ...), and two requests that differ only there must not share an
// answer. Every member counts except those that cannot change the answer: model
// (alias stands for it), stream, stream_options, user, metadata, and n when it is
// the default 1. Members that mean the same but are spelled differently (stop "x"
// and ["x"], max_tokens and max_completion_tokens) get different keys: a miss, never
// a wrong answer.
func Key(scope, alias string, req *providers.Request, anyTemperature bool) (string, bool) {
	if req == nil || !json.Valid(req.Body) {
		return "", false
	}
	c := canons.Get().(*canon)
	defer func() {
		if cap(c.out) <= maxPooledBytes && cap(c.scratch) <= maxPooledBytes && cap(c.keys) <= maxPooledBytes {
			canons.Put(c)
		}
	}()
	c.reset()
	c.out = appendField(c.out, scope)
	c.out = appendField(c.out, alias)
	if !c.collect(req.Body) || !c.request(anyTemperature) {
		return "", false
	}
	sum := sha256.Sum256(c.out)
	return hex.EncodeToString(sum[:]), true
}

// appendField writes s with its length first, so that no scope and alias pair
// reads as another.
func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// request writes the top-level members collected from the body, less those that do
// not change the answer, and decides whether the request may be cached.
func (c *canon) request(anyTemperature bool) bool {
	cacheable := anyTemperature
	kept := c.members[:0]
	for _, m := range c.members {
		switch string(m.key) {
		case "model", "stream", "stream_options", "user", "metadata":
			continue
		case "temperature":
			cacheable = cacheable || numberIs(m.value, 0)
		case "n":
			if numberIs(m.value, 1) {
				continue
			}
			if !bytes.Equal(m.value, []byte("null")) {
				return false
			}
		}
		kept = append(kept, m)
	}
	c.members = kept
	return cacheable && c.object(0, 0)
}

// numberIs reports whether the JSON value v is a number equal to x ("0", "0.0",
// "-0", "0e3" all equal 0).
func numberIs(v []byte, x float64) bool {
	f, err := strconv.ParseFloat(jsonstr.View(v), 64)
	return err == nil && f == x
}
