package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Profiles of Switchyard during a phase. Switchyard exposes no pprof endpoint, so
// a profiled run builds cmd/switchyard with one more file, given to go build by
// -overlay (bench/testdata/pprof_listener.go): a net/http/pprof listener on the
// address in SWITCHYARD_BENCH_PPROF. Nothing else differs from the release build.
// During each measured slice of a profiled phase the harness fetches a CPU profile
// and an allocation profile (the delta over the slice) of every Switchyard
// process, and merges each target's slices into one file per kind:
//
//	go tool pprof -top bench-results/profiles/agent-openai-chat-switchyard.cpu.pprof
//
// The idle-stream phase writes a heap profile with every stream open instead.

const (
	pprofEnv  = "SWITCHYARD_BENCH_PPROF"
	pprofLine = "bench pprof listening on "
)

// pprofOverlay writes the overlay that adds the pprof listener to cmd/switchyard.
func pprofOverlay(root, dir string) (string, error) {
	src := filepath.Join(root, "bench", "testdata", "pprof_listener.go")
	dst := filepath.Join(root, "cmd", "switchyard", "zz_bench_pprof.go")
	js, err := json.Marshal(map[string]map[string]string{"Replace": {dst: src}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "pprof-overlay.json")
	return path, os.WriteFile(path, js, 0o644)
}

// profiler takes the profiles of a run; nil takes none.
type profiler struct {
	dir    string   // OutDir/profiles
	phases []string // phases profiled
	logf   func(string, ...any)

	mu     sync.Mutex
	slices map[string][]string // merged file base → the slices' files
	files  []string            // written, relative to the run's directory
}

func newProfiler(outDir string, phases []string, logf func(string, ...any)) (*profiler, error) {
	if len(phases) == 0 {
		return nil, nil
	}
	dir := filepath.Join(outDir, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &profiler{dir: dir, phases: phases, logf: logf, slices: map[string][]string{}}, nil
}

// profiles reports whether phase (say agent-openai-chat, of phase agent) is profiled.
func (p *profiler) profiles(phase string) bool {
	if p == nil {
		return false
	}
	root, _, _ := strings.Cut(phase, "-")
	return slices.Contains(p.phases, root) || slices.Contains(p.phases, phase)
}

// slice starts the CPU and allocation profiles of t for the next dur (whole
// seconds, the unit of the pprof endpoint) and returns a function that waits for
// them; nil when t is not profiled in this phase.
func (p *profiler) slice(ctx context.Context, phase string, t *target, dur time.Duration) func() {
	if !p.profiles(phase) || t.pprof == "" {
		return nil
	}
	secs := max(1, int(math.Ceil(dur.Seconds())))
	base := phase + "-" + t.name
	p.mu.Lock()
	round := len(p.slices[base+".cpu"])
	var wg sync.WaitGroup
	for _, kind := range []struct{ name, path string }{
		{"cpu", "/debug/pprof/profile"},
		{"allocs", "/debug/pprof/allocs"},
	} {
		file := filepath.Join(p.dir, fmt.Sprintf("%s.r%d.%s.pprof", base, round, kind.name))
		p.slices[base+"."+kind.name] = append(p.slices[base+"."+kind.name], file)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetch(ctx, fmt.Sprintf("%s%s?seconds=%d", t.pprof, kind.path, secs), file); err != nil {
				p.logf("  profile %s: %v", filepath.Base(file), err)
			}
		}()
	}
	p.mu.Unlock()
	return wg.Wait
}

// heap writes t's heap profile as it is now, named name, and its goroutines'
// stacks (name.goroutines.txt): what each idle stream holds. The profile is taken
// after a collection (gc=1), so that it holds every stream opened since the last.
func (p *profiler) heap(ctx context.Context, phase string, t *target, name string) {
	if !p.profiles(phase) || t.pprof == "" {
		return
	}
	for _, f := range []struct{ suffix, path string }{
		{".heap.pprof", "/debug/pprof/heap?gc=1"},
		{".goroutines.txt", "/debug/pprof/goroutine?debug=1"},
	} {
		file := filepath.Join(p.dir, name+f.suffix)
		if err := fetch(ctx, t.pprof+f.path, file); err != nil {
			p.logf("  profile %s: %v", filepath.Base(file), err)
			continue
		}
		p.mu.Lock()
		p.files = append(p.files, filepath.Join("profiles", filepath.Base(file)))
		p.mu.Unlock()
	}
}

// merge joins each target's slices into one profile per phase and kind (go tool
// pprof -proto), removes the slices' files, and returns every file written,
// relative to the run's directory.
func (p *profiler) merge() []string {
	if p == nil {
		return nil
	}
	bases := make([]string, 0, len(p.slices))
	for base := range p.slices {
		bases = append(bases, base)
	}
	slices.Sort(bases)
	for _, base := range bases {
		var parts []string
		for _, f := range p.slices[base] {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
				parts = append(parts, f)
			}
		}
		if len(parts) == 0 {
			continue
		}
		out := filepath.Join(p.dir, base+".pprof")
		cmd := exec.Command("go", append([]string{"tool", "pprof", "-proto", "-output", out}, parts...)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			p.logf("  merging %s: %v: %s", filepath.Base(out), err, msg)
			continue
		}
		for _, f := range parts {
			_ = os.Remove(f)
		}
		p.files = append(p.files, filepath.Join("profiles", filepath.Base(out)))
	}
	slices.Sort(p.files)
	return p.files
}

// fetch writes what url answers to file.
func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
