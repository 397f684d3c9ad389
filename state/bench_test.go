package state

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Run with: go test -run '^$' -bench . -benchmem ./state/
// "serial" is one caller's latency; "parallel" is GOMAXPROCS callers at once, where
// the embedded driver shares one transaction (and fsync) among concurrent writes.

func BenchmarkAdmit(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name+"/serial", func(b *testing.B) {
			s, _ := d.open(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Admit(ctx, "rpm:key:bench", MaxAmount, 1, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/parallel", func(b *testing.B) {
			s, _ := d.open(b)
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := s.Admit(ctx, "rpm:key:bench", MaxAmount, 1, time.Minute); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkReserveSettle(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name+"/serial", func(b *testing.B) {
			s, _ := d.open(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.Reserve(ctx, "budget:key:bench", "req", MaxAmount, 1000, time.Minute, time.Hour)
				if err != nil || !r.OK {
					b.Fatal(r, err)
				}
				if err := s.Settle(ctx, "budget:key:bench", "req", 900, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/parallel", func(b *testing.B) {
			s, _ := d.open(b)
			var ids atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				id := "req-" + strconv.FormatInt(ids.Add(1), 10)
				for pb.Next() {
					r, err := s.Reserve(ctx, "budget:key:bench", id, MaxAmount, 1000, time.Minute, time.Hour)
					if err != nil || !r.OK {
						b.Error(r, err)
						return
					}
					if err := s.Settle(ctx, "budget:key:bench", id, 900, time.Hour); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkOpenCheck is the consistency check run when the embedded store opens, on a
// 100 MB file: 22,000 conversation records of 3.8 KB and 100,000 small counter and
// budget entries, in the page cache (a cold read from disk adds the time to read
// the file once).
func BenchmarkOpenCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	record, counter := make([]byte, 3800), make([]byte, 100)
	for batch := range 100 {
		err := db.Update(func(tx *bolt.Tx) error {
			recs, _ := tx.CreateBucketIfNotExists(bucketRecords)
			small, _ := tx.CreateBucketIfNotExists(bucketWindows)
			for i := range 1000 {
				k := []byte(strconv.Itoa(batch*1000 + i))
				if i < 220 {
					if err := recs.Put(k, record); err != nil {
						return err
					}
				}
				if err := small.Put(k, counter); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := verify(db, path, defaultCheckMaxBytes, zap.NewNop()); err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
	}
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
}
