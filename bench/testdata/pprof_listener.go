// This file is compiled into cmd/switchyard by the benchmark harness only, with
// go build -overlay, when a run takes profiles (go run ./bench/cmd/harness
// -profile ...): Switchyard itself exposes no pprof endpoint, and a release
// build never has this one. It lives in testdata so that no go command of the
// module compiles it otherwise.

package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// With SWITCHYARD_BENCH_PPROF set to an address (port 0: any free port), serve
// net/http/pprof there and print the bound address, which the harness reads back.
func init() {
	addr := os.Getenv("SWITCHYARD_BENCH_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench pprof:", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // named profiles: heap, allocs (?seconds= for a delta), goroutine
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	fmt.Fprintf(os.Stderr, "bench pprof listening on %s\n", ln.Addr())
	go func() { _ = http.Serve(ln, mux) }()
}
