// Package bench is Switchyard's benchmark harness. On one machine it starts an
// emulated upstream and measures, side by side in one run, four ways to it:
//
//	direct              the client talks to the upstream itself
//	bare                through httputil.ReverseProxy (bench/cmd/bareproxy): the floor for any Go proxy
//	switchyard          through Switchyard's pass-through path (an openai provider)
//	switchyard-bedrock  through Switchyard translating to Bedrock Converse/ConverseStream
//
// The proxies run as separate processes, so that the CPU time and memory read
// from /proc are theirs alone; the load generator and the upstream run in the
// harness process. Every response and every stream is checked to the byte. Run it
// with `go run ./bench/cmd/harness` (see bench/README.md).
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options size a run. Durations are wall-clock time per target and phase.
type Options struct {
	// Smoke runs every phase with tiny counts, for CI: it proves the harness
	// works and that nothing was cut or corrupted, and asserts no timing.
	Smoke bool `json:"smoke"`
	// OutDir receives results.md, results.json, the proxies' logs and binaries.
	OutDir string `json:"-"`
	// SwitchyardBinary, when set, is the switchyard under test instead of a build
	// of this tree's cmd/switchyard (to compare two builds).
	SwitchyardBinary string `json:"switchyard_binary,omitempty"`

	// Size is the content of a whole response, in bytes.
	Size int `json:"response_bytes"`
	// Concurrency and ThroughputTime: the closed-loop phase, on a 0 ms upstream.
	Concurrency    int           `json:"concurrency"`
	ThroughputTime time.Duration `json:"throughput_time"`
	// Rate (requests per second) and RateTime: the open-loop phases, one per
	// upstream latency in Latencies.
	Rate      float64         `json:"rate_per_s"`
	RateTime  time.Duration   `json:"rate_time"`
	Latencies []time.Duration `json:"upstream_latencies"`
	// The streaming phase: StreamRate streams per second for StreamTime, each
	// answering after StreamLatency with StreamChunks chunks StreamInterval apart.
	StreamRate     float64       `json:"stream_rate_per_s"`
	StreamTime     time.Duration `json:"stream_time"`
	StreamLatency  time.Duration `json:"stream_upstream_latency"`
	StreamChunks   int           `json:"stream_chunks"`
	StreamInterval time.Duration `json:"stream_interval"`
	// IdleStreams are the numbers of concurrent idle streams to hold open.
	IdleStreams []int `json:"idle_streams"`
	// Rounds split every measured phase (but idle streams) into this many slices
	// per target, taken in turns (see interleave).
	Rounds int `json:"rounds"`
	// Warm is the warm-up before each measured slice.
	Warm time.Duration `json:"warm"`
	// Phases to run, of throughput, rate, streams and idle; empty runs them all
	// (verdicts need all of them).
	Phases []string `json:"phases,omitempty"`

	// Log receives progress lines; nil discards them.
	Log io.Writer `json:"-"`
}

// DefaultOptions is the full run, about 6 minutes on two cores.
func DefaultOptions() Options {
	return Options{
		OutDir:         "bench-results",
		Size:           1024,
		Concurrency:    64,
		ThroughputTime: 10 * time.Second,
		Rate:           400,
		RateTime:       15 * time.Second,
		Latencies:      []time.Duration{0, 50 * time.Millisecond},
		StreamRate:     40,
		StreamTime:     15 * time.Second,
		StreamLatency:  50 * time.Millisecond,
		StreamChunks:   20,
		StreamInterval: 10 * time.Millisecond,
		// 5,000 streams hold ~10,000 descriptors in the harness (client and upstream
		// ends) and ~10,000 in the proxy: within a limit of 20,000 per process.
		IdleStreams: []int{1000, 5000},
		Rounds:      5,
		Warm:        time.Second,
	}
}

// SmokeOptions run every phase in a few seconds.
func SmokeOptions() Options {
	o := DefaultOptions()
	o.Smoke = true
	o.Concurrency = 8
	o.ThroughputTime = 300 * time.Millisecond
	o.Rate = 100
	o.RateTime = 300 * time.Millisecond
	o.StreamRate = 20
	o.StreamTime = 300 * time.Millisecond
	o.StreamChunks = 5
	o.StreamInterval = 2 * time.Millisecond
	o.IdleStreams = []int{20}
	o.Rounds = 2
	o.Warm = 100 * time.Millisecond
	return o
}

// Results is everything one run measured.
type Results struct {
	Machine  Machine         `json:"machine"`
	Options  Options         `json:"options"`
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Targets  []*TargetResult `json:"targets"`
	Verdicts []Verdict       `json:"verdicts"`
}

// TargetResult is one way to the upstream.
type TargetResult struct {
	Name       string     `json:"name"`
	Throughput Throughput `json:"throughput"`
	OpenLoop   []OpenLoop `json:"open_loop"`
	Streams    Streams    `json:"streams"`
	Idle       []Idle     `json:"idle,omitempty"`
	// Counts are every response of every phase, checked.
	Counts Counts `json:"counts"`
}

// Bad is the number of responses not delivered whole through Switchyard or direct
// (which would be the harness's own fault). The bare ReverseProxy's are reported,
// not counted: it is the reference, and it does cut a stream now and then.
func (r *Results) Bad() int64 {
	var n int64
	for _, t := range r.Targets {
		if t.Name != "bare" {
			n += t.Counts.Bad()
		}
	}
	return n
}

// Target returns the result of the target named name, or nil.
func (r *Results) Target(name string) *TargetResult {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

var nonces atomic.Uint64

func init() { nonces.Store(uint64(time.Now().UnixNano()) % 1e12) }

// run is one harness run in progress.
type run struct {
	o       Options
	logf    func(string, ...any)
	dir     string
	bin     binaries
	up      *Upstream
	targets []*target
	admins  map[string]string // Switchyard admin roots by target
}

// Run builds the proxies, runs every phase and writes results.md and
// results.json to o.OutDir.
func Run(ctx context.Context, o Options) (*Results, error) {
	out := o.Log
	if out == nil {
		out = io.Discard
	}
	var logMu sync.Mutex
	r := &run{o: o, admins: map[string]string{}, logf: func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}}
	res := &Results{Machine: machine(), Options: o, Started: time.Now()}
	var err error
	if r.dir, err = filepath.Abs(o.OutDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	r.logf("building cmd/switchyard and bench/cmd/bareproxy")
	if r.bin, err = build(r.dir, o.SwitchyardBinary); err != nil {
		return nil, err
	}
	if r.up, err = StartUpstream(); err != nil {
		return nil, err
	}
	defer r.up.Close()
	if err := r.start(); err != nil {
		return nil, err
	}
	defer r.stopAll()
	for _, t := range r.targets {
		res.Targets = append(res.Targets, &TargetResult{Name: t.name})
	}
	r.logf("upstream %s; machine: %s, %d cores, %s, Linux %s, load %s", r.up.URL(), res.Machine.CPU, res.Machine.Cores,
		res.Machine.GoVersion, res.Machine.Kernel, res.Machine.LoadBefore)
	r.warm(ctx)
	r.phases(ctx, res)
	for i, t := range r.targets {
		res.Targets[i].Counts = t.counts.snapshot()
	}
	res.Machine.LoadAfter = loadAverage()
	res.Seconds = round3(time.Since(res.Started).Seconds())
	res.Verdicts = verdicts(res)
	if err := write(r.dir, res); err != nil {
		return res, err
	}
	fmt.Fprint(out, verdictText(res))
	return res, ctx.Err()
}

// start runs the three proxies and names the four targets.
func (r *run) start() error {
	direct := newTarget("direct", r.up.URL()+"/v1/chat/completions", "bench-model", "", nil)
	r.targets = []*target{direct}
	for _, name := range []string{"bare", "switchyard", "switchyard-bedrock"} {
		t, err := r.startTarget(name, nil)
		if err != nil {
			r.stopAll()
			return err
		}
		r.targets = append(r.targets, t)
	}
	return nil
}

// startTarget starts the proxy of a target; counts carry over from a previous
// process of the same target.
func (r *run) startTarget(name string, counts *tally) (*target, error) {
	var t *target
	switch name {
	case "bare":
		p, root, err := startBare(r.bin, r.dir, r.up.URL())
		if err != nil {
			return nil, err
		}
		t = newTarget(name, root+"/v1/chat/completions", "bench-model", "", p)
	default:
		alias := "bench-openai"
		if name == "switchyard-bedrock" {
			alias = "bench-bedrock"
		}
		p, root, admin, err := startSwitchyard(r.bin, r.dir, name, r.up.URL())
		if err != nil {
			return nil, err
		}
		r.admins[name] = admin
		t = newTarget(name, root+"/v1/chat/completions", alias, benchKey, p)
	}
	if counts != nil {
		t.counts = counts
	}
	return t, nil
}

func (r *run) stopAll() {
	for _, t := range r.targets {
		if t.proc != nil {
			t.proc.stop()
		}
		t.tr.CloseIdleConnections()
	}
}

func nextSpec(s Spec) Spec {
	s.Nonce = nonces.Add(1)
	return s
}

// warm sends a few requests and streams through every target: connections are
// dialed, caches filled, the heap grown to its working size.
func (r *run) warm(ctx context.Context) {
	for _, t := range r.targets {
		r.warmTarget(ctx, t)
	}
}

func (r *run) warmTarget(ctx context.Context, t *target) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				t.chat(ctx, nextSpec(Spec{Size: r.o.Size}))
			}
			for range 2 {
				t.stream(ctx, r.up, nextSpec(Spec{Chunks: r.o.StreamChunks, Interval: time.Millisecond}), r.up.Now(), nil)
			}
		}()
	}
	wg.Wait()
}

// runs reports whether phase is to run.
func (o Options) runs(phase string) bool {
	return len(o.Phases) == 0 || slices.Contains(o.Phases, phase)
}

func (r *run) phases(ctx context.Context, res *Results) {
	o := r.o
	if o.runs("throughput") {
		r.throughputPhase(ctx, res)
	}
	if o.runs("rate") {
		r.ratePhases(ctx, res)
	}
	if o.runs("streams") {
		r.streamPhase(ctx, res)
	}
	if o.runs("idle") {
		r.idlePhases(ctx, res)
	}
}

// interleave runs fn for every target in every round, each round in a rotated
// order: the targets take turns in short slices, so that what else happens on the
// machine during a phase falls on all of them alike, not on one.
func (r *run) interleave(ctx context.Context, fn func(i int, t *target)) {
	n := len(r.targets)
	for round := range r.o.Rounds {
		for k := range n {
			if ctx.Err() != nil {
				return
			}
			i := (round + k) % n
			fn(i, r.targets[i])
		}
	}
}

// slice is one round's share of a phase.
func (r *run) slice(total time.Duration) time.Duration { return total / time.Duration(r.o.Rounds) }

func (r *run) throughputPhase(ctx context.Context, res *Results) {
	o := r.o
	r.logf("throughput: %d concurrent clients for %s in %d rounds, 0 ms upstream, %d-byte responses", o.Concurrency,
		o.ThroughputTime, o.Rounds, o.Size)
	acc := make([]tpSlice, len(r.targets))
	r.interleave(ctx, func(i int, t *target) {
		acc[i] = acc[i].add(throughput(ctx, t, o.Concurrency, o.Warm, r.slice(o.ThroughputTime),
			func() Spec { return nextSpec(Spec{Size: o.Size}) }))
	})
	for i, t := range r.targets {
		tp := acc[i].result(t, o.Concurrency)
		res.Targets[i].Throughput = tp
		r.logf("  %-19s %9.0f req/s  cpu %7.1f ms/1k  rss %6.1f MiB", t.name, tp.RPS, tp.CPUPer1k, tp.RSSMiB)
	}
}

func (r *run) ratePhases(ctx context.Context, res *Results) {
	o := r.o
	for _, lat := range o.Latencies {
		r.logf("open loop: %.0f req/s for %s in %d rounds, %s upstream", o.Rate, o.RateTime, o.Rounds, lat)
		acc := make([]olSlice, len(r.targets))
		r.interleave(ctx, func(i int, t *target) {
			acc[i] = acc[i].add(openLoop(ctx, t, o.Rate, o.Warm, r.slice(o.RateTime),
				func() Spec { return nextSpec(Spec{Latency: lat, Size: o.Size}) }))
		})
		var direct Dist
		for i, t := range r.targets {
			ol := acc[i].result(t, o.Rate)
			ol.UpstreamMS = msOf(lat)
			if i == 0 {
				direct = ol.Latency
			} else {
				ol.AddedP50, ol.AddedP99 = round3(ol.Latency.P50-direct.P50), round3(ol.Latency.P99-direct.P99)
			}
			res.Targets[i].OpenLoop = append(res.Targets[i].OpenLoop, ol)
			r.logf("  %-19s p50 %7.3f  p99 %7.3f  p99.9 %7.3f ms  (added p50 %+.3f p99 %+.3f)  cpu %6.1f ms/1k  rounds' p99 %s",
				t.name, ol.Latency.P50, ol.Latency.P99, ol.Latency.P999, ol.AddedP50, ol.AddedP99, ol.CPUPer1k, spread(ol.RoundP99))
		}
	}
}

func (r *run) streamPhase(ctx context.Context, res *Results) {
	o := r.o
	r.logf("streams: %.0f/s for %s in %d rounds, %s upstream, %d chunks %s apart", o.StreamRate, o.StreamTime, o.Rounds,
		o.StreamLatency, o.StreamChunks, o.StreamInterval)
	acc := make([]stSlice, len(r.targets))
	r.interleave(ctx, func(i int, t *target) {
		acc[i] = acc[i].add(streams(ctx, t, r.up, o.StreamRate, o.Warm, r.slice(o.StreamTime), func() Spec {
			return nextSpec(Spec{Latency: o.StreamLatency, Chunks: o.StreamChunks, Interval: o.StreamInterval})
		}))
	})
	for i, t := range r.targets {
		st := acc[i].result(t, o.StreamRate)
		st.Chunks, st.IntervalMS, st.UpstreamMS = o.StreamChunks, msOf(o.StreamInterval), msOf(o.StreamLatency)
		if i > 0 {
			d := res.Targets[0].Streams
			st.AddedFirstP50, st.AddedFirstP99 = round3(st.FirstToken.P50-d.FirstToken.P50), round3(st.FirstToken.P99-d.FirstToken.P99)
			st.AddedLastP50, st.AddedLastP99 = round3(st.LastToken.P50-d.LastToken.P50), round3(st.LastToken.P99-d.LastToken.P99)
		}
		res.Targets[i].Streams = st
		r.logf("  %-19s first token p50 %7.3f p99 %7.3f  last p50 %7.3f p99 %7.3f  chunk delay p50 %.3f p99 %.3f ms (rounds' p99 %s)",
			t.name, st.FirstToken.P50, st.FirstToken.P99, st.LastToken.P50, st.LastToken.P99, st.ChunkDelay.P50, st.ChunkDelay.P99,
			spread(st.RoundDelayP99))
	}
}

// spread shows the range of per-round figures: "min..max".
func spread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f..%.3f", slices.Min(v), slices.Max(v))
}

// idlePhases measure memory per idle stream, each count on a freshly started
// proxy: a process that served the earlier phases keeps freed heap mapped, and
// streams opened into it would hardly grow its resident set.
func (r *run) idlePhases(ctx context.Context, res *Results) {
	for _, n := range r.o.IdleStreams {
		r.logf("idle streams: %d at once, each paused after its first chunk", n)
		for i, t := range r.targets {
			if t.proc == nil || ctx.Err() != nil {
				continue
			}
			t.proc.stop()
			t.tr.CloseIdleConnections()
			fresh, err := r.startTarget(t.name, t.counts)
			if err != nil {
				r.logf("  %s: %v", t.name, err)
				continue
			}
			r.targets[i] = fresh
			r.warmTarget(ctx, fresh)
			id := idle(ctx, fresh, r.up, n, r.admins[t.name], func() Spec {
				return nextSpec(Spec{Chunks: 4, Interval: time.Millisecond, Pause: true})
			}, r.logf)
			res.Targets[i].Idle = append(res.Targets[i].Idle, id)
			extra := ""
			if id.GoroutinesPer > 0 {
				extra = fmt.Sprintf("  (Go heap %.1f KB, stacks %.1f KB, %.1f goroutines per stream)", id.HeapPerStreamKB,
					id.StackPerStreamKB, id.GoroutinesPer)
			}
			r.logf("  %-19s %d/%d open  rss %6.1f -> %6.1f MiB  %6.1f KB per stream%s", fresh.name, id.Opened, n,
				id.BaseRSSMiB, id.RSSMiB, id.PerStreamKB, extra)
			fresh.tr.CloseIdleConnections()
		}
	}
}
