// Command harness runs Switchyard's benchmark: direct, a bare ReverseProxy,
// Switchyard's pass-through and its Bedrock translation, side by side against one
// emulated upstream. See bench/README.md.
//
//	go run ./bench/cmd/harness            # the full run, ~6 minutes
//	go run ./bench/cmd/harness -smoke     # every phase in seconds (CI)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
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
	out := flag.String("out", "bench-results", "directory for results.md, results.json, logs and binaries")
	conc := flag.Int("concurrency", 0, "clients of the throughput phase (default 64)")
	rounds := flag.Int("rounds", 0, "slices per target of each measured phase, taken in turns (default 5)")
	rate := flag.Float64("rate", 0, "requests per second of the fixed-rate phases (default 400)")
	rateTime := flag.Duration("rate-time", 0, "duration of each fixed-rate phase (default 15s)")
	tpTime := flag.Duration("throughput-time", 0, "duration of the throughput phase (default 10s)")
	streamTime := flag.Duration("stream-time", 0, "duration of the streaming phase (default 15s)")
	idle := flag.String("idle", "", "comma-separated counts of concurrent idle streams (default 1000,5000)")
	binary := flag.String("switchyard", "", "a switchyard binary to measure instead of building ./cmd/switchyard")
	phases := flag.String("phases", "", "comma-separated phases to run, of throughput,rate,streams,idle (default all; verdicts need all)")
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
	for _, d := range []struct {
		flag *time.Duration
		dst  *time.Duration
	}{{rateTime, &o.RateTime}, {tpTime, &o.ThroughputTime}, {streamTime, &o.StreamTime}} {
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
	if *phases != "" {
		o.Phases = strings.Split(*phases, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	fmt.Printf("\nwrote %s/results.md and results.json\n", o.OutDir)
	if res.Bad() > 0 {
		return 1
	}
	return 0
}
