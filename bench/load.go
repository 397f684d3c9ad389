package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Throughput is the closed-loop phase: a fixed number of clients, each sending its
// next request as soon as the last one is answered.
type Throughput struct {
	Concurrency int     `json:"concurrency"`
	Requests    int64   `json:"requests"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	// CPUPer1k is the proxy process's CPU time (user + system) per 1,000
	// requests, in milliseconds; 0 for direct.
	CPUPer1k float64 `json:"cpu_ms_per_1k"`
	RSSMiB   float64 `json:"rss_mib"`
}

// tpSlice is one slice of the throughput phase, to be merged with the others.
type tpSlice struct {
	n            int64
	elapsed, cpu time.Duration
}

// throughput runs conc clients for warm+dur and counts the answers of dur, going
// on past dur until it counted minN answers (but never for more than a minute).
// mark is called when the measurement starts, and what it returns when it ends.
func throughput(ctx context.Context, t *target, conc int, warm, dur time.Duration, minN int, spec func() Spec,
	mark func() func()) tpSlice {
	var measuring atomic.Bool
	var n atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				o := t.chat(ctx, spec())
				if o.kind == okOutcome && measuring.Load() {
					n.Add(1)
				}
			}
		}()
	}
	sleepCtx(ctx, warm)
	done := mark()
	cpu0 := t.cpu()
	start := time.Now()
	measuring.Store(true)
	sleepCtx(ctx, dur)
	for n.Load() < int64(minN) && time.Since(start) < time.Minute && sleepCtx(ctx, 10*time.Millisecond) {
	}
	measuring.Store(false)
	out := tpSlice{elapsed: time.Since(start), n: n.Load(), cpu: t.cpu() - cpu0}
	// Stopping the clients cancels requests in flight: they are not counted, and
	// not held against the proxy either.
	cancel()
	wg.Wait()
	done()
	return out
}

func (s tpSlice) add(o tpSlice) tpSlice {
	return tpSlice{n: s.n + o.n, elapsed: s.elapsed + o.elapsed, cpu: s.cpu + o.cpu}
}

func (s tpSlice) result(t *target, conc int) Throughput {
	out := Throughput{Concurrency: conc, Requests: s.n, Seconds: round3(s.elapsed.Seconds()), RSSMiB: t.rssMiB()}
	if s.elapsed > 0 {
		out.RPS = round3(float64(s.n) / s.elapsed.Seconds())
	}
	if s.n > 0 && t.proc != nil {
		out.CPUPer1k = round3(msOf(s.cpu) * 1000 / float64(s.n))
	}
	return out
}

// OpenLoop is the fixed-rate phase: requests leave on a fixed timeline whatever
// happened to the ones before, and each latency is measured from the time the
// request was due to leave, not from when it left: a stall of the proxy or of the
// generator shows in every request it delayed (no coordinated omission).
type OpenLoop struct {
	UpstreamMS float64 `json:"upstream_latency_ms"`
	Rate       float64 `json:"rate_per_s"`
	Latency    Dist    `json:"latency"`
	// AddedP50 and AddedP99 are this target's percentiles minus direct's.
	AddedP50 float64 `json:"added_p50_ms"`
	AddedP99 float64 `json:"added_p99_ms"`
	// RoundP50 and RoundP99 are the percentiles of each round alone: their spread
	// is the noise of the machine.
	RoundP50 []float64 `json:"round_p50_ms"`
	RoundP99 []float64 `json:"round_p99_ms"`
	CPUPer1k float64   `json:"cpu_ms_per_1k"`
	// SendLag is how late the generator itself sent requests: the harness's own
	// noise floor on this machine.
	SendLag Dist `json:"send_lag"`
}

// schedule calls fn for rate×(warm+dur) requests on a fixed timeline, each in its
// own goroutine, and returns when all have returned. fn is told whether the
// request is past the warm-up; measured is called once, when the first measured
// request is due.
func schedule(ctx context.Context, rate float64, warm, dur time.Duration, measured func(), fn func(at time.Time, record bool)) []time.Duration {
	period := time.Duration(float64(time.Second) / rate)
	warmN := int(warm / period)
	total := warmN + int(dur/period)
	var lags []time.Duration
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	for i := 0; i < total && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * period)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		record := i >= warmN
		if i == warmN && measured != nil {
			measured()
		}
		if record {
			lags = append(lags, time.Since(at))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(at, record)
		}()
	}
	wg.Wait()
	return lags
}

// olSlice is one slice of an open-loop phase.
type olSlice struct {
	lat, lags []time.Duration
	rounds    []Dist
	n         int64
	cpu       time.Duration
}

// openLoop sends rate×(warm+dur) requests through t on a fixed timeline (do
// sends one and checks its answer) and measures those past the warm-up. mark is
// called when the measurement starts, and what it returns when it ends.
func openLoop(ctx context.Context, t *target, rate float64, warm, dur time.Duration, do func() outcome, mark func() func()) olSlice {
	var mu sync.Mutex
	var out olSlice
	var cpu0 time.Duration
	done := func() {}
	out.lags = schedule(ctx, rate, warm, dur, func() { done = mark(); cpu0 = t.cpu() }, func(at time.Time, record bool) {
		o := do()
		d := time.Since(at)
		if !record || o.kind != okOutcome {
			return
		}
		mu.Lock()
		out.lat = append(out.lat, d)
		out.n++
		mu.Unlock()
	})
	out.cpu = t.cpu() - cpu0
	done()
	out.rounds = []Dist{dist(out.lat)}
	return out
}

func (s olSlice) add(o olSlice) olSlice {
	return olSlice{lat: append(s.lat, o.lat...), lags: append(s.lags, o.lags...), rounds: append(s.rounds, o.rounds...),
		n: s.n + o.n, cpu: s.cpu + o.cpu}
}

func (s olSlice) result(t *target, rate float64) OpenLoop {
	out := OpenLoop{Rate: rate, Latency: dist(s.lat), SendLag: dist(s.lags)}
	for _, r := range s.rounds {
		if r.N == 0 {
			continue // a round without samples has no percentile
		}
		out.RoundP50 = append(out.RoundP50, r.P50)
		out.RoundP99 = append(out.RoundP99, r.P99)
	}
	if s.n > 0 && t.proc != nil {
		out.CPUPer1k = round3(msOf(s.cpu) * 1000 / float64(s.n))
	}
	return out
}

// Streams is the streaming phase, open loop like OpenLoop: time to the first and
// the last token measured from when the stream was due to start, and the delay of
// every chunk from the moment it left the upstream to the moment the client read it.
type Streams struct {
	Rate       float64 `json:"rate_per_s"`
	Chunks     int     `json:"chunks"`
	IntervalMS float64 `json:"interval_ms"`
	UpstreamMS float64 `json:"upstream_latency_ms"`
	FirstToken Dist    `json:"first_token"`
	LastToken  Dist    `json:"last_token"`
	ChunkDelay Dist    `json:"chunk_delay"`
	// RoundDelayP99 is the chunk delay p99 of each round alone.
	RoundDelayP99 []float64 `json:"round_chunk_delay_p99_ms"`
	// Added* are this target's percentiles minus direct's.
	AddedFirstP50 float64 `json:"added_first_token_p50_ms"`
	AddedFirstP99 float64 `json:"added_first_token_p99_ms"`
	AddedLastP50  float64 `json:"added_last_token_p50_ms"`
	AddedLastP99  float64 `json:"added_last_token_p99_ms"`
	// CPUPer1k is the proxy's CPU time per 1,000 streams, in milliseconds.
	CPUPer1k float64 `json:"cpu_ms_per_1k_streams"`
}

// stSlice is one slice of the streaming phase.
type stSlice struct {
	first, last, delays []time.Duration
	roundDelayP99       []float64
	n                   int64
	cpu                 time.Duration
}

func streams(ctx context.Context, t *target, up *Upstream, rate float64, warm, dur time.Duration, spec func() Spec,
	mark func() func()) stSlice {
	var mu sync.Mutex
	var out stSlice
	var cpu0 time.Duration
	done := func() {}
	schedule(ctx, rate, warm, dur, func() { done = mark(); cpu0 = t.cpu() }, func(at time.Time, record bool) {
		st, o := t.stream(ctx, up, spec(), int64(at.Sub(up.epoch)), nil)
		if !record || o.kind != okOutcome {
			return
		}
		mu.Lock()
		out.n++
		out.first = append(out.first, st.firstToken)
		out.last = append(out.last, st.lastToken)
		out.delays = append(out.delays, st.delays...)
		mu.Unlock()
	})
	out.cpu = t.cpu() - cpu0
	done()
	if len(out.delays) > 0 {
		out.roundDelayP99 = []float64{dist(out.delays).P99}
	}
	return out
}

func (s stSlice) add(o stSlice) stSlice {
	return stSlice{first: append(s.first, o.first...), last: append(s.last, o.last...), delays: append(s.delays, o.delays...),
		roundDelayP99: append(s.roundDelayP99, o.roundDelayP99...), n: s.n + o.n, cpu: s.cpu + o.cpu}
}

func (s stSlice) result(t *target, rate float64) Streams {
	out := Streams{Rate: rate, FirstToken: dist(s.first), LastToken: dist(s.last), ChunkDelay: dist(s.delays),
		RoundDelayP99: s.roundDelayP99}
	if s.n > 0 && t.proc != nil {
		out.CPUPer1k = round3(msOf(s.cpu) * 1000 / float64(s.n))
	}
	return out
}

// Idle is the idle-stream phase: N streams open at once, each paused by the
// upstream after its first chunk, and the proxy's memory measured while they wait.
type Idle struct {
	Streams int `json:"streams"`
	Opened  int `json:"opened"`
	// BaseRSSMiB is the proxy's resident set before, RSSMiB with every stream open.
	BaseRSSMiB float64 `json:"base_rss_mib"`
	RSSMiB     float64 `json:"rss_mib"`
	HWMMiB     float64 `json:"hwm_mib"`
	// PerStreamKB is the growth of the resident set divided by the streams, in KB
	// (1,000 bytes), the unit of the target.
	PerStreamKB float64 `json:"per_stream_kb"`
	// Go runtime figures per stream (Switchyard only, from its /metrics): heap and
	// stack in use, and goroutines.
	HeapPerStreamKB  float64 `json:"heap_per_stream_kb,omitempty"`
	StackPerStreamKB float64 `json:"stack_per_stream_kb,omitempty"`
	GoroutinesPer    float64 `json:"goroutines_per_stream,omitempty"`
}

// idle opens n paused streams through t, measures, then releases them and checks
// that every one completes intact.
// opened is called with every stream open, before the streams are released.
func idle(ctx context.Context, t *target, up *Upstream, n int, settle time.Duration, spec func() Spec, opened func(),
	logf func(string, ...any)) Idle {
	admin := t.admin
	out := Idle{Streams: n}
	time.Sleep(settle) // let the warm-up's garbage be collected
	baseRSS, _, _ := t.proc.memory()
	var h0, s0, g0 int64
	if admin != "" {
		h0, s0, g0, _ = goMemory(ctx, admin)
	}
	var open, ended atomic.Int64
	dial := make(chan struct{}, 256) // streams being opened at once: a burst the listen backlog absorbs
	var wg sync.WaitGroup
	for range n {
		dial <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			released := false
			release := func() {
				if !released {
					released = true
					<-dial
				}
			}
			_, _ = t.stream(ctx, up, spec(), up.Now(), func() { open.Add(1); release() })
			release()
			ended.Add(1)
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for open.Load()+ended.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out.Opened = int(open.Load())
	time.Sleep(settle) // let the proxy settle with every stream open
	rss, hwm, _ := t.proc.memory()
	if admin != "" {
		if h1, s1, g1, err := goMemory(ctx, admin); err == nil {
			out.HeapPerStreamKB = round3(float64(h1-h0) / float64(n) / 1000)
			out.StackPerStreamKB = round3(float64(s1-s0) / float64(n) / 1000)
			out.GoroutinesPer = round3(float64(g1-g0) / float64(n))
		}
	}
	if paused := up.Paused(); paused != n {
		logf("  %s: %d streams paused at the upstream, %d wanted", t.name, paused, n)
	}
	opened()
	up.Release()
	wg.Wait()
	out.BaseRSSMiB, out.RSSMiB, out.HWMMiB = mib(baseRSS), mib(rss), mib(hwm)
	out.PerStreamKB = round3(float64(rss-baseRSS) / float64(n) / 1000)
	return out
}

func mib(b int64) float64 { return round3(float64(b) / (1 << 20)) }

func (t *target) cpu() time.Duration {
	if t.proc == nil {
		return 0
	}
	d, _ := t.proc.cpu()
	return d
}

func (t *target) rssMiB() float64 {
	if t.proc == nil {
		return 0
	}
	rss, _, _ := t.proc.memory()
	return mib(rss)
}
