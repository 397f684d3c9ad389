package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One run writes bench/RESULTS.md, bench/results.json and the README's table
// between its markers, leaving the rest of the README as it was; a run whose
// figures mean nothing, or judge only some targets, writes nothing.
func TestWriteDocs(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bench"), 0o755); err != nil {
		t.Fatal(err)
	}
	readme := "# Switchyard\n\n## Performance\n\nHow to run it.\n\n" + readmeBegin + "\nthe old table\n" + readmeEnd +
		"\n\n## Development\n"
	if err := os.WriteFile(filepath.Join(root, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	res := emptyResults()
	res.Peer = PeerResult{Name: "Portkey AI gateway", Package: portkeyPackage, Version: portkeyVersion, Status: "measured"}
	res.target("switchyard").Throughput = Throughput{RPS: 4321, CPUPer1k: 123.4}
	res.Verdicts = []Verdict{{Source: issue17, Target: "pass-through CPU per request ≤ 1.3× the floor, 1 KB responses",
		Status: Missed, Measured: 1.5, Limit: 1.3, Unit: "×", Detail: "1.500× (123.4 vs 82.3 µs CPU per request)"}}

	for _, bad := range []func(o *Options){
		func(o *Options) { o.Smoke = true },
		func(o *Options) { o.Phases = []string{"agent"} },
	} {
		r := *res
		bad(&r.Options)
		if err := WriteDocs(root, &r); err == nil {
			t.Errorf("options %+v written to the documents", r.Options)
		}
	}
	unmeasured := *res
	unmeasured.Verdicts = []Verdict{{Status: NoSamples}}
	if err := WriteDocs(root, &unmeasured); err == nil {
		t.Error("a run with a verdict over no samples written to the documents")
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "RESULTS.md")); !os.IsNotExist(err) {
		t.Fatalf("a refused run wrote RESULTS.md: %v", err)
	}

	if err := WriteDocs(root, res); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "README.md"))
	before, after, _ := strings.Cut(readme, readmeBegin)
	_, after, _ = strings.Cut(after, readmeEnd)
	if !strings.HasPrefix(string(got), before+readmeBegin) || !strings.HasSuffix(string(got), readmeEnd+after) {
		t.Errorf("the README outside the markers changed:\n%s", got)
	}
	for _, want := range []string{"| switchyard (pass-through) | 4321 | 123.4 |", "**missed** by 0.2×", "Portkey AI gateway, npm `@portkey-ai/gateway@1.15.2`"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("README without %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "the old table") {
		t.Error("the old table is still there")
	}
	md, _ := os.ReadFile(filepath.Join(root, "bench", "RESULTS.md"))
	if !strings.HasPrefix(string(md), "# Latest full run") || !strings.Contains(string(md), "### Verdicts") {
		t.Errorf("RESULTS.md:\n%.400s", md)
	}
	var back Results
	js, _ := os.ReadFile(filepath.Join(root, "bench", "results.json"))
	if err := json.Unmarshal(js, &back); err != nil || back.target("switchyard").Throughput.RPS != 4321 {
		t.Errorf("results.json does not hold the run: %v", err)
	}
}
