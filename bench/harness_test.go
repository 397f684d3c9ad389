package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole harness with tiny counts, as CI does: the proxies are
// built and started, every phase runs, and every response and stream through every
// target arrives whole. No timing is asserted: this machine's timings mean nothing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the proxies")
	}
	o := SmokeOptions()
	o.OutDir = t.TempDir()
	var log strings.Builder
	o.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, log.String())
	}
	for _, tr := range res.Targets {
		c := tr.Counts
		if c.Requests == 0 || c.OK != c.Requests {
			t.Errorf("%s: %+v", tr.Name, c)
		}
		if tr.Streams.ChunkDelay.N == 0 || tr.Throughput.Requests == 0 || len(tr.OpenLoop) != len(o.Latencies) {
			t.Errorf("%s: a phase measured nothing: %+v", tr.Name, tr)
		}
		if tr.Name != "direct" {
			if len(tr.Idle) != 1 || tr.Idle[0].Opened != o.IdleStreams[0] {
				t.Errorf("%s: idle streams %+v", tr.Name, tr.Idle)
			}
			if tr.Throughput.CPUPer1k <= 0 {
				t.Errorf("%s: no CPU time read for the proxy process", tr.Name)
			}
		}
	}
	if len(res.Verdicts) != 7 {
		t.Errorf("%d verdicts, want 7:\n%s", len(res.Verdicts), verdictText(res))
	}
	for _, name := range []string{"results.md", "results.json"} {
		if fi, err := os.Stat(filepath.Join(o.OutDir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	if t.Failed() {
		t.Log(log.String())
	}
}
