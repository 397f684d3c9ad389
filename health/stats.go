package health

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ewmaWeight is the weight of a new sample in the moving averages: about the last
// 20 attempts dominate, so a target that slows down is noticed within seconds under
// load and a single outlier does not flip routing.
const ewmaWeight = 0.1

// window is how many recent latencies the p95 is computed over.
const window = 128

// stats are a target's recent figures. Averages are updated under a small mutex;
// attempts are far rarer than the nanoseconds the lock costs.
type stats struct {
	samples atomic.Int64

	mu      sync.Mutex
	latency float64 // EWMA, nanoseconds
	ttft    float64 // EWMA, nanoseconds (streams)
	success float64 // EWMA of 1 (ok) / 0 (failed)
	ring    [window]time.Duration
	next    int
	filled  int
	p95v    time.Duration
	p95At   int64 // samples count when p95 was computed
}

func (s *stats) init() { s.success = 1 }

func (s *stats) observe(ok bool, latency, ttft time.Duration) {
	s.samples.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	okv := 0.0
	if ok {
		okv = 1
	}
	s.success += ewmaWeight * (okv - s.success)
	if !ok {
		return // a failure's duration is not the target's latency
	}
	s.latency = ewma(s.latency, float64(latency))
	if ttft > 0 {
		s.ttft = ewma(s.ttft, float64(ttft))
	}
	sample := latency
	if ttft > 0 {
		sample = ttft
	}
	s.ring[s.next] = sample
	s.next = (s.next + 1) % window
	s.filled = min(s.filled+1, window)
}

func ewma(avg, v float64) float64 {
	if avg == 0 {
		return v
	}
	return avg + ewmaWeight*(v-avg)
}

func (s *stats) estimates() (latency, ttft time.Duration, success float64, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.latency), time.Duration(s.ttft), s.success, s.samples.Load()
}

// p95 of the recent window, recomputed only when new samples arrived.
func (s *stats) p95() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.samples.Load()
	if s.filled == 0 || n == s.p95At {
		return s.p95v
	}
	sorted := make([]time.Duration, s.filled)
	copy(sorted, s.ring[:s.filled])
	slices.Sort(sorted)
	s.p95v = sorted[(len(sorted)*95-1)/100]
	s.p95At = n
	return s.p95v
}

func (s *stats) copyFrom(o *stats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.ttft, s.success = o.latency, o.ttft, o.success
	s.ring, s.next, s.filled = o.ring, o.next, o.filled
	s.samples.Store(o.samples.Load())
}
