package fakes

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// Emulated prompt caching (Anthropic's cache_control, Bedrock's cachePoint): the
// prompt is read in the cloud's order (tools, system, messages) and every
// breakpoint names the prefix before it. A prefix seen before is read from the
// cache (cache_read_input_tokens, cacheReadInputTokens); the prompt up to the last
// breakpoint is written when it was not (cache_creation_input_tokens,
// cacheWriteInputTokens). As on the real clouds, prefixes shorter than the
// minimum cacheable length are neither read nor written, and tokens are the
// emulated tokenizer's (four characters each).

// DefaultMinCacheTokens is the shortest cacheable prefix: Anthropic's minimum for
// Claude Sonnet and Opus (1024 tokens; Haiku's is 2048).
const DefaultMinCacheTokens = 1024

type promptCache struct {
	mu   sync.Mutex
	seen map[[32]byte]bool
}

// cacheWalk hashes a prompt as it is read and notes its breakpoints.
type cacheWalk struct {
	h      hash.Hash
	chars  int
	points []cachePoint
}

type cachePoint struct {
	sum    [32]byte
	tokens int
}

func newCacheWalk() *cacheWalk { return &cacheWalk{h: sha256.New()} }

func (w *cacheWalk) add(s string) {
	w.h.Write([]byte(s))
	w.h.Write([]byte{0})
	w.chars += len(s)
}

// breakpoint notes the prefix read so far.
func (w *cacheWalk) breakpoint() {
	var p cachePoint
	copy(p.sum[:], w.h.Sum(nil))
	p.tokens = w.chars / 4
	w.points = append(w.points, p)
}

// use looks the walk's breakpoints up, stores them, and returns the tokens read
// from and written to the cache, within the prompt's total.
func (c *promptCache) use(w *cacheWalk, minTokens, total int) (read, write int) {
	if len(w.points) == 0 {
		return 0, 0
	}
	if minTokens <= 0 {
		minTokens = DefaultMinCacheTokens
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[[32]byte]bool{}
	}
	for _, p := range w.points {
		if p.tokens >= minTokens && c.seen[p.sum] {
			read = p.tokens
		}
	}
	last := w.points[len(w.points)-1]
	if last.tokens >= minTokens && !c.seen[last.sum] {
		write = last.tokens - read
	}
	for _, p := range w.points {
		if p.tokens >= minTokens && len(c.seen) < 100000 {
			c.seen[p.sum] = true
		}
	}
	read = min(read, total)
	write = min(write, total-read)
	return read, write
}
