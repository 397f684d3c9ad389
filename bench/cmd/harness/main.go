// Command harness runs Switchyard's benchmark: direct, the floor (a ReverseProxy
// with a buffer pool), Switchyard's pass-through and its Bedrock translation, and a
// peer gateway, side by side against one emulated upstream, over HTTP/1.1 and over
// TLS with HTTP/2. See bench/README.md.
//
//	go run ./bench/cmd/harness                  # the full run, ~12 minutes
//	go run ./bench/cmd/harness -smoke           # every phase in seconds (CI)
//	go run ./bench/cmd/harness -docs            # the full run, written to bench/RESULTS.md and the README
//	go run ./bench/cmd/harness -phases agent -profile agent   # where the CPU of a 400 KB request goes
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	smoke := flag.Bool("smoke", false, "run every phase with tiny counts (CI): checks the harness and the responses, not timings")
	out := flag.String("out", "bench-results", "directory for results.md, results.json, logs and profiles")
	conc := flag.Int("concurrency", 0, "clients of the throughput phase (default 64)")
	rounds := flag.Int("rounds", 0, "slices per target of each measured phase, taken in turns (default 5)")
	rate := flag.Float64("rate", 0, "requests per second of the fixed-rate phases (default 400)")
	rateTime := flag.Duration("rate-time", 0, "duration of each fixed-rate phase, and of the TLS phase's (default 15s)")
	tpTime := flag.Duration("throughput-time", 0, "duration of the throughput phase (default 10s)")
	streamTime := flag.Duration("stream-time", 0, "duration of the streaming phase (default 15s)")
	agentRate := flag.Float64("agent-rate", 0, "agent-sized requests per second (default 25)")
	agentTime := flag.Duration("agent-time", 0, "duration of the agent phase, per format (default 20s)")
	idle := flag.String("idle", "", "comma-separated counts of concurrent idle streams (default 1000,5000)")
	binary := flag.String("switchyard", "", "a switchyard binary to measure instead of building ./cmd/switchyard")
	phases := flag.String("phases", "", "comma-separated phases to run, of "+strings.Join(bench.Phases, ",")+
		" (default all; the verdicts of the others read \"not run\")")
	peer := flag.String("peer", "", "the peer gateway: auto (measured when it can be installed and run), off, or required "+
		"(default auto; off with -smoke)")
	profile := flag.String("profile", "", "comma-separated phases during which to profile Switchyard's CPU and allocations "+
		"(written to OUT/profiles)")
	docs := flag.Bool("docs", false, "write the run to bench/RESULTS.md, bench/results.json and the README's performance table "+
		"(full runs only)")
	flag.Parse()

	o := bench.DefaultOptions()
	if *smoke {
		o = bench.SmokeOptions()
	}
	o.OutDir = *out
	o.SwitchyardBinary = *binary
	o.Log = os.Stdout
	if *conc > 0 {
		o.Concurrency = *conc
	}
	if *rounds > 0 {
		o.Rounds = *rounds
	}
	if *rate > 0 {
		o.Rate = *rate
	}
	if *agentRate > 0 {
		o.AgentRate = *agentRate
	}
	for _, d := range []struct {
		flag *time.Duration
		dst  *time.Duration
	}{{rateTime, &o.RateTime}, {tpTime, &o.ThroughputTime}, {streamTime, &o.StreamTime}, {agentTime, &o.AgentTime}} {
		if *d.flag > 0 {
			*d.dst = *d.flag
		}
	}
	if *idle != "" {
		o.IdleStreams = nil
		for _, s := range strings.Split(*idle, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "harness: -idle: %q is not a positive count\n", s)
				return 2
			}
			o.IdleStreams = append(o.IdleStreams, n)
		}
	}
	var err error
	if *phases != "" {
		if o.Phases, err = bench.ParsePhases(strings.Split(*phases, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "harness: -phases:", err)
			return 2
		}
	}
	if *profile != "" {
		if o.Profile, err = bench.ParsePhases(strings.Split(*profile, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "harness: -profile:", err)
			return 2
		}
	}
	if *peer != "" {
		if !slices.Contains([]string{bench.PeerAuto, bench.PeerOff, bench.PeerRequired}, *peer) {
			fmt.Fprintf(os.Stderr, "harness: -peer: %q is not auto, off or required\n", *peer)
			return 2
		}
		o.Peer = *peer
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	fmt.Printf("\nwrote %s/results.md and results.json\n", o.OutDir)
	if *docs {
		root, err := bench.ModuleRoot()
		if err == nil {
			err = bench.WriteDocs(root, res)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "harness: -docs:", err)
			return 1
		}
		fmt.Printf("wrote %s, %s and the README's performance table\n", filepath.Join("bench", "RESULTS.md"),
			filepath.Join("bench", "results.json"))
	}
	if res.Bad() > 0 || res.Unmeasured() > 0 {
		return 1
	}
	return 0
}
