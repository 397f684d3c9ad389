package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Machine describes where a run ran: figures mean little without it.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GoVersion  string `json:"go"`
	Kernel     string `json:"kernel"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadAverage()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// loadAverage is the 1, 5 and 15-minute load of the machine: the harness shares
// it, and a busy machine shows in the latencies.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func verdictText(res *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nverdicts (%d corrupted or cut responses direct and through Switchyard; %d not measured)\n", res.Bad(),
		res.Unmeasured())
	for _, v := range res.Verdicts {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

func write(dir string, res *Results) error {
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(Markdown(res)), 0o644)
}

// Markdown renders a run as the tables of bench/RESULTS.md.
func Markdown(res *Results) string {
	var b strings.Builder
	m, o := res.Machine, res.Options
	fmt.Fprintf(&b, "Run of %s, %.0f s. Machine: %s, %d cores, %s, Linux %s; load average %s before, %s after.\n\n",
		res.Started.UTC().Format("2006-01-02 15:04 MST"), res.Seconds, m.CPU, m.Cores, m.GoVersion, m.Kernel, m.LoadBefore, m.LoadAfter)
	if o.Smoke {
		b.WriteString("**Smoke run: tiny counts, the figures mean nothing.**\n\n")
	}
	if len(o.Profile) > 0 {
		fmt.Fprintf(&b, "**Profiled run** (%s): Switchyard's CPU figures include the profiler's.\n\n", strings.Join(o.Profile, ", "))
	}
	fmt.Fprintf(&b, "The floor is `httputil.ReverseProxy` with a buffer pool and Switchyard's transport settings. Peer: %s (npm `%s@%s`): %s",
		res.Peer.Name, res.Peer.Package, res.Peer.Version, res.Peer.Status)
	if res.Peer.Reason != "" {
		fmt.Fprintf(&b, " (%s)", res.Peer.Reason)
	}
	b.WriteString(".\n\n")
	verdictTable(&b, res)
	requestsTable(&b, res)
	agentTable(&b, res)
	streamsTable(&b, res)
	tlsTable(&b, res)
	idleTable(&b, res)
	b.WriteString("\n### Responses checked\n\n| target | responses | ok | failed | cut | corrupt |\n|---|---:|---:|---:|---:|---:|\n")
	for _, t := range res.Targets {
		c := t.Counts
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", t.Name, c.Requests, c.OK, c.Failed, c.Cut, c.Corrupt)
	}
	for _, t := range res.Targets {
		if t.Counts.Example != "" {
			fmt.Fprintf(&b, "\nFirst failure through %s: `%s`\n", t.Name, t.Counts.Example)
		}
	}
	if len(res.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(res.Profiles) > 0 {
		b.WriteString("\n### Profiles\n\n")
		for _, p := range res.Profiles {
			fmt.Fprintf(&b, "- `%s`\n", p)
		}
	}
	return b.String()
}

// verdictState is a verdict's outcome in a table cell.
func verdictState(v Verdict) string {
	if v.Status == Missed {
		return "**missed** by " + v.Over()
	}
	return "**" + string(v.Status) + "**"
}

func verdictTable(b *strings.Builder, res *Results) {
	b.WriteString("### Verdicts\n\n| set by | target | verdict | measured |\n|---|---|---|---|\n")
	for _, v := range res.Verdicts {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", v.Source, v.Target, verdictState(v), v.Detail)
	}
}

func requestsTable(b *strings.Builder, res *Results) {
	o := res.Options
	targets := res.group(groupH1)
	fmt.Fprintf(b, "\n### Requests (%d-byte completions, loopback HTTP/1.1 upstream)\n\n", o.Size)
	fmt.Fprintf(b, "| target | req/s at %d clients | CPU µs / req | × floor | RSS MiB |", o.Concurrency)
	for _, lat := range o.Latencies {
		fmt.Fprintf(b, " p50 / p99 ms, %.0f ms upstream, %.0f req/s | added p50 / p99 |", msOf(lat), o.Rate)
	}
	b.WriteString("\n|---|---:|---:|---:|---:|")
	for range o.Latencies {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	floor := res.target("floor").Throughput.CPUPer1k
	for _, t := range targets {
		fmt.Fprintf(b, "| %s | %.0f | %s | %s | %s |", t.Name, t.Throughput.RPS, dash(t.Throughput.CPUPer1k, "%.1f"),
			dash(ratioOf(t.Throughput.CPUPer1k, floor), "%.2f×"), dash(t.Throughput.RSSMiB, "%.1f"))
		for _, lat := range o.Latencies {
			ol := at(t, msOf(lat))
			fmt.Fprintf(b, " %s | %s |", p50p99(ol.Latency), added(t, ol))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\nCPU µs per request in the fixed-rate phases:")
	for _, t := range targets {
		if t.Kind == kindDirect {
			continue
		}
		var parts []string
		for _, ol := range t.OpenLoop {
			parts = append(parts, fmt.Sprintf("%.1f at %.0f ms", ol.CPUPer1k, ol.UpstreamMS))
		}
		fmt.Fprintf(b, " %s %s;", t.Name, strings.Join(parts, ", "))
	}
	if d := res.target("direct"); len(d.OpenLoop) > 0 {
		fmt.Fprintf(b, " generator send lag p99 %.3f ms.", d.OpenLoop[len(d.OpenLoop)-1].SendLag.P99)
	}
	fmt.Fprintf(b, "\n\nThe p99 of each of the %d rounds alone (min..max), the noise of the machine:", o.Rounds)
	for _, t := range targets {
		var parts []string
		for _, ol := range t.OpenLoop {
			parts = append(parts, fmt.Sprintf("%s at %.0f ms", spread(ol.RoundP99), ol.UpstreamMS))
		}
		fmt.Fprintf(b, " %s %s;", t.Name, strings.Join(parts, ", "))
	}
	b.WriteString("\n")
}

// p50p99 is a distribution's median and 99th percentile, or says it has no samples.
func p50p99(d Dist) string {
	if d.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("%.3f / %.3f", d.P50, d.P99)
}

// added is a target's latency beyond direct's, or a dash for direct and for a
// target without samples.
func added(t *TargetResult, ol OpenLoop) string {
	if t.Kind == kindDirect || ol.Latency.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%+.3f / %+.3f", ol.AddedP50, ol.AddedP99)
}

func agentTable(b *strings.Builder, res *Results) {
	o, a := res.Options, res.Agent
	fmt.Fprintf(b, "\n### Agent-sized requests (%.0f KB, %d messages, %d tools; %.0f/s, %.0f ms upstream, %d-byte answers)\n\n",
		float64(a.ChatBytes)/1000, a.ChatMessages, a.Tools, o.AgentRate, msOf(o.AgentLatency), o.Size)
	b.WriteString("| target | format | p50 / p99 ms | added beyond direct p50 / p99 | added beyond the floor p50 / p99 | CPU ms / req | × floor | rounds' p99 |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|\n")
	floor := res.target("floor")
	for _, format := range []string{formatChat, formatMessages} {
		f := agentOf(floor, format)
		for _, t := range res.group(groupH1) {
			ol, ok := OpenLoop{}, false
			for _, run := range t.Agent {
				if run.Format == format {
					ol, ok = run.OpenLoop, true
				}
			}
			if !ok {
				continue
			}
			beyond := "—"
			if t.Kind != kindDirect && t.Kind != kindFloor && ol.Latency.N > 0 && f.Latency.N > 0 {
				beyond = fmt.Sprintf("%+.3f / %+.3f", ol.Latency.P50-f.Latency.P50, ol.Latency.P99-f.Latency.P99)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", t.Name, format, p50p99(ol.Latency),
				added(t, ol), beyond, dash(ol.CPUPer1k/1000, "%.3f"), dash(ratioOf(ol.CPUPer1k, f.CPUPer1k), "%.2f×"), spread(ol.RoundP99))
		}
	}
}

func streamsTable(b *strings.Builder, res *Results) {
	o := res.Options
	fmt.Fprintf(b, "\n### Streams (%.0f/s, %.0f ms upstream, %d chunks %s apart)\n\n", o.StreamRate, msOf(o.StreamLatency), o.StreamChunks, o.StreamInterval)
	b.WriteString("| target | first token p50 / p99 ms | added | last token p50 / p99 ms | added | chunk delay p50 / p99 / max ms | CPU ms / 1k streams |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	targets := res.group(groupH1)
	for _, t := range targets {
		s := t.Streams
		addF, addL := "—", "—"
		if t.Kind != kindDirect && s.FirstToken.N > 0 {
			addF = fmt.Sprintf("%+.3f / %+.3f", s.AddedFirstP50, s.AddedFirstP99)
			addL = fmt.Sprintf("%+.3f / %+.3f", s.AddedLastP50, s.AddedLastP99)
		}
		delay := "no samples"
		if s.ChunkDelay.N > 0 {
			delay = fmt.Sprintf("%.3f / %.3f / %.3f", s.ChunkDelay.P50, s.ChunkDelay.P99, s.ChunkDelay.Max)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", t.Name, p50p99(s.FirstToken), addF, p50p99(s.LastToken), addL,
			delay, dash(s.CPUPer1k, "%.1f"))
	}
	b.WriteString("\nChunk delay p99 of each round alone (min..max):")
	for _, t := range targets {
		fmt.Fprintf(b, " %s %s;", t.Name, spread(t.Streams.RoundDelayP99))
	}
	b.WriteString("\n")
}

func tlsTable(b *strings.Builder, res *Results) {
	o := res.Options
	targets := res.group(groupTLS)
	if len(targets) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### TLS + HTTP/2 upstream (%d-byte completions, %.0f req/s, %.0f ms upstream)\n\n", o.Size, o.Rate, msOf(o.TLSLatency))
	b.WriteString("| target | p50 / p99 ms | added beyond direct p50 / p99 | CPU µs / req | upstream requests over HTTP/2 / HTTP/1.x |\n")
	b.WriteString("|---|---:|---:|---:|---:|\n")
	for _, t := range targets {
		ol := at(t, msOf(o.TLSLatency))
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d / %d |\n", t.Name, p50p99(ol.Latency), added(t, ol),
			dash(ol.CPUPer1k, "%.1f"), t.UpstreamH2, t.UpstreamH1)
	}
}

func idleTable(b *strings.Builder, res *Results) {
	b.WriteString("\n### Idle streams (each paused by the upstream after its first chunk; fresh proxy process per row)\n\n")
	b.WriteString("| target | upstream | streams | open | RSS before → with streams MiB | KB per stream | Go heap / stacks KB per stream | goroutines per stream |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range res.Targets {
		up := "HTTP/1.1"
		if t.Group == groupTLS {
			up = "TLS + HTTP/2"
		}
		for _, id := range t.Idle {
			goFig, gor := "—", "—"
			if id.GoroutinesPer > 0 {
				goFig = fmt.Sprintf("%.1f / %.1f", id.HeapPerStreamKB, id.StackPerStreamKB)
				gor = fmt.Sprintf("%.1f", id.GoroutinesPer)
			}
			fmt.Fprintf(b, "| %s | %s | %d | %d | %.1f → %.1f | %s | %s | %s |\n", t.Name, up, id.Streams, id.Opened,
				id.BaseRSSMiB, id.RSSMiB, perStream(id), goFig, gor)
		}
	}
}

// perStream is the memory per idle stream, or says that not every stream opened
// (the growth of the resident set is then not theirs alone).
func perStream(id Idle) string {
	if id.Opened != id.Streams {
		return "no samples"
	}
	return fmt.Sprintf("%.1f", id.PerStreamKB)
}

func dash(v float64, format string) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
