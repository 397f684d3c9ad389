package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap/zaptest"

	"github.com/switchyard/switchyard/config"
)

func openEmbeddedAt(t *testing.T, path string, opt embeddedOptions) *embedded {
	t.Helper()
	e, err := openEmbedded(path, "switchyard:", opt, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// quiet opens on clk without a sweep during the test.
func quiet(clk *storeClock) embeddedOptions {
	return embeddedOptions{lockWait: time.Second, sweepEvery: time.Hour, now: clk.Now}
}

func TestEmbeddedStateSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	clk := newFakeClock()
	clk.FreshWindow(hour)

	s := openEmbeddedAt(t, path, quiet(clk))
	if _, err := s.Admit(ctx, "rpm:search", 10, 4, hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, "budget:search", "a", 1000, 100, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, "budget:search", "b", 1000, 200, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, "budget:search", "a", 90, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "resp:1", []byte("item"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openEmbeddedAt(t, path, quiet(clk))
	if a, _ := s.Admit(ctx, "rpm:search", 10, 0, hour); a.Count != 4 {
		t.Fatalf("window count after restart: %+v", a)
	}
	if spent, reserved, err := s.Usage(ctx, "budget:search"); err != nil || spent != 90 || reserved != 200 {
		t.Fatalf("budget after restart: spent %d reserved %d %v", spent, reserved, err)
	}
	if v, err := s.Get(ctx, "resp:1"); err != nil || string(v) != "item" {
		t.Fatalf("record after restart: %q %v", v, err)
	}
}

func TestEmbeddedSecondProcessGetsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	openEmbeddedAt(t, path, quiet(newFakeClock()))
	// bbolt locks with flock, which conflicts between two opens of one process too.
	_, err := openEmbedded(path, "", embeddedOptions{lockWait: 100 * time.Millisecond, sweepEvery: time.Hour}, zaptest.NewLogger(t))
	if err == nil {
		t.Fatal("a second open of a locked file succeeded")
	}
	// The wait is bbolt's flock timeout, lockWait: the message names it.
	for _, want := range []string{"locked by another process", "(waited 100ms)", "driver: redis"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("unclear error, without %q: %v", want, err)
		}
	}
}

func TestEmbeddedOperationsAfterCloseFail(t *testing.T) {
	s := openEmbeddedAt(t, filepath.Join(t.TempDir(), "state.db"), quiet(newFakeClock()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Admit(context.Background(), "k", 1, 1, hour); err == nil {
		t.Fatal("Admit after Close succeeded")
	}
	if _, err := s.Get(context.Background(), "k"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Close: %v", err)
	}
}

func TestEmbeddedDenialsWriteNothing(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	e := openEmbeddedAt(t, filepath.Join(t.TempDir(), "state.db"), quiet(clk))
	clk.FreshWindow(hour)
	if a, _ := e.Admit(ctx, "rpm", 1, 1, hour); !a.Allowed {
		t.Fatal("first admission refused")
	}
	if r, _ := e.Reserve(ctx, "budget", "a", 10, 10, time.Minute, 0); !r.OK {
		t.Fatal("first reservation refused")
	}
	writes := func() int64 { st := e.db.Stats(); return st.TxStats.GetWrite() }
	before := writes()
	// A client hammering past its limit must not cost a commit (and fsync) each.
	for range 20 {
		if a, err := e.Admit(ctx, "rpm", 1, 1, hour); err != nil || a.Allowed || a.Count != 1 {
			t.Fatalf("%+v %v", a, err)
		}
		if r, err := e.Reserve(ctx, "budget", "b", 10, 1, time.Minute, 0); err != nil || r.OK || r.Reserved != 10 {
			t.Fatalf("%+v %v", r, err)
		}
	}
	if after := writes(); after != before {
		t.Fatalf("denials wrote %d pages", after-before)
	}
}

func TestEmbeddedCanceledContext(t *testing.T) {
	s := openEmbeddedAt(t, filepath.Join(t.TempDir(), "state.db"), quiet(newFakeClock()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Admit(ctx, "k", 1, 1, hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

// rawKeys lists the keys stored in bucket.
func rawKeys(t *testing.T, e *embedded, bucket []byte) []string {
	t.Helper()
	var keys []string
	err := e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestEmbeddedSweepDeletesOnlyExpiredEntries(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	e := openEmbeddedAt(t, filepath.Join(t.TempDir(), "state.db"), quiet(clk))
	// More expired records than one sweep transaction scans, so the sweep resumes.
	err := e.db.Update(func(tx *bolt.Tx) error {
		exp := clk.Now().Add(time.Millisecond).UnixNano()
		for i := range 2*sweepScan + 10 {
			if err := tx.Bucket(bucketRecords).Put(e.key(fmt.Sprintf("old:%05d", i)), appendEntry(nil, exp)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"keep:forever", "keep:long"} {
		ttl := time.Duration(0)
		if k == "keep:long" {
			ttl = time.Hour
		}
		if err := e.Put(ctx, k, []byte("y"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Admit(ctx, "rpm", 10, 1, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reserve(ctx, "budget", "a", 10, 1, time.Minute, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reserve(ctx, "budget:live", "a", 10, 1, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}

	n, err := e.sweep(clk.Now().Add(time.Second).UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*sweepScan + 10 + 2; n != want {
		t.Fatalf("swept %d, want %d", n, want)
	}
	if got := rawKeys(t, e, bucketRecords); strings.Join(got, " ") != "switchyard:keep:forever switchyard:keep:long" {
		t.Fatalf("records left: %v", got)
	}
	if got := rawKeys(t, e, bucketWindows); len(got) != 0 {
		t.Fatalf("windows left: %v", got)
	}
	if got := rawKeys(t, e, bucketBudgets); len(got) != 1 || got[0] != "switchyard:budget:live" {
		t.Fatalf("budgets left: %v", got)
	}
}

func TestEmbeddedSweeperRunsUntilClose(t *testing.T) {
	clk := newFakeClock()
	e := openEmbeddedAt(t, filepath.Join(t.TempDir(), "state.db"),
		embeddedOptions{lockWait: time.Second, sweepEvery: 10 * time.Millisecond, now: clk.Now})
	if err := e.Put(context.Background(), "resp:1", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := rawKeys(t, e, bucketRecords); len(got) != 1 {
		t.Fatalf("records before expiry: %v", got)
	}
	clk.Advance(time.Minute)
	// The sweeper runs every 10ms; the watchdog only tells a stopped sweeper from a
	// slow machine.
	for watchdog := time.Now().Add(time.Minute); len(rawKeys(t, e, bucketRecords)) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(watchdog) {
			t.Fatal("the sweeper never deleted the expired record")
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.swept:
	default:
		t.Fatal("Close returned while the sweeper still ran")
	}
}

func TestEmbeddedCorruptEntryIsAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	e := openEmbeddedAt(t, filepath.Join(t.TempDir(), "state.db"), quiet(newFakeClock()))
	err := e.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if err := tx.Bucket(b).Put(e.key("bad"), []byte{1, 2, 3}); err != nil {
				return err
			}
		}
		// A valid header with a damaged budget payload.
		return tx.Bucket(bucketBudgets).Put(e.key("bad2"), append(appendEntry(nil, 0), 0, 0, 0, 0, 0, 0, 0, 1, 200))
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["admit"] = e.Admit(ctx, "bad", 10, 1, hour)
	_, checks["reserve"] = e.Reserve(ctx, "bad", "a", 10, 1, time.Minute, 0)
	_, _, checks["usage"] = e.Usage(ctx, "bad2")
	_, checks["get"] = e.Get(ctx, "bad")
	for op, err := range checks {
		if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), `"bad`) {
			t.Errorf("%s: %v, want a corrupt-entry error naming the key", op, err)
		}
	}
	// The record can still be replaced.
	if err := e.Put(ctx, "bad", []byte("ok"), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := e.Get(ctx, "bad"); err != nil || string(v) != "ok" {
		t.Fatalf("%q %v", v, err)
	}
}

func TestOpenEmbeddedThroughConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(config.State{Path: path}, nil) // driver "" is embedded
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if g, ok := s.(guarded); !ok {
		t.Fatalf("got %T, want a guarded store", s)
	} else if _, ok := g.s.(*embedded); !ok {
		t.Fatalf("got %T", g.s)
	}
	if _, err := Open(config.State{Driver: "embedded"}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no path: %v", err)
	}
}
