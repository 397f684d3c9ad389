package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/internal/testservers"
	"github.com/switchyard/switchyard/state"
)

// clock is a settable test clock; tests never read the wall clock's date.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func openEmbedded(t testing.TB) state.Store {
	t.Helper()
	st, err := state.Open(config.State{Driver: "embedded", Path: filepath.Join(t.TempDir(), "state.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var redisOnce struct {
	sync.Once
	addr string
}

var prefixes atomic.Int64

// openRedis opens a store as one replica would, on a Redis shared by the package's
// tests; stores opened with the same prefix see the same keys.
func openRedis(t testing.TB, prefix string) state.Store {
	t.Helper()
	testservers.RequireRedis(t)
	redisOnce.Do(func() {
		srv, err := testservers.StartRedisShared()
		if err != nil {
			panic(err)
		}
		redisOnce.addr = srv.Addr
	})
	st, err := state.Open(config.State{Driver: "redis", URL: config.Secret("redis://" + redisOnce.addr),
		KeyPrefix: prefix, Timeout: 2 * time.Second}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func nilConfig() *config.Config { return &config.Config{} }

func newPrefix() string { return fmt.Sprintf("k%d:", prefixes.Add(1)) }

// newRing is a ring on store with the file cfg (nil: no file keys), loaded once.
func newRing(t testing.TB, store state.Store, c *clock, cfg *config.Config) *Ring {
	t.Helper()
	r := New(Options{Store: store, Now: c.Now})
	if cfg == nil {
		cfg = &config.Config{}
	}
	r.SetConfig(cfg, "/etc/switchyard/config.yaml")
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustCreate(t testing.TB, r *Ring, body string) Key {
	t.Helper()
	k, err := r.CreateKey(context.Background(), []byte(body))
	if err != nil {
		t.Fatalf("create %s: %v", body, err)
	}
	return k
}

// apiError is err as an *Error, failing the test when it is not one.
func apiError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *Error", err)
	}
	return e
}

func lookup(r *Ring, token string) (*Identity, Verdict) { return r.Lookup(context.Background(), token) }

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// flakyStore fails table reads while down is set.
type flakyStore struct {
	state.Store
	down atomic.Bool
}

func (f *flakyStore) TableChanges(ctx context.Context, table string, since state.Stamp) (state.Changes, error) {
	if f.down.Load() {
		return state.Changes{}, state.ErrUnavailable
	}
	return f.Store.TableChanges(ctx, table, since)
}
