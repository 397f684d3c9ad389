package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// seededFile writes a real embedded store with enough records to span many pages,
// closes it, and returns its path and the page size.
func seededFile(t *testing.T) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	e := openEmbeddedAt(t, path, embeddedOptions{lockWait: time.Second, sweepEvery: time.Hour})
	ctx := context.Background()
	val := []byte(strings.Repeat("conversation item ", 60))
	// One transaction: a thousand fsyncs would only slow the test down.
	err := e.db.Update(func(tx *bolt.Tx) error {
		for i := range 400 {
			v := appendEntry(nil, 0)
			if err := tx.Bucket(bucketRecords).Put(e.key(fmt.Sprintf("resp:%04d", i)), append(v, val...)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reserve(ctx, "budget:key:app", "r1", 1000, 10, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	pageSize := e.db.Info().PageSize
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return path, pageSize
}

// recordsRoot is the root page of the records bucket: a branch page over the leaves
// holding the conversations.
func recordsRoot(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root int64
	_ = db.View(func(tx *bolt.Tx) error {
		root = int64(tx.Bucket(bucketRecords).RootPage())
		return nil
	})
	if root < 2 {
		t.Fatalf("records bucket root page %d: the seed is too small to span pages", root)
	}
	return root
}

// scribble overwrites pages [from, to) of the file with bytes that are no page.
func scribble(t *testing.T, path string, pageSize int, from, to int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, pageSize)
	for i := range junk {
		junk[i] = byte(i*31 + 7)
	}
	for p := from; p < to; p++ {
		if _, err := f.WriteAt(junk, p*int64(pageSize)); err != nil {
			t.Fatal(err)
		}
	}
}

func pages(t *testing.T, path string, pageSize int) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size() / int64(pageSize)
}

// A file whose pages were overwritten is refused at open with an error that names it
// and says what to do, whether bbolt panics reading it, rejects its meta pages, or
// only the consistency check finds the damage (a page that opening never reads).
func TestCorruptedFileRefusesToOpen(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(t *testing.T, path string, pageSize int)
	}{
		{"every page after the meta pages", func(t *testing.T, path string, ps int) {
			scribble(t, path, ps, 2, pages(t, path, ps))
		}},
		{"both meta pages", func(t *testing.T, path string, ps int) { scribble(t, path, ps, 0, 2) }},
		{"one branch page of the conversations", func(t *testing.T, path string, ps int) {
			root := recordsRoot(t, path)
			scribble(t, path, ps, root, root+1)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, ps := seededFile(t)
			tt.spoil(t, path, ps)
			e, err := openEmbedded(path, "switchyard:", embeddedOptions{lockWait: time.Second, sweepEvery: time.Hour}, zap.NewNop())
			if err == nil {
				e.Close()
				t.Fatal("a corrupted file opened")
			}
			msg := err.Error()
			for _, want := range []string{path + " is corrupted", "mv " + path + " " + path + ".corrupt", "budget", "conversations"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

// The check is bounded by the file's size: a file above the bound opens unchecked,
// with a warning, and a read of its damaged page is an ErrUnavailable error, not a
// panic.
func TestLargeFileOpensUncheckedAndFailsSafely(t *testing.T) {
	path, ps := seededFile(t)
	root := recordsRoot(t, path)
	scribble(t, path, ps, root, root+1)
	core, logs := observer.New(zap.WarnLevel)
	e, err := openEmbedded(path, "switchyard:", embeddedOptions{lockWait: time.Second, sweepEvery: time.Hour,
		checkMaxBytes: int64(ps)}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if logs.FilterMessageSnippet("too large to check").Len() != 1 {
		t.Errorf("no warning that the file was not checked: %v", logs.All())
	}
	_, err = e.Get(context.Background(), "resp:0001")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("read of a damaged page: %v, want ErrUnavailable from a recovered panic", err)
	}
	if n, err := e.sweep(time.Now().UnixNano()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("sweep over a damaged page: %d, %v; want ErrUnavailable", n, err)
	}
}

// Pages damaged while the store is open (another process wrote the file, the disk
// failed): every operation, reads, lone writes and batched concurrent writes alike,
// returns an ErrUnavailable error; none panics, and none waits forever on the lock
// of a write that panicked (bbolt's rollback meets the damaged freelist page too).
func TestCorruptionWhileOpenIsUnavailableNeverAPanic(t *testing.T) {
	path, ps := seededFile(t)
	e := openEmbeddedAt(t, path, embeddedOptions{lockWait: time.Second, sweepEvery: time.Hour})
	ctx := context.Background()
	if _, err := e.Get(ctx, "resp:0001"); err != nil {
		t.Fatal(err)
	}
	// bbolt maps the file shared: what another writer puts there is what it reads.
	scribble(t, path, ps, 2, pages(t, path, ps))

	// Concurrent writes first: some commit alone, some in a batch, and one of them
	// meets the damage first.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			errs <- e.Settle(ctx, fmt.Sprintf("budget:key:%d", i), "r", 1, time.Hour)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("concurrent settle: %v, want ErrUnavailable", err)
		}
	}
	for op, err := range everyOperation(ctx, e) {
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "mv "+path) {
			t.Errorf("%s: %v, want ErrUnavailable saying what to do", op, err)
		}
	}
	if n, err := e.sweep(time.Now().UnixNano()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("sweep: %d, %v; want ErrUnavailable", n, err)
	}
}

func TestGuardTurnsPanicsIntoUnavailable(t *testing.T) {
	g := Guard(panicking{})
	if Guard(g) != g {
		t.Error("guarding a guarded store wraps it again")
	}
	if Guard(nil) != nil {
		t.Error("Guard(nil) is not nil")
	}
	for op, err := range everyOperation(context.Background(), g) {
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "page 7 is garbage") {
			t.Errorf("%s: %v, want ErrUnavailable naming the panic", op, err)
		}
	}
	if err := g.Close(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Close: %v", err)
	}
}

// panicking is a store whose every operation panics.
type panicking struct{}

func (panicking) Admit(context.Context, string, int64, int64, time.Duration) (Admission, error) {
	panic("page 7 is garbage")
}
func (panicking) Adjust(context.Context, string, int64, time.Duration) error {
	panic("page 7 is garbage")
}
func (panicking) Reserve(context.Context, string, string, int64, int64, time.Duration, time.Duration) (Reservation, error) {
	panic("page 7 is garbage")
}
func (panicking) Settle(context.Context, string, string, int64, time.Duration) error {
	panic("page 7 is garbage")
}
func (panicking) Usage(context.Context, string) (int64, int64, error) { panic("page 7 is garbage") }
func (panicking) Put(context.Context, string, []byte, time.Duration) error {
	panic("page 7 is garbage")
}
func (panicking) Get(context.Context, string) ([]byte, error) { panic("page 7 is garbage") }
func (panicking) Delete(context.Context, string) error        { panic("page 7 is garbage") }
func (panicking) Close() error                                { panic("page 7 is garbage") }
func (panicking) TablePut(context.Context, string, string, []byte, int64) (int64, error) {
	panic("page 7 is garbage")
}
func (panicking) TableDelete(context.Context, string, string, int64) (int64, error) {
	panic("page 7 is garbage")
}
func (panicking) TableGet(context.Context, string, string) (Row, error) { panic("page 7 is garbage") }
func (panicking) TableStamp(context.Context, string) (Stamp, error)     { panic("page 7 is garbage") }
func (panicking) TableChanges(context.Context, string, Stamp) (Changes, error) {
	panic("page 7 is garbage")
}
