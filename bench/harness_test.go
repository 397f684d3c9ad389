package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmoke runs the whole harness with tiny counts, as CI does: the proxies are
// built and started (Switchyard as the profiled build, so that profiles are
// taken), every phase runs and measures something for every target that takes
// part, every response and stream through every target arrives whole, the TLS
// upstream is reached over HTTP/2, and every verdict is computed from samples and
// rendered. No timing is asserted: whether a verdict says met or missed here means
// nothing on a loaded machine, only that it was judged on figures.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the proxies")
	}
	o := SmokeOptions()
	o.OutDir = t.TempDir()
	o.Profile = []string{"agent"}
	var log strings.Builder
	o.Log = &log
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, log.String())
	}
	messages := !strings.Contains(strings.Join(res.Notes, "\n"), "Messages format not run: not available")
	for _, tr := range res.Targets {
		c := tr.Counts
		if c.Requests == 0 || c.OK != c.Requests {
			t.Errorf("%s: %+v", tr.Name, c)
		}
		if tr.Kind != kindDirect {
			if len(tr.Idle) != len(o.IdleStreams) {
				t.Errorf("%s: idle streams measured %d times, want %d: %+v", tr.Name, len(tr.Idle), len(o.IdleStreams), tr.Idle)
			}
			for i, id := range tr.Idle {
				if i < len(o.IdleStreams) && id.Opened != o.IdleStreams[i] {
					t.Errorf("%s: %d of %d idle streams opened", tr.Name, id.Opened, o.IdleStreams[i])
				}
			}
		}
		if tr.Group == groupTLS {
			if ol := at(tr, msOf(o.TLSLatency)); ol.Latency.N == 0 {
				t.Errorf("%s: no latency over TLS", tr.Name)
			}
			if tr.UpstreamH2 == 0 || tr.UpstreamH1 != 0 {
				t.Errorf("%s: reached the TLS upstream over HTTP/2 %d times, HTTP/1.x %d times", tr.Name, tr.UpstreamH2, tr.UpstreamH1)
			}
			continue
		}
		if tr.Streams.ChunkDelay.N == 0 || tr.Throughput.Requests == 0 || len(tr.OpenLoop) != len(o.Latencies) {
			t.Errorf("%s: a phase measured nothing: %+v", tr.Name, tr)
		}
		for _, ol := range tr.OpenLoop {
			if ol.Latency.N == 0 {
				t.Errorf("%s: no latency at %.0f ms upstream", tr.Name, ol.UpstreamMS)
			}
		}
		wantFormats := 1
		if messages && tr.Kind != kindPeer {
			wantFormats = 2
		}
		if len(tr.Agent) != wantFormats {
			t.Errorf("%s: agent phase in %d formats, want %d", tr.Name, len(tr.Agent), wantFormats)
		}
		for _, a := range tr.Agent {
			if a.Latency.N == 0 || (tr.Kind != kindDirect && a.CPUPer1k <= 0) {
				t.Errorf("%s: agent phase %s measured nothing: %+v", tr.Name, a.Format, a)
			}
		}
		if tr.Kind != kindDirect && tr.Throughput.CPUPer1k <= 0 {
			t.Errorf("%s: no CPU time read for the proxy process", tr.Name)
		}
	}
	if got, want := len(res.Targets), 8; got != want {
		t.Errorf("%d targets, want %d (the loopback and TLS groups; the peer left out)", got, want)
	}
	if res.Peer.Status != "left out" {
		t.Errorf("peer %+v, want left out", res.Peer)
	}
	if want := len(verdicts(&Results{Options: o})); len(res.Verdicts) != want {
		t.Errorf("%d verdicts, want %d:\n%s", len(res.Verdicts), want, verdictText(res))
	}
	for _, v := range res.Verdicts {
		if v.Status != Met && v.Status != Missed {
			t.Errorf("verdict not judged on figures: %s", v)
		}
	}
	md, err := os.ReadFile(filepath.Join(o.OutDir, "results.md"))
	for _, section := range []string{"### Verdicts", "### Agent-sized requests", "### TLS + HTTP/2 upstream", "### Idle streams", "### Profiles"} {
		if err != nil || !strings.Contains(string(md), section) {
			t.Errorf("results.md without %q: %v", section, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(o.OutDir, "results.json")); err != nil || fi.Size() == 0 {
		t.Errorf("results.json not written: %v", err)
	}
	for _, name := range []string{"switchyard", "switchyard-bedrock"} {
		for _, kind := range []string{"cpu", "allocs"} {
			f := filepath.Join("profiles", "agent-"+formatChat+"-"+name+"."+kind+".pprof")
			if fi, err := os.Stat(filepath.Join(o.OutDir, f)); err != nil || fi.Size() == 0 || !contains(res.Profiles, f) {
				t.Errorf("profile %s not written (%v); profiles %v", f, err, res.Profiles)
			}
		}
	}
	if t.Failed() {
		t.Log(log.String())
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// emptyResults are the results of a run that measured nothing.
func emptyResults() *Results {
	res := &Results{Options: DefaultOptions()}
	for _, name := range []string{"direct", "floor", "switchyard", "switchyard-bedrock"} {
		kind := name
		if strings.HasPrefix(name, "switchyard") {
			kind = kindSwitchyard
		}
		res.Targets = append(res.Targets, &TargetResult{Name: name, Kind: kind, Group: groupH1})
	}
	return res
}

// A verdict over no samples fails: a phase that ran and measured nothing (a
// loaded machine, a proxy that answered nothing) never reads as met.
func TestVerdictWithoutSamplesFails(t *testing.T) {
	res := emptyResults()
	res.Verdicts = verdicts(res)
	if len(res.Verdicts) != 22 {
		t.Fatalf("%d verdicts, want every target listed:\n%s", len(res.Verdicts), verdictText(res))
	}
	for _, v := range res.Verdicts {
		if v.Status != NoSamples || !v.Failed() {
			t.Errorf("over zero samples: %s", v)
		}
	}
	if res.Unmeasured() != len(res.Verdicts) {
		t.Errorf("Unmeasured() = %d, want %d", res.Unmeasured(), len(res.Verdicts))
	}
	text := verdictText(res) + Markdown(res) + ReadmeTable(res)
	if strings.Contains(text, "MET ") || strings.Contains(text, "**met**") {
		t.Errorf("a verdict over zero samples reads as met:\n%s", text)
	}
}

// Samples of one target but not of the other it is compared with are no samples
// either: a ratio against nothing is not a figure. Idle streams that did not all
// open, or a TLS upstream reached over HTTP/1.1, measure something else.
func TestVerdictNeedsBothSides(t *testing.T) {
	res := emptyResults()
	sy, syb := res.target("switchyard"), res.target("switchyard-bedrock")
	sy.Throughput.CPUPer1k = 150
	sy.Counts = Counts{Requests: 10, OK: 10}
	syb.Counts = Counts{Requests: 10, OK: 10}
	sy.Streams.ChunkDelay = Dist{N: 5, P99: 0.4}
	sy.Agent = []AgentRun{{Format: formatChat, OpenLoop: OpenLoop{CPUPer1k: 5000, Latency: Dist{N: 9, P50: 55}}}}
	res.target("floor").Idle = []Idle{{Streams: 1000, Opened: 1000, PerStreamKB: 55}}
	sy.Idle = []Idle{{Streams: 1000, Opened: 1000, PerStreamKB: 50}}
	syb.Idle = []Idle{{Streams: 1000, Opened: 998, PerStreamKB: 50}}
	tls := &TargetResult{Name: "switchyard-tls", Kind: kindSwitchyard, Group: groupTLS, UpstreamH2: 10, UpstreamH1: 3,
		Idle: []Idle{{Streams: 1000, Opened: 1000, PerStreamKB: 30}}}
	res.Targets = append(res.Targets, tls, &TargetResult{Name: "switchyard-bedrock-tls", Kind: kindSwitchyard, Group: groupTLS,
		UpstreamH2: 10, Idle: []Idle{{Streams: 1000, Opened: 1000, PerStreamKB: 30}}})
	byTarget := map[string]Verdict{}
	for _, v := range verdicts(res) {
		byTarget[v.Target] = v
	}
	for target, want := range map[string]Status{
		"pass-through CPU per request ≤ 1.3× the floor, 1 KB responses":                                                         NoSamples, // the floor has none
		"pass-through CPU per request ≤ 2× the floor, ~400 KB agent request in OpenAI's format":                                 NoSamples, // the floor has none
		"added latency beyond the floor at p50 ≤ +1 ms, 50 ms upstream, pass-through, ~400 KB agent request in OpenAI's format": NoSamples,
		"translation CPU per request ≤ 2× pass-through, 1 KB responses":                                                         NoSamples, // Bedrock has none
		"a chunk reaches the client within 1 ms of leaving the upstream (p99)":                                                  NoSamples, // Bedrock has none
		"memory per idle stream ≤ the floor's, HTTP/1.1 upstream":                                                               NoSamples, // 998 of 1000 opened
		"memory per idle stream ≤ 40 KB, TLS + HTTP/2 upstream":                                                                 NoSamples, // HTTP/1.1 reached
		"zero corrupted or cut responses, streams included":                                                                     Met,       // 20 responses, none bad
	} {
		if got := byTarget[target]; got.Status != want {
			t.Errorf("%s: %s, want %s", target, got, want)
		}
	}

	syb.Idle[0].Opened = 1000
	tls.UpstreamH1 = 0
	byTarget = map[string]Verdict{}
	for _, v := range verdicts(res) {
		byTarget[v.Target] = v
	}
	if v := byTarget["memory per idle stream ≤ the floor's, HTTP/1.1 upstream"]; v.Status != Met || v.Measured != -5 {
		t.Errorf("50 KB against the floor's 55: %s", v)
	}
	if v := byTarget["memory per idle stream ≤ 40 KB, TLS + HTTP/2 upstream"]; v.Status != Met {
		t.Errorf("30 KB over HTTP/2: %s", v)
	}

	res.Options.Phases = []string{"throughput"}
	for _, v := range verdicts(res) {
		if strings.HasPrefix(v.Target, "added latency") && v.Status != NotRun {
			t.Errorf("a phase left out with -phases: %s, want not run", v)
		}
	}
}
