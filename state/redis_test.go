package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchyard/switchyard/config"
)

func TestRedisTwoReplicasEnforceOneLimitAndOneBudget(t *testing.T) {
	addr := sharedRedis(t)
	prefix := fmt.Sprintf("t%d:", prefixes.Add(1))
	// Two stores with their own clients, as two replicas of the proxy would have.
	a, b := openRedisAt(t, addr, prefix), openRedisAt(t, addr, prefix)
	replicas := []Store{a, b}
	ctx := context.Background()
	realClock.FreshWindow(hour)

	// 200 requests against rpm 50, half through each replica: exactly 50 pass.
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			adm, err := replicas[i%2].Admit(ctx, "rpm:key:search", 50, 1, hour)
			if err != nil {
				t.Error(err)
				return
			}
			if adm.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("%d admitted across two replicas, want exactly 50", allowed.Load())
	}

	// 200 reservations of 7 against 1000: exactly 142 fit in the one budget.
	ok := reserveConcurrently(t, replicas, "budget:key:search:2026-11", 200, 1000, 7)
	if len(ok) != 142 {
		t.Fatalf("%d reservations succeeded across two replicas, want exactly 142", len(ok))
	}
	// Each is settled by the other replica (the one that reserved may be gone).
	for i, id := range ok {
		wg.Go(func() {
			if err := replicas[(i+1)%2].Settle(ctx, "budget:key:search:2026-11", id, 5, time.Hour); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, s := range replicas {
		spent, reserved, err := s.Usage(ctx, "budget:key:search:2026-11")
		if err != nil || spent != 142*5 || reserved != 0 {
			t.Fatalf("usage: spent %d reserved %d %v; want %d, 0", spent, reserved, err, 142*5)
		}
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// everyOperation calls each Store method once and returns their errors by name.
func everyOperation(ctx context.Context, s Store) map[string]error {
	errs := map[string]error{}
	_, errs["Admit"] = s.Admit(ctx, "k", 10, 1, hour)
	errs["Adjust"] = s.Adjust(ctx, "k", 1, hour)
	_, errs["Reserve"] = s.Reserve(ctx, "k", "a", 10, 1, time.Minute, time.Hour)
	errs["Settle"] = s.Settle(ctx, "k", "a", 1, time.Hour)
	_, _, errs["Usage"] = s.Usage(ctx, "k")
	errs["Put"] = s.Put(ctx, "k", []byte("v"), 0)
	_, errs["Get"] = s.Get(ctx, "k")
	errs["Delete"] = s.Delete(ctx, "k")
	_, errs["TablePut"] = s.TablePut(ctx, "k", "row", []byte("v"), AnyVersion)
	_, errs["TableGet"] = s.TableGet(ctx, "k", "row")
	_, errs["TableStamp"] = s.TableStamp(ctx, "k")
	_, errs["TableChanges"] = s.TableChanges(ctx, "k", Stamp{})
	_, errs["TableDelete"] = s.TableDelete(ctx, "k", "row", AnyVersion)
	return errs
}

// assertUnavailable runs every operation against an unreachable Redis: each fails
// with ErrUnavailable instead of hanging.
func assertUnavailable(t *testing.T, s Store) {
	t.Helper()
	var errs map[string]error
	returns(t, func() { errs = everyOperation(context.Background(), s) })
	for op, err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", op, err)
		}
	}
}

// returns runs fn and fails the test if fn has not returned after a minute: the
// watchdog tells a hung call from a slow machine, it does not time the call.
func returns(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a store operation hung")
	}
}

func TestRedisDownIsUnavailable(t *testing.T) {
	const timeout = 200 * time.Millisecond

	t.Run("nothing listens", func(t *testing.T) {
		s, err := openRedis("redis://"+closedPort(t), "", timeout, zap.NewNop())
		if err != nil {
			t.Fatalf("a replica must start while Redis is down: %v", err)
		}
		defer s.Close()
		assertUnavailable(t, s)
	})

	t.Run("server never answers", func(t *testing.T) {
		// A peer that accepts and then says nothing: only the timeout ends the wait.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(io.Discard, c) }()
			}
		}()
		s, err := openRedis("redis://"+l.Addr().String(), "", timeout, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// The store's timeout, not an early error, ends the wait.
		start := time.Now()
		returns(t, func() { _, err = s.Admit(context.Background(), "k", 10, 1, hour) })
		if d := time.Since(start); !errors.Is(err, ErrUnavailable) || d < timeout {
			t.Fatalf("after %s: %v; want ErrUnavailable once the %s timeout ran out", d, err, timeout)
		}
	})

	t.Run("server goes away", func(t *testing.T) {
		srv := ownRedis(t)
		s, err := openRedis("redis://"+srv.Addr, "", timeout, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Admit(context.Background(), "k", 10, 1, hour); err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		assertUnavailable(t, s)
	})
}

func TestRedisCallerCancelIsNotUnavailability(t *testing.T) {
	s, _ := openTestRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Admit(ctx, "k", 10, 1, hour)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v; want context.Canceled, not ErrUnavailable", err)
	}
}

func TestRedisPasswordNeverShows(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	s, err := Open(config.State{Driver: "redis", URL: config.Secret("redis://:hunter2-s3cret@" + closedPort(t)),
		Timeout: 100 * time.Millisecond}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seen []string
	for _, err := range everyOperation(context.Background(), s) {
		seen = append(seen, err.Error())
	}
	for _, e := range logs.All() {
		seen = append(seen, e.Message)
		for k, v := range e.ContextMap() {
			seen = append(seen, fmt.Sprint(k, v))
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no warning logged for an unreachable Redis")
	}
	for _, s := range seen {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password leaked: %s", s)
		}
	}
}

func TestRedisScriptsSurviveAScriptFlush(t *testing.T) {
	addr := sharedRedis(t)
	s, _ := openTestRedis(t)
	ctx := context.Background()
	if _, err := s.Admit(ctx, "k", 10, 1, hour); err != nil {
		t.Fatal(err)
	}
	// A restarted or flushed server no longer knows the scripts: EVALSHA fails with
	// NOSCRIPT and the driver must fall back to EVAL.
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for op, err := range everyOperation(ctx, s) {
		if err != nil {
			t.Errorf("%s after SCRIPT FLUSH: %v", op, err)
		}
	}
}

func TestRedisKeyLayout(t *testing.T) {
	addr := sharedRedis(t)
	prefix := fmt.Sprintf("t%d:", prefixes.Add(1))
	s := openRedisAt(t, addr, prefix)
	ctx := context.Background()
	for op, err := range everyOperation(ctx, s) {
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: %v", op, err)
		}
	}
	if err := s.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	// The caller's key is the hash tag: one key's values share a Cluster slot.
	// A table's keys share the table's name as their hash tag; its emptied rows
	// and versions are gone, its stamp and deletions stay.
	want := map[string]bool{prefix + "rate:{k}": true, prefix + "budget:{k}": true, prefix + "rec:{k}": true,
		prefix + "table:{k}:meta": true, prefix + "table:{k}:dels": true}
	if len(keys) != len(want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected key %q", k)
		}
	}
	// Windows expire with their window; budgets with their ttl; records without ttl
	// do not expire.
	for key, max := range map[string]time.Duration{prefix + "rate:{k}": hour, prefix + "budget:{k}": hour, prefix + "rec:{k}": -1,
		prefix + "table:{k}:meta": -1} {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if (max < 0 && ttl != -1) || (max > 0 && (ttl <= 0 || ttl > max)) {
			t.Errorf("%s: ttl %s", key, ttl)
		}
	}
}
