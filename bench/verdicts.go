package bench

import (
	"fmt"
	"strings"
)

// Status is a verdict's outcome. A target measured over no samples is a failure,
// never a pass: a phase that measured nothing says nothing about the target.
type Status string

const (
	Met       Status = "met"
	Missed    Status = "missed"
	NoSamples Status = "no samples"
	// NotRun is a target whose phase was left out with -phases: not a failure.
	NotRun Status = "not run"
)

// Verdict is one target of the issues, met or missed by how much.
type Verdict struct {
	// Source is where the target was set: issue 17, or the earlier targets it
	// kept.
	Source   string  `json:"source"`
	Target   string  `json:"target"`
	Status   Status  `json:"status"`
	Measured float64 `json:"measured"`
	Limit    float64 `json:"limit"`
	Unit     string  `json:"unit"`
	Detail   string  `json:"detail"`
}

func (v Verdict) String() string {
	switch v.Status {
	case Met:
		return fmt.Sprintf("MET         %s: %s", v.Target, v.Detail)
	case Missed:
		return fmt.Sprintf("MISSED      %s: %s (over by %s)", v.Target, v.Detail, v.Over())
	case NotRun:
		return fmt.Sprintf("NOT RUN     %s: %s", v.Target, v.Detail)
	}
	return fmt.Sprintf("NO SAMPLES  %s: %s", v.Target, v.Detail)
}

// Over is by how much a missed target was missed.
func (v Verdict) Over() string {
	if v.Unit == "×" {
		return fmt.Sprintf("%.3g×", v.Measured-v.Limit)
	}
	return strings.TrimSpace(fmt.Sprintf("%.3g %s", v.Measured-v.Limit, v.Unit))
}

// Failed reports whether the verdict fails the run whatever the figures: it was
// to be measured and was not.
func (v Verdict) Failed() bool { return v.Status == NoSamples }

// judge is the verdict of measured against limit (at most), or NoSamples when the
// figures it needs were not measured: missing names what is missing.
func judge(source, target string, measured, limit float64, unit, detail, missing string) Verdict {
	v := Verdict{Source: source, Target: target, Measured: measured, Limit: limit, Unit: unit, Detail: detail}
	switch {
	case missing != "":
		v.Status, v.Detail = NoSamples, "not measured: "+missing
	case measured <= limit:
		v.Status = Met
	default:
		v.Status = Missed
	}
	return v
}

// Sources of the targets.
const (
	issue17 = "issue 17"
	earlier = "earlier"
)

// figure is one input of a verdict and whether it has samples.
type figure struct {
	name string
	ok   bool
}

// lacking names the first of the figures that has no samples, or "".
func lacking(figures ...figure) string {
	for _, f := range figures {
		if !f.ok {
			return f.name
		}
	}
	return ""
}

func cpuFig(name string, cpuPer1k float64) figure { return figure{name + " CPU", cpuPer1k > 0} }
func distFig(name string, d Dist) figure          { return figure{name + " latencies", d.N > 0} }

// ratioOf is a/b, or 0 when b is 0 (the verdict then has no samples).
func ratioOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round3(a / b)
}

// at is the open-loop phase of a target at an upstream latency in ms; zero (no
// samples) when it did not run.
func at(t *TargetResult, upstreamMS float64) OpenLoop {
	for _, ol := range t.OpenLoop {
		if ol.UpstreamMS == upstreamMS {
			return ol
		}
	}
	return OpenLoop{}
}

// agentOf is a target's agent-sized run in format; zero when it did not run.
func agentOf(t *TargetResult, format string) OpenLoop {
	for _, a := range t.Agent {
		if a.Format == format {
			return a.OpenLoop
		}
	}
	return OpenLoop{}
}

// idleAt is a target's idle-stream figures at n streams, or what is missing.
func idleAt(t *TargetResult, n int) (Idle, string) {
	for _, id := range t.Idle {
		if id.Streams != n {
			continue
		}
		if id.Opened != n {
			return id, fmt.Sprintf("%s opened %d of %d idle streams", t.Name, id.Opened, n)
		}
		return id, ""
	}
	return Idle{}, fmt.Sprintf("%s at %d idle streams", t.Name, n)
}

// verdicts judges every target of issue 17 (against the pooled floor, same run),
// and the two earlier targets it did not replace.
func verdicts(res *Results) []Verdict {
	o := res.Options
	direct, floor, sy, syb := res.target("direct"), res.target("floor"), res.target("switchyard"), res.target("switchyard-bedrock")
	var out []Verdict
	add := func(phase string, v Verdict) {
		if !o.runs(phase) {
			v.Status, v.Detail = NotRun, "phase "+phase+" left out (-phases)"
		}
		out = append(out, v)
	}

	ratio := ratioOf(sy.Throughput.CPUPer1k, floor.Throughput.CPUPer1k)
	add("throughput", judge(issue17, "pass-through CPU per request ≤ 1.3× the floor, 1 KB responses", ratio, 1.3, "×",
		fmt.Sprintf("%.3f× (%.1f vs %.1f µs CPU per request)", ratio, sy.Throughput.CPUPer1k, floor.Throughput.CPUPer1k),
		lacking(cpuFig("switchyard", sy.Throughput.CPUPer1k), cpuFig("floor", floor.Throughput.CPUPer1k))))

	// The agent-sized request in both formats: the Anthropic one is what Claude
	// Code sends, translated through the Messages dialect for Bedrock.
	for _, format := range []string{formatChat, formatMessages} {
		fa, in := agentOf(floor, format), formatNames[format]
		for _, c := range []struct {
			t     *TargetResult
			limit float64
		}{{sy, 2}, {syb, 4}} {
			a := agentOf(c.t, format)
			ratio := ratioOf(a.CPUPer1k, fa.CPUPer1k)
			add("agent", judge(issue17, fmt.Sprintf("%s CPU per request ≤ %g× the floor, ~400 KB agent request in %s", pathOf(c.t), c.limit, in), ratio, c.limit, "×",
				fmt.Sprintf("%.3f× (%.3f vs %.3f ms CPU per request)", ratio, a.CPUPer1k/1000, fa.CPUPer1k/1000),
				lacking(cpuFig(c.t.Name, a.CPUPer1k), cpuFig("floor", fa.CPUPer1k))))
		}
		for _, t := range []*TargetResult{sy, syb} {
			out = append(out, addedVerdicts(o, "agent", fmt.Sprintf("%s, ~400 KB agent request in %s", pathOf(t), in), agentOf(t, format), fa,
				agentOf(direct, format), 1, 3, t.Name)...)
		}
	}
	fs := at(floor, 50)
	for _, t := range []*TargetResult{sy, syb} {
		out = append(out, addedVerdicts(o, "rate", fmt.Sprintf("%s, small requests", pathOf(t)), at(t, 50), fs, at(direct, 50),
			0.2, 1, t.Name)...)
	}

	out = append(out, idleVsFloor(o, floor, sy, syb))
	out = append(out, idleTLS(o, res.target("switchyard-tls"), res.target("switchyard-bedrock-tls")))

	var bad, n int64
	var refs []string
	for _, t := range res.Targets {
		if t.Kind == kindSwitchyard {
			bad, n = bad+t.Counts.Bad(), n+t.Counts.Requests
		} else {
			refs = append(refs, fmt.Sprintf("%s: %d of %d", t.Name, t.Counts.Bad(), t.Counts.Requests))
		}
	}
	missing := ""
	if n == 0 {
		missing = "no response through Switchyard"
	}
	out = append(out, judge(issue17, "zero corrupted or cut responses, streams included", float64(bad), 0, "responses",
		fmt.Sprintf("%d bad of %d through Switchyard (%s)", bad, n, strings.Join(refs, "; ")), missing))

	ratio = ratioOf(syb.Throughput.CPUPer1k, sy.Throughput.CPUPer1k)
	add("throughput", judge(earlier, "translation CPU per request ≤ 2× pass-through, 1 KB responses", ratio, 2, "×",
		fmt.Sprintf("%.3f× (%.1f vs %.1f µs CPU per request)", ratio, syb.Throughput.CPUPer1k, sy.Throughput.CPUPer1k),
		lacking(cpuFig("switchyard-bedrock", syb.Throughput.CPUPer1k), cpuFig("switchyard", sy.Throughput.CPUPer1k))))
	delay := max(sy.Streams.ChunkDelay.P99, syb.Streams.ChunkDelay.P99)
	add("streams", judge(earlier, "a chunk reaches the client within 1 ms of leaving the upstream (p99)", delay, 1, "ms",
		fmt.Sprintf("p99 %.3f ms pass-through, %.3f ms translated (p50 %.3f / %.3f; floor p99 %.3f; direct p99 %.3f)",
			sy.Streams.ChunkDelay.P99, syb.Streams.ChunkDelay.P99, sy.Streams.ChunkDelay.P50, syb.Streams.ChunkDelay.P50,
			floor.Streams.ChunkDelay.P99, direct.Streams.ChunkDelay.P99),
		lacking(distFig("switchyard chunk", sy.Streams.ChunkDelay), distFig("switchyard-bedrock chunk", syb.Streams.ChunkDelay))))
	return out
}

// formatNames are the agent phase's formats as the verdicts name them.
var formatNames = map[string]string{formatChat: "OpenAI's format", formatMessages: "Anthropic's format"}

func pathOf(t *TargetResult) string {
	if strings.Contains(t.Name, "bedrock") {
		return "Bedrock translation"
	}
	return "pass-through"
}

// addedVerdicts judge the latency a target adds beyond the floor's, at p50 and
// p99 (s and f are the target's and the floor's figures in one phase; d is
// direct's, for the detail).
func addedVerdicts(o Options, phase, what string, s, f, d OpenLoop, p50Limit, p99Limit float64, name string) []Verdict {
	missing := lacking(distFig(name, s.Latency), distFig("floor", f.Latency))
	p50, p99 := round3(s.Latency.P50-f.Latency.P50), round3(s.Latency.P99-f.Latency.P99)
	vs := []Verdict{
		judge(issue17, fmt.Sprintf("added latency beyond the floor at p50 ≤ +%g ms, 50 ms upstream, %s", p50Limit, what), p50, p50Limit, "ms",
			fmt.Sprintf("%+.3f ms (p50 %.3f vs floor %.3f, direct %.3f)", p50, s.Latency.P50, f.Latency.P50, d.Latency.P50), missing),
		judge(issue17, fmt.Sprintf("added latency beyond the floor at p99 ≤ +%g ms, 50 ms upstream, %s", p99Limit, what), p99, p99Limit, "ms",
			fmt.Sprintf("%+.3f ms (p99 %.3f vs floor %.3f, direct %.3f)", p99, s.Latency.P99, f.Latency.P99, d.Latency.P99), missing),
	}
	if !o.runs(phase) {
		for i := range vs {
			vs[i].Status, vs[i].Detail = NotRun, "phase "+phase+" left out (-phases)"
		}
	}
	return vs
}

// idleVsFloor judges memory per idle stream over HTTP/1.1 against the floor's at
// the same count, same run: the worst excess of either Switchyard path.
func idleVsFloor(o Options, floor *TargetResult, sys ...*TargetResult) Verdict {
	worst, where, missing := 0.0, "", ""
	if len(floor.Idle) == 0 {
		missing = "floor idle streams"
	}
	for _, f := range floor.Idle {
		if _, m := idleAt(floor, f.Streams); m != "" {
			missing = m
		}
		for _, t := range sys {
			id, m := idleAt(t, f.Streams)
			if m != "" {
				missing = m
				continue
			}
			if d := round3(id.PerStreamKB - f.PerStreamKB); where == "" || d > worst {
				worst, where = d, fmt.Sprintf("%s %.1f KB vs floor %.1f KB at %d streams", t.Name, id.PerStreamKB, f.PerStreamKB, f.Streams)
			}
		}
	}
	v := judge(issue17, "memory per idle stream ≤ the floor's, HTTP/1.1 upstream", worst, 0, "KB",
		fmt.Sprintf("worst %+.1f KB: %s", worst, where), missing)
	if !o.runs("idle") {
		v.Status, v.Detail = NotRun, "phase idle left out (-phases)"
	}
	return v
}

// idleTLS judges memory per idle stream with the upstream over TLS and HTTP/2:
// the worst of either Switchyard path at any count. Streams that did not reach
// the upstream over HTTP/2 measure something else: no samples.
func idleTLS(o Options, sys ...*TargetResult) Verdict {
	worst, where, missing := 0.0, "", ""
	for _, t := range sys {
		if len(t.Idle) == 0 {
			missing = t.Name + " idle streams"
		}
		if t.UpstreamH1 > 0 || t.UpstreamH2 == 0 {
			missing = fmt.Sprintf("%s reached the TLS upstream over HTTP/2 %d times and HTTP/1.x %d times", t.Name, t.UpstreamH2, t.UpstreamH1)
		}
		for _, id := range t.Idle {
			if _, m := idleAt(t, id.Streams); m != "" {
				missing = m
			}
			if where == "" || id.PerStreamKB > worst {
				worst, where = id.PerStreamKB, fmt.Sprintf("%s at %d streams", t.Name, id.Streams)
			}
		}
	}
	v := judge(issue17, "memory per idle stream ≤ 40 KB, TLS + HTTP/2 upstream", worst, 40, "KB",
		fmt.Sprintf("worst %.1f KB (%s)", worst, where), missing)
	if !o.runs("tls") {
		v.Status, v.Detail = NotRun, "phase tls left out (-phases)"
	}
	return v
}
