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

// Verdict is one target of the issue, met or missed by how much.
type Verdict struct {
	Target   string  `json:"target"`
	Met      bool    `json:"met"`
	Measured float64 `json:"measured"`
	Limit    float64 `json:"limit"`
	Unit     string  `json:"unit"`
	Detail   string  `json:"detail"`
}

func (v Verdict) String() string {
	if v.Met {
		return fmt.Sprintf("MET     %s: %s", v.Target, v.Detail)
	}
	return fmt.Sprintf("MISSED  %s: %s (over by %.3g %s)", v.Target, v.Detail, v.Measured-v.Limit, v.Unit)
}

func verdicts(res *Results) []Verdict {
	bare, sy, syb := res.Target("bare"), res.Target("switchyard"), res.Target("switchyard-bedrock")
	var out []Verdict
	if bare.Throughput.CPUPer1k > 0 && sy.Throughput.CPUPer1k > 0 {
		ratio := round3(sy.Throughput.CPUPer1k / bare.Throughput.CPUPer1k)
		out = append(out, Verdict{Target: "pass-through CPU per request ≤ 1.3× bare ReverseProxy", Met: ratio <= 1.3,
			Measured: ratio, Limit: 1.3, Unit: "×",
			Detail: fmt.Sprintf("%.3f× (%.1f vs %.1f ms CPU per 1,000 requests)", ratio, sy.Throughput.CPUPer1k, bare.Throughput.CPUPer1k)})
	}
	if b, s := at(bare, 50), at(sy, 50); b != nil && s != nil {
		p50 := round3(s.Latency.P50 - b.Latency.P50)
		p99 := round3(s.Latency.P99 - b.Latency.P99)
		out = append(out,
			Verdict{Target: "added latency beyond bare at p50 ≤ 0.2 ms (50 ms upstream, fixed rate)", Met: p50 <= 0.2,
				Measured: p50, Limit: 0.2, Unit: "ms",
				Detail: fmt.Sprintf("%+.3f ms (p50 %.3f vs bare %.3f, direct %.3f)", p50, s.Latency.P50, b.Latency.P50, s.Latency.P50-s.AddedP50)},
			Verdict{Target: "added latency beyond bare at p99 ≤ 1 ms (50 ms upstream, fixed rate)", Met: p99 <= 1,
				Measured: p99, Limit: 1, Unit: "ms",
				Detail: fmt.Sprintf("%+.3f ms (p99 %.3f vs bare %.3f, direct %.3f)", p99, s.Latency.P99, b.Latency.P99, s.Latency.P99-s.AddedP99)})
	}
	if sy.Throughput.CPUPer1k > 0 && syb.Throughput.CPUPer1k > 0 {
		ratio := round3(syb.Throughput.CPUPer1k / sy.Throughput.CPUPer1k)
		out = append(out, Verdict{Target: "translation CPU per request ≤ 2× pass-through", Met: ratio <= 2,
			Measured: ratio, Limit: 2, Unit: "×",
			Detail: fmt.Sprintf("%.3f× (%.1f vs %.1f ms CPU per 1,000 requests)", ratio, syb.Throughput.CPUPer1k, sy.Throughput.CPUPer1k)})
	}
	worst, where := 0.0, ""
	for _, t := range []*TargetResult{sy, syb} {
		for _, id := range t.Idle {
			if where == "" || id.PerStreamKB > worst {
				worst, where = id.PerStreamKB, fmt.Sprintf("%s at %d streams", t.Name, id.Streams)
			}
		}
	}
	if where != "" {
		out = append(out, Verdict{Target: "memory per concurrent idle stream ≤ 40 KB", Met: worst <= 40,
			Measured: worst, Limit: 40, Unit: "KB", Detail: fmt.Sprintf("worst %.1f KB (%s)", worst, where)})
	}
	bad := sy.Counts.Bad() + syb.Counts.Bad()
	out = append(out, Verdict{Target: "zero corrupted or cut responses, streams included", Met: bad == 0,
		Measured: float64(bad), Limit: 0, Unit: "responses",
		Detail: fmt.Sprintf("%d bad of %d through Switchyard (bare: %d of %d; direct: %d of %d)", bad,
			sy.Counts.Requests+syb.Counts.Requests, bare.Counts.Bad(), bare.Counts.Requests,
			res.Target("direct").Counts.Bad(), res.Target("direct").Counts.Requests)})
	delay := max(sy.Streams.ChunkDelay.P99, syb.Streams.ChunkDelay.P99)
	if sy.Streams.ChunkDelay.N > 0 {
		out = append(out, Verdict{Target: "a chunk reaches the client within 1 ms of leaving the upstream (p99)", Met: delay <= 1,
			Measured: delay, Limit: 1, Unit: "ms",
			Detail: fmt.Sprintf("p99 %.3f ms pass-through, %.3f ms translated (p50 %.3f / %.3f; direct p99 %.3f)",
				sy.Streams.ChunkDelay.P99, syb.Streams.ChunkDelay.P99, sy.Streams.ChunkDelay.P50, syb.Streams.ChunkDelay.P50,
				res.Target("direct").Streams.ChunkDelay.P99)})
	}
	return out
}

// at is the open-loop phase of a target at an upstream latency in ms, or nil.
func at(t *TargetResult, upstreamMS float64) *OpenLoop {
	for i := range t.OpenLoop {
		if t.OpenLoop[i].UpstreamMS == upstreamMS {
			return &t.OpenLoop[i]
		}
	}
	return nil
}

func verdictText(res *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nverdicts (%d corrupted or cut responses direct and through Switchyard)\n", res.Bad())
	for _, v := range res.Verdicts {
		fmt.Fprintf(&b, "  %s\n", v)
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
	m := res.Machine
	o := res.Options
	fmt.Fprintf(&b, "Run of %s, %.0f s. Machine: %s, %d cores, %s, Linux %s; load average %s before, %s after.\n\n",
		res.Started.UTC().Format("2006-01-02 15:04 MST"), res.Seconds, m.CPU, m.Cores, m.GoVersion, m.Kernel, m.LoadBefore, m.LoadAfter)
	if o.Smoke {
		b.WriteString("**Smoke run: tiny counts, the figures mean nothing.**\n\n")
	}
	fmt.Fprintf(&b, "### Requests (%d-byte completions)\n\n", o.Size)
	fmt.Fprintf(&b, "| target | req/s at %d clients | CPU ms / 1k req | RSS MiB |", o.Concurrency)
	for _, lat := range o.Latencies {
		fmt.Fprintf(&b, " p50 / p99 ms, %.0f ms upstream, %.0f req/s | added p50 / p99 |", msOf(lat), o.Rate)
	}
	b.WriteString("\n|---|---:|---:|---:|")
	for range o.Latencies {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	for _, t := range res.Targets {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s |", t.Name, t.Throughput.RPS, dash(t.Throughput.CPUPer1k, "%.1f"), dash(t.Throughput.RSSMiB, "%.1f"))
		for _, ol := range t.OpenLoop {
			added := "—"
			if t.Name != "direct" {
				added = fmt.Sprintf("%+.3f / %+.3f", ol.AddedP50, ol.AddedP99)
			}
			fmt.Fprintf(&b, " %.3f / %.3f | %s |", ol.Latency.P50, ol.Latency.P99, added)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nCPU per 1,000 requests in the fixed-rate phases (ms):")
	for _, t := range res.Targets[1:] {
		var parts []string
		for _, ol := range t.OpenLoop {
			parts = append(parts, fmt.Sprintf("%.1f at %.0f ms", ol.CPUPer1k, ol.UpstreamMS))
		}
		fmt.Fprintf(&b, " %s %s;", t.Name, strings.Join(parts, ", "))
	}
	if d := res.Target("direct"); d != nil && len(d.OpenLoop) > 0 {
		fmt.Fprintf(&b, " generator send lag p99 %.3f ms.\n", d.OpenLoop[len(d.OpenLoop)-1].SendLag.P99)
	}
	fmt.Fprintf(&b, "\nThe p99 of each of the %d rounds alone (min..max), the noise of the machine:", o.Rounds)
	for _, t := range res.Targets {
		var parts []string
		for _, ol := range t.OpenLoop {
			parts = append(parts, fmt.Sprintf("%s at %.0f ms", spread(ol.RoundP99), ol.UpstreamMS))
		}
		fmt.Fprintf(&b, " %s %s;", t.Name, strings.Join(parts, ", "))
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "### Streams (%.0f/s, %.0f ms upstream, %d chunks %s apart)\n\n", o.StreamRate, msOf(o.StreamLatency), o.StreamChunks, o.StreamInterval)
	b.WriteString("| target | first token p50 / p99 ms | added | last token p50 / p99 ms | added | chunk delay p50 / p99 / max ms | CPU ms / 1k streams |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range res.Targets {
		s := t.Streams
		addF, addL := "—", "—"
		if t.Name != "direct" {
			addF = fmt.Sprintf("%+.3f / %+.3f", s.AddedFirstP50, s.AddedFirstP99)
			addL = fmt.Sprintf("%+.3f / %+.3f", s.AddedLastP50, s.AddedLastP99)
		}
		fmt.Fprintf(&b, "| %s | %.3f / %.3f | %s | %.3f / %.3f | %s | %.3f / %.3f / %.3f | %s |\n", t.Name,
			s.FirstToken.P50, s.FirstToken.P99, addF, s.LastToken.P50, s.LastToken.P99, addL,
			s.ChunkDelay.P50, s.ChunkDelay.P99, s.ChunkDelay.Max, dash(s.CPUPer1k, "%.1f"))
	}
	b.WriteString("\nChunk delay p99 of each round alone (min..max):")
	for _, t := range res.Targets {
		fmt.Fprintf(&b, " %s %s;", t.Name, spread(t.Streams.RoundDelayP99))
	}
	b.WriteString("\n")
	b.WriteString("\n### Idle streams (each paused by the upstream after its first chunk; fresh proxy process per row)\n\n")
	b.WriteString("| target | streams | open | RSS before → with streams MiB | KB per stream | Go heap / stacks KB per stream | goroutines per stream |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range res.Targets {
		for _, id := range t.Idle {
			goFig, gor := "—", "—"
			if id.GoroutinesPer > 0 {
				goFig = fmt.Sprintf("%.1f / %.1f", id.HeapPerStreamKB, id.StackPerStreamKB)
				gor = fmt.Sprintf("%.1f", id.GoroutinesPer)
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %.1f → %.1f | %.1f | %s | %s |\n", t.Name, id.Streams, id.Opened,
				id.BaseRSSMiB, id.RSSMiB, id.PerStreamKB, goFig, gor)
		}
	}
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
	b.WriteString("\n### Verdicts\n\n")
	for _, v := range res.Verdicts {
		state := "**met**"
		if !v.Met {
			state = fmt.Sprintf("**missed** by %.3g %s", v.Measured-v.Limit, v.Unit)
		}
		fmt.Fprintf(&b, "- %s: %s — %s\n", v.Target, state, v.Detail)
	}
	return b.String()
}

func dash(v float64, format string) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
