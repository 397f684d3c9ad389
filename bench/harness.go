// Package bench is Switchyard's benchmark harness. On one machine it starts an
// emulated upstream and measures, side by side in one run, the ways to it:
//
//	direct              the client talks to the upstream itself
//	floor               httputil.ReverseProxy with a buffer pool and Switchyard's transport (bench/cmd/bareproxy)
//	switchyard          Switchyard's pass-through path (an openai provider)
//	switchyard-bedrock  Switchyard translating to Bedrock Converse/ConverseStream
//	portkey             a peer gateway run from its published package (peer.go)
//
// and the same first four against the upstream served over TLS with HTTP/2
// (direct-tls, floor-tls, ...). The proxies run as separate processes, so that the
// CPU time and memory read from /proc are theirs alone; the load generator and the
// upstream run in the harness process. Every response and every stream is checked
// to the byte. Run it with `go run ./bench/cmd/harness` (see bench/README.md).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Phases, in the order they run.
var Phases = []string{"throughput", "rate", "streams", "agent", "tls", "idle"}

// Options size a run. Durations are wall-clock time per target and phase.
type Options struct {
	// Smoke runs every phase with tiny counts, for CI: it proves the harness
	// works and that nothing was cut or corrupted, and asserts no timing.
	Smoke bool `json:"smoke"`
	// OutDir receives results.md, results.json, the proxies' logs and the profiles
	// (binaries are built in the user's cache directory, see binDir).
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
	// The agent phase: the agent-sized request (agent.go), AgentRate per second
	// for AgentTime (open loop), at an upstream of AgentLatency, in each format.
	AgentRate    float64       `json:"agent_rate_per_s"`
	AgentTime    time.Duration `json:"agent_time"`
	AgentLatency time.Duration `json:"agent_upstream_latency"`
	// The TLS phase: small requests at Rate for RateTime at an upstream of
	// TLSLatency served over TLS with HTTP/2, then idle streams (IdleStreams).
	TLSLatency time.Duration `json:"tls_upstream_latency"`
	// IdleStreams are the numbers of concurrent idle streams to hold open.
	IdleStreams []int `json:"idle_streams"`
	// Rounds split every measured phase (but idle streams) into this many slices
	// per target, taken in turns (see interleave).
	Rounds int `json:"rounds"`
	// Warm is the warm-up before each measured slice.
	Warm time.Duration `json:"warm"`
	// WarmRequests is what each of 8 clients sends through a freshly started
	// target before it is measured (and streams, a tenth as many).
	WarmRequests int `json:"warm_requests"`
	// MinSamples is the fewest answers a slice of the throughput phase counts: it
	// runs past its time until it has them (a loaded machine answers slowly).
	MinSamples int `json:"min_samples"`
	// Settle is how long the idle-stream phase lets a proxy settle before it reads
	// its memory.
	Settle time.Duration `json:"settle"`
	// Phases to run, of Phases; empty runs them all. A verdict whose phase is
	// left out reads "not run".
	Phases []string `json:"phases,omitempty"`
	// Peer is PeerAuto, PeerOff or PeerRequired (peer.go).
	Peer string `json:"peer"`
	// Profile names the phases during which Switchyard's CPU and allocations are
	// profiled (profile.go); empty takes no profile.
	Profile []string `json:"profile,omitempty"`

	// Log receives progress lines; nil discards them.
	Log io.Writer `json:"-"`
}

// DefaultOptions is the full run, about 12 minutes on two cores.
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
		AgentRate:      25,
		AgentTime:      20 * time.Second,
		AgentLatency:   50 * time.Millisecond,
		TLSLatency:     50 * time.Millisecond,
		// 5,000 streams hold ~10,000 descriptors in the harness (client and upstream
		// ends) and ~10,000 in the proxy: within a limit of 20,000 per process.
		IdleStreams:  []int{1000, 5000},
		Rounds:       5,
		Warm:         time.Second,
		WarmRequests: 25,
		Settle:       time.Second,
		Peer:         PeerAuto,
	}
}

// SmokeOptions run every phase in seconds. Every slice still gathers enough
// samples for every verdict on a loaded machine (MinSamples; the open-loop phases
// wait for every request they sent), and no timing is judged. The peer is left
// out: installing it takes the network.
func SmokeOptions() Options {
	o := DefaultOptions()
	o.Smoke = true
	o.Concurrency = 8
	o.ThroughputTime = 200 * time.Millisecond
	o.MinSamples = 200
	o.Rate = 100
	o.RateTime = 200 * time.Millisecond
	o.StreamRate = 25
	o.StreamTime = 200 * time.Millisecond
	o.StreamChunks = 5
	o.StreamInterval = 2 * time.Millisecond
	// 60 agent-sized requests per target: enough CPU time for the floor to be
	// read in 10 ms ticks.
	o.AgentRate = 60
	o.AgentTime = time.Second
	o.IdleStreams = []int{10, 20} // two counts, as a full run has: each restarts the proxies
	o.Rounds = 2
	o.Warm = 50 * time.Millisecond
	o.WarmRequests = 3
	o.Settle = 100 * time.Millisecond
	o.Peer = PeerOff
	return o
}

// runs reports whether phase is to run.
func (o Options) runs(phase string) bool {
	return len(o.Phases) == 0 || slices.Contains(o.Phases, phase)
}

// Results is everything one run measured.
type Results struct {
	Machine  Machine         `json:"machine"`
	Options  Options         `json:"options"`
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Targets  []*TargetResult `json:"targets"`
	Peer     PeerResult      `json:"peer"`
	Agent    AgentRequest    `json:"agent_request"`
	Verdicts []Verdict       `json:"verdicts"`
	// Notes are what the run could not do, and why (a phase not available).
	Notes []string `json:"notes,omitempty"`
	// Profiles are the profile files written, relative to OutDir.
	Profiles []string `json:"profiles,omitempty"`
}

// AgentRequest describes the agent-sized request of each format.
type AgentRequest struct {
	ChatBytes     int `json:"chat_bytes"`
	ChatMessages  int `json:"chat_messages"`
	MessagesBytes int `json:"messages_bytes"`
	Tools         int `json:"tools"`
}

// TargetResult is one way to the upstream.
type TargetResult struct {
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	Group      string     `json:"group"`
	Throughput Throughput `json:"throughput"`
	OpenLoop   []OpenLoop `json:"open_loop"`
	Streams    Streams    `json:"streams"`
	Agent      []AgentRun `json:"agent,omitempty"`
	Idle       []Idle     `json:"idle,omitempty"`
	// UpstreamH2 and UpstreamH1 are the requests the TLS upstream served over
	// HTTP/2 and HTTP/1.x during this target's slices (TLS targets only).
	UpstreamH2 int64 `json:"upstream_h2,omitempty"`
	UpstreamH1 int64 `json:"upstream_h1,omitempty"`
	// Counts are every response of every phase, checked.
	Counts Counts `json:"counts"`
}

// Bad is the number of responses not delivered whole through Switchyard or direct
// (which would be the harness's own fault). The floor's and the peer's are
// reported, not counted: they are references.
func (r *Results) Bad() int64 {
	var n int64
	for _, t := range r.Targets {
		if t.Kind == kindSwitchyard || t.Kind == kindDirect {
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

// target is Target, or an empty result (no samples) when there is none.
func (r *Results) target(name string) *TargetResult {
	if t := r.Target(name); t != nil {
		return t
	}
	return &TargetResult{Name: name}
}

// group is the results of the targets of a group, in order.
func (r *Results) group(g string) []*TargetResult {
	var out []*TargetResult
	for _, t := range r.Targets {
		if t.Group == g {
			out = append(out, t)
		}
	}
	return out
}

// Unmeasured is the number of verdicts that were to be measured and were not: a
// failure of the run, never a pass.
func (r *Results) Unmeasured() int {
	n := 0
	for _, v := range r.Verdicts {
		if v.Failed() {
			n++
		}
	}
	return n
}

var nonces atomic.Uint64

func init() { nonces.Store(uint64(time.Now().UnixNano()) % 1e12) }

func nextSpec(s Spec) Spec {
	s.Nonce = nonces.Add(1)
	return s
}

// run is one harness run in progress.
type run struct {
	o       Options
	logf    func(string, ...any)
	dir     string
	bin     binaries
	up      *Upstream
	targets []*target
	docs    map[string][]byte // the agent-sized request of each format (agent.go)
	prof    *profiler
	res     *Results
}

// Run builds the proxies, runs every phase and writes results.md and
// results.json to o.OutDir.
func Run(ctx context.Context, o Options) (*Results, error) {
	out := o.Log
	if out == nil {
		out = io.Discard
	}
	var logMu sync.Mutex
	r := &run{o: o, logf: func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}}
	res := &Results{Machine: machine(), Options: o, Started: time.Now()}
	r.res = res
	var err error
	if r.dir, err = filepath.Abs(o.OutDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if r.prof, err = newProfiler(r.dir, o.Profile, r.logf); err != nil {
		return nil, err
	}
	r.logf("building cmd/switchyard and bench/cmd/bareproxy")
	if r.bin, err = build(r.dir, o.SwitchyardBinary, r.prof != nil); err != nil {
		return nil, err
	}
	if r.up, err = StartUpstream(); err != nil {
		return nil, err
	}
	defer r.up.Close()
	if o.runs("tls") {
		tlsDir, err := os.MkdirTemp("", "switchyard-bench-tls")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tlsDir)
		if err := r.up.StartTLS(tlsDir); err != nil {
			return nil, err
		}
	}
	convo := agentConversation()
	r.docs = map[string][]byte{formatChat: convo.render(formatChat), formatMessages: convo.render(formatMessages)}
	marker := len(nextSpec(Spec{Latency: o.AgentLatency, Size: o.Size}).Marker())
	res.Agent = AgentRequest{ChatBytes: newAgentBody(r.docs[formatChat], "bench-openai").size(marker), ChatMessages: agentMessages,
		MessagesBytes: newAgentBody(r.docs[formatMessages], "bench-anthropic").size(marker), Tools: len(convo.tools)}
	if err := r.start(); err != nil {
		return nil, err
	}
	defer r.stopAll()
	for _, t := range r.targets {
		res.Targets = append(res.Targets, &TargetResult{Name: t.name, Kind: t.kind, Group: t.group})
	}
	r.logf("upstream %s; machine: %s, %d cores, %s, Linux %s, load %s", r.up.URL(), res.Machine.CPU, res.Machine.Cores,
		res.Machine.GoVersion, res.Machine.Kernel, res.Machine.LoadBefore)
	r.warm(ctx)
	r.phases(ctx)
	for _, t := range r.targets {
		res.target(t.name).Counts = t.counts.snapshot()
	}
	res.Profiles = r.prof.merge()
	res.Machine.LoadAfter = loadAverage()
	res.Seconds = round3(time.Since(res.Started).Seconds())
	res.Verdicts = verdicts(res)
	if err := write(r.dir, res); err != nil {
		return res, err
	}
	fmt.Fprint(out, verdictText(res))
	return res, ctx.Err()
}

// note records what the run could not do, in the report and the log.
func (r *run) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.res.Notes = append(r.res.Notes, msg)
	r.logf("  %s", msg)
}

func (r *run) stopAll() {
	for _, t := range r.targets {
		if t.proc != nil {
			t.proc.stop()
		}
		t.tr.CloseIdleConnections()
	}
}

// of is the targets of group, in order.
func (r *run) of(group string) []*target {
	var out []*target
	for _, t := range r.targets {
		if t.group == group {
			out = append(out, t)
		}
	}
	return out
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
			for range r.o.WarmRequests {
				t.chat(ctx, nextSpec(Spec{Size: r.o.Size}))
			}
			for range max(1, r.o.WarmRequests/10) {
				t.stream(ctx, r.up, nextSpec(Spec{Chunks: r.o.StreamChunks, Interval: time.Millisecond}), r.up.Now(), nil)
			}
		}()
	}
	wg.Wait()
}

func (r *run) phases(ctx context.Context) {
	for _, phase := range Phases {
		if !r.o.runs(phase) || ctx.Err() != nil {
			continue
		}
		switch phase {
		case "throughput":
			r.throughputPhase(ctx)
		case "rate":
			r.ratePhases(ctx)
		case "streams":
			r.streamPhase(ctx)
		case "agent":
			r.agentPhases(ctx)
		case "tls":
			r.tlsPhase(ctx)
		case "idle":
			r.idlePhases(ctx, r.of(groupH1), "idle")
		}
	}
}

// interleave runs fn for every target in every round, each round in a rotated
// order: the targets take turns in short slices, so that what else happens on the
// machine during a phase falls on all of them alike, not on one.
func (r *run) interleave(ctx context.Context, targets []*target, fn func(t *target)) {
	n := len(targets)
	for round := range r.o.Rounds {
		for k := range n {
			if ctx.Err() != nil {
				return
			}
			fn(targets[(round+k)%n])
		}
	}
}

// slice is one round's share of a phase.
func (r *run) slice(total time.Duration) time.Duration { return total / time.Duration(r.o.Rounds) }

// mark is the hook a measured slice calls when its measurement starts: it starts
// the slice's profiles, and returns what waits for them.
func (r *run) mark(ctx context.Context, phase string, t *target, dur time.Duration) func() func() {
	return func() func() {
		if wait := r.prof.slice(ctx, phase, t, dur); wait != nil {
			return wait
		}
		return func() {}
	}
}

var errNoPhases = errors.New("no phase to run")

// ParsePhases checks a comma-separated list of phases.
func ParsePhases(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, errNoPhases
	}
	for _, p := range list {
		if !slices.Contains(Phases, p) {
			return nil, fmt.Errorf("unknown phase %q (phases: %v)", p, Phases)
		}
	}
	return list, nil
}
