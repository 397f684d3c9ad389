package cache

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// clock is a settable time source for TTL tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(c *Cache) *clock {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	c.now = clk.now
	return clk
}

func entry(text string) *Entry {
	return &Entry{Completion: []byte(`{"text":"` + text + `"}`), Usage: providers.Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12},
		Cost: 0.0001, Priced: true, Provider: "azure-eastus", Model: "gpt-4o-prod"}
}

func get(c *Cache, key string) string {
	e, ok := c.Get(key)
	if !ok {
		return ""
	}
	return string(e.Completion)
}

func TestCacheEvictsTheLeastRecentlyUsedAtMaxEntries(t *testing.T) {
	c := New(2, 0)
	c.Put("a", entry("a"), time.Hour)
	c.Put("b", entry("b"), time.Hour)
	if get(c, "a") == "" { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.Put("c", entry("c"), time.Hour)
	if c.Len() != 2 || get(c, "b") != "" || get(c, "a") == "" || get(c, "c") == "" {
		t.Errorf("after a third entry: len %d, b %q, a %q, c %q", c.Len(), get(c, "b"), get(c, "a"), get(c, "c"))
	}
}

func TestCacheExpiresEachEntryAfterItsTTL(t *testing.T) {
	c := New(10, 0)
	clk := withClock(c)
	c.Put("short", entry("short"), time.Minute)
	c.Put("long", entry("long"), time.Hour)
	c.Put("default", entry("default"), 0)

	clk.advance(time.Minute - time.Second)
	if get(c, "short") == "" {
		t.Fatal("expired before its TTL")
	}
	clk.advance(time.Second)
	if get(c, "short") != "" {
		t.Fatal("served at its TTL")
	}
	if c.Len() != 2 {
		t.Errorf("expired entry kept after a read: len %d", c.Len())
	}
	clk.advance(DefaultTTL - time.Minute - time.Second)
	if get(c, "long") == "" || get(c, "default") == "" {
		t.Fatal("long or default TTL expired early")
	}
	clk.advance(time.Second)
	if get(c, "long") != "" || get(c, "default") != "" {
		t.Error("served after an hour")
	}
}

func TestCachePutStampsACopy(t *testing.T) {
	c := New(10, 0)
	clk := withClock(c)
	e := entry("x")
	c.Put("k", e, time.Hour)
	got, ok := c.Get("k")
	if !ok || !got.StoredAt.Equal(clk.now()) || got.Cost != e.Cost || got.Usage != e.Usage || got.Provider != "azure-eastus" {
		t.Fatalf("stored %+v", got)
	}
	if !e.StoredAt.IsZero() {
		t.Error("Put modified the caller's entry")
	}
}

func TestCacheStaysWithinMaxBytes(t *testing.T) {
	one := int64(len("k0")+len(entry("x").Completion)+len("azure-eastus")+len("gpt-4o-prod")) + entryOverhead
	c := New(100, 3*one)
	clk := withClock(c)
	for i := range 5 {
		c.Put(fmt.Sprintf("k%d", i), entry("x"), time.Hour)
	}
	if c.Len() != 3 || c.Bytes() != 3*one || get(c, "k1") != "" || get(c, "k2") == "" {
		t.Errorf("len %d bytes %d (one %d), k1 %q k2 %q", c.Len(), c.Bytes(), one, get(c, "k1"), get(c, "k2"))
	}
	c.Put("k4", entry("x"), time.Hour) // replacing does not count twice
	if c.Bytes() != 3*one {
		t.Errorf("bytes %d after a replace, want %d", c.Bytes(), 3*one)
	}
	huge := entry("x")
	huge.Completion = make([]byte, 4*one)
	c.Put("huge", huge, time.Hour)
	if get(c, "huge") != "" || c.Len() != 3 {
		t.Error("an entry larger than the cache was stored or evicted others")
	}
	clk.advance(2 * time.Hour)
	for _, k := range []string{"k2", "k3", "k4"} {
		get(c, k)
	}
	if c.Bytes() != 0 || c.Len() != 0 {
		t.Errorf("expired entries still counted: %d bytes, %d entries", c.Bytes(), c.Len())
	}
}

func TestCacheIsolatesClientsUnlessShared(t *testing.T) {
	c := New(10, 0)
	r := req(baseBody)
	isolated := Options{}
	searchKey, _ := isolated.Key("search", "gpt-4o", r)
	billingKey, _ := isolated.Key("billing", "gpt-4o", r)
	c.Put(searchKey, entry("search's answer"), time.Hour)
	if _, ok := c.Get(billingKey); ok {
		t.Error("billing served search's answer")
	}
	shared := Options{Shared: true}
	k, _ := shared.Key("search", "gpt-4o", r)
	c.Put(k, entry("shared answer"), time.Hour)
	k, _ = shared.Key("billing", "gpt-4o", r)
	if get(c, k) != `{"text":"shared answer"}` {
		t.Error("shared answer not served to another client")
	}
}

// TestCacheConcurrentUse runs Puts and Gets from many goroutines (meant for -race)
// and checks that every hit is the answer stored under its key.
func TestCacheConcurrentUse(t *testing.T) {
	c := New(64, 64*400)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 3000 {
				k := fmt.Sprintf("k%d", rng.IntN(200))
				if rng.IntN(3) == 0 {
					c.Put(k, entry(k), time.Duration(1+rng.IntN(3))*time.Hour)
					continue
				}
				if got := get(c, k); got != "" && got != `{"text":"`+k+`"}` {
					t.Errorf("%s served %s", k, got)
					return
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 64 || c.Bytes() > 64*400 {
		t.Errorf("bounds exceeded: %d entries, %d bytes", c.Len(), c.Bytes())
	}
}

func BenchmarkGet(b *testing.B) {
	c := New(10_000, 0)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i], _ = Key("search", "gpt-4o", req(fmt.Sprintf(`{"messages":[{"role":"user","content":"q%d"}],"temperature":0}`, i)), false)
		c.Put(keys[i], entry("x"), time.Hour)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkPut(b *testing.B) {
	c := New(1000, 0)
	keys := make([]string, 4000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064d", i)
	}
	e := entry("x")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Put(keys[i%len(keys)], e, time.Hour)
		i++
	}
}
