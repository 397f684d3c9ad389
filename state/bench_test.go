package state

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// Run with: go test -run '^$' -bench . -benchmem ./state/
// "serial" is one caller's latency; "parallel" is GOMAXPROCS callers at once, where
// the embedded driver shares one transaction (and fsync) among concurrent writes.

func BenchmarkAdmit(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name+"/serial", func(b *testing.B) {
			s := d.open(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Admit(ctx, "rpm:key:bench", MaxAmount, 1, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/parallel", func(b *testing.B) {
			s := d.open(b)
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
			s := d.open(b)
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
			s := d.open(b)
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
