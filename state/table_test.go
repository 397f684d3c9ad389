package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Tables, in the behaviour suite: both drivers alike.

func TestTableRowsAndVersions(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, _ *storeClock) {
		ctx := context.Background()
		if _, err := s.TableGet(ctx, "keys", "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent row: %v", err)
		}
		if st, err := s.TableStamp(ctx, "keys"); err != nil || st != (Stamp{}) {
			t.Fatalf("stamp of a table never written: %+v %v", st, err)
		}
		v1, err := s.TablePut(ctx, "keys", "a", []byte("one"), Absent)
		if err != nil || v1 != 1 {
			t.Fatalf("create: %d %v", v1, err)
		}
		if _, err := s.TablePut(ctx, "keys", "a", []byte("again"), Absent); !errors.Is(err, ErrConflict) {
			t.Fatalf("creating twice: %v, want ErrConflict", err)
		}
		v2, err := s.TablePut(ctx, "keys", "a", []byte("two"), v1)
		if err != nil || v2 != 2 {
			t.Fatalf("update at version 1: %d %v", v2, err)
		}
		if _, err := s.TablePut(ctx, "keys", "a", []byte("stale"), v1); !errors.Is(err, ErrConflict) {
			t.Fatalf("update at a stale version: %v, want ErrConflict", err)
		}
		if _, err := s.TablePut(ctx, "keys", "missing", []byte("x"), 7); !errors.Is(err, ErrConflict) {
			t.Fatalf("update of an absent row at a version: %v, want ErrConflict", err)
		}
		v3, err := s.TablePut(ctx, "keys", "a", []byte("three"), AnyVersion)
		if err != nil || v3 != 3 {
			t.Fatalf("last writer: %d %v", v3, err)
		}
		row, err := s.TableGet(ctx, "keys", "a")
		if err != nil || string(row.Value) != "three" || row.Version != 3 || row.Name != "a" {
			t.Fatalf("get: %+v %v", row, err)
		}
		st, err := s.TableStamp(ctx, "keys")
		if err != nil || st.Seq != 3 || st.Epoch == "" {
			t.Fatalf("stamp: %+v %v", st, err)
		}
		if _, err := s.TableDelete(ctx, "keys", "a", v2); !errors.Is(err, ErrConflict) {
			t.Fatalf("delete at a stale version: %v", err)
		}
		if seq, err := s.TableDelete(ctx, "keys", "a", v3); err != nil || seq != 4 {
			t.Fatalf("delete: %d %v", seq, err)
		}
		if _, err := s.TableDelete(ctx, "keys", "a", AnyVersion); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleting twice: %v, want ErrNotFound", err)
		}
		if _, err := s.TableGet(ctx, "keys", "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted row: %v", err)
		}
		if _, err := s.TableDelete(ctx, "keys", "a", Absent); !errors.Is(err, ErrInvalid) {
			t.Fatalf("delete expecting absence: %v, want ErrInvalid", err)
		}
		// Another table, and a record of the same name, are other values.
		if _, err := s.TableGet(ctx, "teams", "b"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := s.TablePut(ctx, "keys", "b", []byte("row"), Absent); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "keys"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("record namespace: %v", err)
		}
		if other, _ := s.TableStamp(ctx, "teams"); other != (Stamp{}) {
			t.Fatalf("another table moved: %+v", other)
		}
	})
}

func rowNames(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Name+"="+string(r.Value)+"@"+strconv.FormatInt(r.Version, 10))
	}
	slices.Sort(out)
	return out
}

func TestTableChangesAreDeltas(t *testing.T) {
	eachDriver(t, func(t *testing.T, s Store, _ *storeClock) {
		ctx := context.Background()
		if ch, err := s.TableChanges(ctx, "t", Stamp{}); err != nil || ch.Full || len(ch.Rows) != 0 {
			t.Fatalf("empty table from the zero stamp: %+v %v", ch, err)
		}
		for _, n := range []string{"a", "b", "c"} {
			if _, err := s.TablePut(ctx, "t", n, []byte(n), Absent); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.TableChanges(ctx, "t", Stamp{})
		if err != nil || !all.Full || all.Seq != 3 || all.Epoch == "" {
			t.Fatalf("first load: %+v %v", all, err)
		}
		if got := rowNames(all.Rows); !slices.Equal(got, []string{"a=a@1", "b=b@2", "c=c@3"}) {
			t.Fatalf("first load rows %v", got)
		}
		// b changes, c goes, d comes, c comes back: a cache at the first stamp
		// learns exactly that.
		s.TablePut(ctx, "t", "b", []byte("B"), AnyVersion)
		s.TableDelete(ctx, "t", "c", AnyVersion)
		s.TablePut(ctx, "t", "d", []byte("d"), Absent)
		s.TableDelete(ctx, "t", "a", AnyVersion)
		ch, err := s.TableChanges(ctx, "t", all.Stamp)
		if err != nil || ch.Full || ch.Seq != 7 || ch.Epoch != all.Epoch {
			t.Fatalf("delta: %+v %v", ch, err)
		}
		slices.Sort(ch.Deleted)
		if got := rowNames(ch.Rows); !slices.Equal(got, []string{"b=B@4", "d=d@6"}) {
			t.Fatalf("delta rows %v", got)
		}
		if !slices.Equal(ch.Deleted, []string{"a", "c"}) {
			t.Fatalf("delta deletions %v", ch.Deleted)
		}
		s.TablePut(ctx, "t", "c", []byte("c2"), Absent)
		ch2, _ := s.TableChanges(ctx, "t", ch.Stamp)
		if got := rowNames(ch2.Rows); ch2.Full || !slices.Equal(got, []string{"c=c2@8"}) || len(ch2.Deleted) != 0 {
			t.Fatalf("re-created row: %+v", ch2)
		}
		if now, _ := s.TableChanges(ctx, "t", ch2.Stamp); now.Full || len(now.Rows)+len(now.Deleted) != 0 {
			t.Fatalf("nothing changed: %+v", now)
		}
		// A stamp of another epoch, or from the future (a table that lost data),
		// gets the whole table.
		for _, since := range []Stamp{{Epoch: "elsewhere", Seq: 8}, {Epoch: all.Epoch, Seq: 99}} {
			full, err := s.TableChanges(ctx, "t", since)
			if got := rowNames(full.Rows); err != nil || !full.Full || !slices.Equal(got, []string{"b=B@4", "c=c2@8", "d=d@6"}) {
				t.Fatalf("since %+v: %+v %v", since, full, err)
			}
		}
	})
}

// A cache that missed deletions the table no longer remembers must get the whole
// table: otherwise a revoked key would live on in it.
func TestTableForgetsTombstonesSafely(t *testing.T) {
	old := tombstones
	tombstones = 3
	defer func() { tombstones = old }()
	eachDriver(t, func(t *testing.T, s Store, _ *storeClock) {
		ctx := context.Background()
		for i := range 6 {
			s.TablePut(ctx, "t", fmt.Sprint(i), []byte("x"), Absent)
		}
		created, _ := s.TableStamp(ctx, "t")
		for i := range 5 {
			if _, err := s.TableDelete(ctx, "t", fmt.Sprint(i), AnyVersion); err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				afterTwo, _ := s.TableStamp(ctx, "t")
				defer func() {
					// Deletions 3, 4, 5 are remembered: a delta from here is exact.
					ch, err := s.TableChanges(ctx, "t", afterTwo)
					slices.Sort(ch.Deleted)
					if err != nil || ch.Full || !slices.Equal(ch.Deleted, []string{"2", "3", "4"}) {
						t.Errorf("delta after two deletions: %+v %v", ch, err)
					}
				}()
			}
		}
		ch, err := s.TableChanges(ctx, "t", created)
		if err != nil || !ch.Full || len(ch.Rows) != 1 || ch.Rows[0].Name != "5" {
			t.Fatalf("a cache older than the forgotten deletions: %+v %v", ch, err)
		}
	})
}

// Concurrent read-modify-write cycles with a version check lose no update.
func TestTableVersionCheckLosesNoUpdate(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			first, _ := d.open(t)
			stores := []Store{first}
			if d.name == "redis" {
				// Two replicas: their own clients on one table.
				prefix := fmt.Sprintf("t%d:", prefixes.Add(1))
				addr := sharedRedis(t)
				stores = []Store{openRedisAt(t, addr, prefix), openRedisAt(t, addr, prefix)}
			}
			ctx := context.Background()
			if _, err := stores[0].TablePut(ctx, "t", "n", []byte("0"), Absent); err != nil {
				t.Fatal(err)
			}
			var created atomic.Int64
			var conflicts atomic.Int64
			var wg sync.WaitGroup
			const writers = 16
			for i := range writers {
				s := stores[i%len(stores)]
				wg.Go(func() {
					if _, err := s.TablePut(ctx, "t", "once", []byte("x"), Absent); err == nil {
						created.Add(1)
					} else if !errors.Is(err, ErrConflict) {
						t.Error(err)
					}
					for {
						row, err := s.TableGet(ctx, "t", "n")
						if err != nil {
							t.Error(err)
							return
						}
						n, _ := strconv.Atoi(string(row.Value))
						_, err = s.TablePut(ctx, "t", "n", []byte(strconv.Itoa(n+1)), row.Version)
						if err == nil {
							return
						}
						if !errors.Is(err, ErrConflict) {
							t.Error(err)
							return
						}
						conflicts.Add(1)
					}
				})
			}
			wg.Wait()
			row, _ := stores[0].TableGet(ctx, "t", "n")
			t.Logf("%d writers, %d conflicts retried", writers, conflicts.Load())
			if string(row.Value) != strconv.Itoa(writers) || created.Load() != 1 {
				t.Fatalf("counter %s after %d increments, %d creations of one row", row.Value, writers, created.Load())
			}
		})
	}
}

// A Redis that lost the table (flushed, restored from an old snapshot) starts a new
// epoch: a cache then reloads everything instead of trusting its stamp.
func TestRedisTableNewEpochAfterDataLoss(t *testing.T) {
	addr := sharedRedis(t)
	prefix := fmt.Sprintf("t%d:", prefixes.Add(1))
	s := openRedisAt(t, addr, prefix)
	ctx := context.Background()
	for i := range 3 {
		s.TablePut(ctx, "t", fmt.Sprint(i), []byte("old"), Absent)
	}
	before, _ := s.TableStamp(ctx, "t")
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys, _ := c.Keys(ctx, prefix+"table:*").Result()
	if len(keys) != 3 { // meta, rows, vers (no deletion yet)
		t.Fatalf("table keys %v", keys)
	}
	c.Del(ctx, keys...)
	for i := range 4 {
		s.TablePut(ctx, "t", fmt.Sprint(i), []byte("new"), Absent)
	}
	ch, err := s.TableChanges(ctx, "t", before)
	if err != nil || !ch.Full || ch.Epoch == before.Epoch || len(ch.Rows) != 4 {
		t.Fatalf("after data loss: %+v %v", ch, err)
	}
}

// Thousands of rows come back in one reply (the script reads them in chunks).
func TestRedisTableLargeLoad(t *testing.T) {
	addr := sharedRedis(t)
	s := openRedisAt(t, addr, fmt.Sprintf("t%d:", prefixes.Add(1)))
	ctx := context.Background()
	const n = 2500
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := s.TablePut(ctx, "t", fmt.Sprintf("key-%04d", i), []byte(strconv.Itoa(i)), Absent); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ch, err := s.TableChanges(ctx, "t", Stamp{})
	if err != nil || len(ch.Rows) != n || ch.Seq != n {
		t.Fatalf("load: %d rows, seq %d, %v", len(ch.Rows), ch.Seq, err)
	}
	for _, r := range ch.Rows {
		if want := fmt.Sprintf("key-%04s", r.Value); r.Name != want {
			t.Fatalf("row %s has value %s", r.Name, r.Value)
		}
	}
}
