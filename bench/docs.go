package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The README's performance table lives between these markers; WriteDocs replaces
// what is between them.
const (
	readmeBegin = "<!-- bench:results begin (written by go run ./bench/cmd/harness -docs) -->"
	readmeEnd   = "<!-- bench:results end -->"
)

// WriteDocs writes one full run into the repository at root: bench/RESULTS.md
// (every table), bench/results.json (every figure) and the README's performance
// table, so that the three always come from the same run. A smoke run, a run of
// some phases only, or one with verdicts not measured is refused.
func WriteDocs(root string, res *Results) error {
	switch {
	case res.Options.Smoke:
		return errors.New("a smoke run's figures mean nothing: not written to the documents")
	case len(res.Options.Phases) > 0:
		return errors.New("a run of some phases only leaves targets unjudged: not written to the documents")
	case res.Unmeasured() > 0:
		return fmt.Errorf("%d verdicts without samples: not written to the documents", res.Unmeasured())
	}
	readmePath := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	updated, err := replaceBetween(readme, readmeBegin, readmeEnd, ReadmeTable(res))
	if err != nil {
		return fmt.Errorf("%s: %w", readmePath, err)
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	results := "# Latest full run\n\nWritten by `go run ./bench/cmd/harness -docs` from one run, with the README's performance " +
		"table; how it measures is in [README.md](README.md).\n\n" + Markdown(res)
	for _, f := range []struct {
		path string
		data []byte
	}{
		{filepath.Join(root, "bench", "RESULTS.md"), []byte(results)},
		{filepath.Join(root, "bench", "results.json"), append(js, '\n')},
		{readmePath, updated},
	} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// replaceBetween replaces what lies between the lines begin and end of doc.
func replaceBetween(doc []byte, begin, end, with string) ([]byte, error) {
	i := bytes.Index(doc, []byte(begin))
	j := bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		return nil, fmt.Errorf("no %q ... %q markers", begin, end)
	}
	var b bytes.Buffer
	b.Write(doc[:i+len(begin)])
	b.WriteString("\n" + strings.TrimSpace(with) + "\n")
	b.Write(doc[j:])
	return b.Bytes(), nil
}

// ReadmeTable is the README's performance table: the figures a user weighs, per
// target, and every verdict.
func ReadmeTable(res *Results) string {
	var b strings.Builder
	m, o := res.Machine, res.Options
	fmt.Fprintf(&b, "Latest run: %s, %s, %d cores, %s, Linux %s (load %s before, %s after). Floor: `httputil.ReverseProxy` "+
		"with a buffer pool and Switchyard's transport. Peer: %s, npm `%s@%s` (%s).\n\n",
		res.Started.UTC().Format("2006-01-02"), m.CPU, m.Cores, m.GoVersion, m.Kernel, m.LoadBefore, m.LoadAfter,
		res.Peer.Name, res.Peer.Package, res.Peer.Version, res.Peer.Status)
	fmt.Fprintf(&b, "| target | req/s at %d clients | CPU µs / req, 1 KB answers | CPU ms / req, %.0f KB agent request | "+
		"added beyond direct p50 / p99 ms, 50 ms upstream: small / agent-sized | KB per idle stream: HTTP/1.1 / TLS + HTTP/2 |\n",
		o.Concurrency, float64(res.Agent.ChatBytes)/1000)
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	names := map[string]string{"direct": "direct", "floor": "floor (ReverseProxy)", "switchyard": "switchyard (pass-through)",
		"switchyard-bedrock": "switchyard → Bedrock", "portkey": "Portkey " + res.Peer.Version}
	for _, t := range res.group(groupH1) {
		name := names[t.Name]
		if name == "" {
			name = t.Name
		}
		small, agent := at(t, 50), agentOf(t, formatChat)
		addedSmall, addedAgent := added(t, small), added(t, agent)
		tls := res.Target(t.Name + "-tls")
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s / %s | %s / %s |\n", name, t.Throughput.RPS, dash(t.Throughput.CPUPer1k, "%.1f"),
			dash(agent.CPUPer1k/1000, "%.3f"), addedSmall, addedAgent, worstIdle(t), worstIdle(tls))
	}
	b.WriteString("\n| set by | target | verdict | measured |\n|---|---|---|---|\n")
	for _, v := range res.Verdicts {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", v.Source, v.Target, verdictState(v), v.Detail)
	}
	return b.String()
}

// worstIdle is a target's largest memory per idle stream, or says why there is
// none.
func worstIdle(t *TargetResult) string {
	if t == nil || len(t.Idle) == 0 {
		return "—"
	}
	worst := Idle{}
	for _, id := range t.Idle {
		if id.Opened != id.Streams {
			return perStream(id)
		}
		if id.PerStreamKB > worst.PerStreamKB {
			worst = id
		}
	}
	return perStream(worst)
}
