// Package cache answers an identical chat request from memory instead of paying a
// cloud again. Key reduces a request to the SHA-256 of its normalised form; Cache is
// one process-wide LRU bounded by entries and bytes, with a TTL per entry; Replay
// serves a stored completion as a stream, and Assembler stores a streamed answer.
//
// A hit costs nothing, but it reports the usage of the answer it replays: the usage
// object is part of the completion served (stream and non-stream alike), so clients
// that size their context from prompt_tokens keep working. Cost 0 is Switchyard's
// to report (its cost header, budgets and metrics), with Entry.Cost as the savings.
package cache

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/switchyard/switchyard/providers"
)

// Defaults for the zero values of New's and Put's arguments.
const (
	DefaultMaxEntries = 10_000
	DefaultMaxBytes   = 64 << 20 // 64 MiB of stored completions
	DefaultTTL        = time.Hour
)

// entryOverhead approximates what an entry costs beyond its bytes: the Entry, the
// LRU's list element and map slot.
const entryOverhead = 256

// Options are the cache settings of one alias (or the global default), from config.
// The size of the cache is process-wide: see New.
type Options struct {
	// TTL is how long an answer is served after it was stored; 0 means DefaultTTL.
	TTL time.Duration
	// AnyTemperature caches requests whatever their temperature; by default only
	// temperature 0 is cached, the one setting where a replay is what the model
	// would most likely have said again.
	AnyTemperature bool
	// Shared lets every client key be served from one another's answers; by default
	// entries are isolated per client key.
	Shared bool
}

// Key is the cache key of req for client (the client key's name) under these options.
func (o Options) Key(client, alias string, req *providers.Request) (string, bool) {
	scope := client
	if o.Shared {
		scope = ""
	}
	return Key(scope, alias, req, o.AnyTemperature)
}

// Entry is one cached answer. Entries returned by Get are shared: read-only.
type Entry struct {
	// Completion is the OpenAI chat.completion JSON as served.
	Completion []byte
	// Usage is what the original request used; Cost (when Priced) what it cost,
	// i.e. what each hit saves.
	Usage  providers.Usage
	Cost   float64
	Priced bool
	// Provider and Model served the original request.
	Provider, Model string
	// StoredAt is set by Put.
	StoredAt time.Time
}

// Cache is an LRU of entries, safe for concurrent use. Expired entries are dropped
// when read or when the LRU evicts them: no timer runs.
type Cache struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, stored]
	bytes    int64
	maxBytes int64
	now      func() time.Time
}

type stored struct {
	entry   *Entry
	expires time.Time
	size    int64
}

// New returns a cache holding at most maxEntries entries and maxBytes bytes of
// entries (0 or less: DefaultMaxEntries, DefaultMaxBytes). The byte bound matters
// as much as the count: completions range from a few bytes to megabytes.
//
// The plain LRU is used, not golang-lru's expirable one: that one has a single TTL
// per cache (ours is per alias), reads time.Now directly, and runs a cleanup
// goroutine that never exits.
func New(maxEntries int, maxBytes int64) *Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	c := &Cache{maxBytes: maxBytes, now: time.Now}
	// NewLRU fails only for a size below 1, excluded above.
	c.lru, _ = simplelru.NewLRU(maxEntries, func(_ string, s stored) { c.bytes -= s.size })
	return c
}

// Get returns the live entry stored under key.
func (c *Cache) Get(key string) (*Entry, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.lru.Get(key)
	if !ok {
		return nil, false
	}
	if !now.Before(s.expires) {
		c.lru.Remove(key)
		return nil, false
	}
	return s.entry, true
}

// Put stores a copy of e under key for ttl (0 or less: DefaultTTL), replacing what
// was there, and sets the copy's StoredAt. e.Completion is kept, not copied: the
// caller must not modify it afterwards. An entry larger than the whole cache is not
// stored.
func (c *Cache) Put(key string, e *Entry, ttl time.Duration) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	size := int64(len(key)+len(e.Completion)+len(e.Provider)+len(e.Model)) + entryOverhead
	if size > c.maxBytes {
		return
	}
	now := c.now()
	cp := *e
	cp.StoredAt = now
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.lru.Peek(key); ok {
		c.bytes -= old.size // Add replaces without the eviction callback
	}
	c.lru.Add(key, stored{entry: &cp, expires: now.Add(ttl), size: size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// Len is the number of entries held, expired ones not yet dropped included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes is the approximate memory held by entries.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
