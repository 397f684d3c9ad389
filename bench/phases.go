package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

func (r *run) throughputPhase(ctx context.Context) {
	o, targets := r.o, r.of(groupH1)
	r.logf("throughput: %d concurrent clients for %s in %d rounds, 0 ms upstream, %d-byte responses", o.Concurrency,
		o.ThroughputTime, o.Rounds, o.Size)
	acc := map[*target]tpSlice{}
	r.interleave(ctx, targets, func(t *target) {
		dur := r.slice(o.ThroughputTime)
		acc[t] = acc[t].add(throughput(ctx, t, o.Concurrency, o.Warm, dur, o.MinSamples,
			func() Spec { return nextSpec(Spec{Size: o.Size}) }, r.mark(ctx, "throughput", t, dur)))
	})
	for _, t := range targets {
		tp := acc[t].result(t, o.Concurrency)
		r.res.target(t.name).Throughput = tp
		r.logf("  %-22s %9.0f req/s  cpu %7.1f ms/1k  rss %6.1f MiB", t.name, tp.RPS, tp.CPUPer1k, tp.RSSMiB)
	}
}

func (r *run) ratePhases(ctx context.Context) {
	for _, lat := range r.o.Latencies {
		r.openLoopPhase(ctx, "rate", r.of(groupH1), lat)
	}
}

// openLoopPhase measures small requests at the fixed rate, at an upstream of lat,
// through targets (the first is direct, the baseline of the added figures).
func (r *run) openLoopPhase(ctx context.Context, phase string, targets []*target, lat time.Duration) {
	o := r.o
	r.logf("%s: open loop, %.0f req/s for %s in %d rounds, %s upstream", phase, o.Rate, o.RateTime, o.Rounds, lat)
	acc := map[*target]olSlice{}
	r.interleave(ctx, targets, func(t *target) {
		dur := r.slice(o.RateTime)
		h2, h1 := r.up.Protocols()
		acc[t] = acc[t].add(openLoop(ctx, t, o.Rate, o.Warm, dur,
			func() outcome { return t.chat(ctx, nextSpec(Spec{Latency: lat, Size: o.Size})) }, r.mark(ctx, phase, t, dur)))
		r.countProtocols(t, h2, h1)
	})
	var direct Dist
	for _, t := range targets {
		ol := acc[t].result(t, o.Rate)
		ol.UpstreamMS = msOf(lat)
		if t.kind == kindDirect {
			direct = ol.Latency
		} else {
			ol.AddedP50, ol.AddedP99 = round3(ol.Latency.P50-direct.P50), round3(ol.Latency.P99-direct.P99)
		}
		r.res.target(t.name).OpenLoop = append(r.res.target(t.name).OpenLoop, ol)
		r.logf("  %-22s p50 %7.3f  p99 %7.3f  p99.9 %7.3f ms  (added p50 %+.3f p99 %+.3f)  cpu %6.1f ms/1k  rounds' p99 %s",
			t.name, ol.Latency.P50, ol.Latency.P99, ol.Latency.P999, ol.AddedP50, ol.AddedP99, ol.CPUPer1k, spread(ol.RoundP99))
	}
}

// countProtocols adds to a TLS target what the TLS upstream served since it read
// h2 and h1: its slices run alone.
func (r *run) countProtocols(t *target, h2, h1 int64) {
	if t.group != groupTLS {
		return
	}
	h2b, h1b := r.up.Protocols()
	tr := r.res.target(t.name)
	tr.UpstreamH2 += h2b - h2
	tr.UpstreamH1 += h1b - h1
}

func (r *run) streamPhase(ctx context.Context) {
	o, targets := r.o, r.of(groupH1)
	r.logf("streams: %.0f/s for %s in %d rounds, %s upstream, %d chunks %s apart", o.StreamRate, o.StreamTime, o.Rounds,
		o.StreamLatency, o.StreamChunks, o.StreamInterval)
	acc := map[*target]stSlice{}
	r.interleave(ctx, targets, func(t *target) {
		dur := r.slice(o.StreamTime)
		acc[t] = acc[t].add(streams(ctx, t, r.up, o.StreamRate, o.Warm, dur, func() Spec {
			return nextSpec(Spec{Latency: o.StreamLatency, Chunks: o.StreamChunks, Interval: o.StreamInterval})
		}, r.mark(ctx, "streams", t, dur)))
	})
	var d Streams
	for _, t := range targets {
		st := acc[t].result(t, o.StreamRate)
		st.Chunks, st.IntervalMS, st.UpstreamMS = o.StreamChunks, msOf(o.StreamInterval), msOf(o.StreamLatency)
		if t.kind == kindDirect {
			d = st
		} else {
			st.AddedFirstP50, st.AddedFirstP99 = round3(st.FirstToken.P50-d.FirstToken.P50), round3(st.FirstToken.P99-d.FirstToken.P99)
			st.AddedLastP50, st.AddedLastP99 = round3(st.LastToken.P50-d.LastToken.P50), round3(st.LastToken.P99-d.LastToken.P99)
		}
		r.res.target(t.name).Streams = st
		r.logf("  %-22s first token p50 %7.3f p99 %7.3f  last p50 %7.3f p99 %7.3f  chunk delay p50 %.3f p99 %.3f ms (rounds' p99 %s)",
			t.name, st.FirstToken.P50, st.FirstToken.P99, st.LastToken.P50, st.LastToken.P99, st.ChunkDelay.P50, st.ChunkDelay.P99,
			spread(st.RoundDelayP99))
	}
}

// AgentRun is the agent-sized request in one format through one target, open
// loop: latency from the time each request was due, the proxy's CPU per request.
type AgentRun struct {
	Format string `json:"format"`
	OpenLoop
}

// agentPhases send the agent-sized request, in OpenAI's Chat format through every
// loopback target, then in Anthropic's Messages format through those that take it
// once Switchyard answers /v1/messages.
func (r *run) agentPhases(ctx context.Context) {
	r.agentPhase(ctx, formatChat, r.of(groupH1))
	var targets []*target
	for _, t := range r.of(groupH1) {
		if t.serves(formatMessages) {
			targets = append(targets, t)
		}
	}
	if reason := r.messagesUnavailable(ctx); reason != "" {
		r.note("agent phase in Anthropic's Messages format not run: %s", reason)
		return
	}
	r.agentPhase(ctx, formatMessages, targets)
}

// messagesUnavailable asks Switchyard whether it has an Anthropic Messages
// ingress: a 404 on POST /v1/messages says it has none (yet), and why is returned.
func (r *run) messagesUnavailable(ctx context.Context) string {
	i := slices.IndexFunc(r.targets, func(t *target) bool { return t.name == "switchyard" })
	if i < 0 {
		return "no switchyard target"
	}
	t := r.targets[i]
	body := []byte(`{"model":"bench-anthropic","max_tokens":16,"messages":[{"role":"user","content":"` +
		nextSpec(Spec{Size: 16}).Marker() + `"}]}`)
	resp, err := t.send(ctx, formatMessages, len(body), func() io.Reader { return bytes.NewReader(body) })
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		return ""
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return fmt.Sprintf("not available: Switchyard answers 404 on POST /v1/messages (%s)", strings.TrimSpace(string(msg)))
}

func (r *run) agentPhase(ctx context.Context, format string, targets []*target) {
	o := r.o
	phase := "agent-" + format
	r.logf("%s: %.0f KB requests, %.0f/s for %s in %d rounds, %s upstream", phase, float64(len(r.docs[format]))/1000,
		o.AgentRate, o.AgentTime, o.Rounds, o.AgentLatency)
	acc := map[*target]olSlice{}
	r.interleave(ctx, targets, func(t *target) {
		dur := r.slice(o.AgentTime)
		acc[t] = acc[t].add(openLoop(ctx, t, o.AgentRate, o.Warm, dur, func() outcome {
			return t.agentRequest(ctx, format, nextSpec(Spec{Latency: o.AgentLatency, Size: o.Size}))
		}, r.mark(ctx, phase, t, dur)))
	})
	var direct Dist
	for _, t := range targets {
		ol := acc[t].result(t, o.AgentRate)
		ol.UpstreamMS = msOf(o.AgentLatency)
		if t.kind == kindDirect {
			direct = ol.Latency
		} else {
			ol.AddedP50, ol.AddedP99 = round3(ol.Latency.P50-direct.P50), round3(ol.Latency.P99-direct.P99)
		}
		tr := r.res.target(t.name)
		tr.Agent = append(tr.Agent, AgentRun{Format: format, OpenLoop: ol})
		r.logf("  %-22s p50 %7.3f  p99 %7.3f ms  (added p50 %+.3f p99 %+.3f)  cpu %6.3f ms per request  rounds' p99 %s",
			t.name, ol.Latency.P50, ol.Latency.P99, ol.AddedP50, ol.AddedP99, ol.CPUPer1k/1000, spread(ol.RoundP99))
	}
}

// tlsPhase measures the proxies in front of the upstream served over TLS with
// HTTP/2, as the clouds serve: small requests at the fixed rate, then memory per
// idle stream.
func (r *run) tlsPhase(ctx context.Context) {
	targets := r.of(groupTLS)
	r.openLoopPhase(ctx, "tls", targets, r.o.TLSLatency)
	r.idlePhases(ctx, targets, "tls")
	for _, t := range targets {
		tr := r.res.target(t.name)
		r.logf("  %-22s the TLS upstream served %d requests over HTTP/2, %d over HTTP/1.x", t.name, tr.UpstreamH2, tr.UpstreamH1)
	}
}

// spread shows the range of per-round figures: "min..max".
func spread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f..%.3f", slices.Min(v), slices.Max(v))
}

// idlePhases measure memory per idle stream, each count on a freshly started
// proxy: a process that served the earlier phases keeps freed heap mapped, and
// streams opened into it would hardly grow its resident set.
func (r *run) idlePhases(ctx context.Context, targets []*target, phase string) {
	for _, n := range r.o.IdleStreams {
		r.logf("%s: %d idle streams at once, each paused after its first chunk", phase, n)
		for i, t := range targets {
			if t.proc == nil || ctx.Err() != nil {
				continue
			}
			fresh, err := r.restart(t)
			if err != nil {
				r.note("%s: %s did not restart for %d idle streams: %v", phase, t.name, n, err)
				continue
			}
			// The next count restarts this process, not the stopped one (whose
			// stop would wait forever for an exit it already reported).
			targets[i] = fresh
			r.warmTarget(ctx, fresh)
			h2, h1 := r.up.Protocols()
			id := idle(ctx, fresh, r.up, n, r.o.Settle, func() Spec {
				return nextSpec(Spec{Chunks: 4, Interval: time.Millisecond, Pause: true})
			}, func() { r.prof.heap(ctx, phase, fresh, fmt.Sprintf("%s-%d-%s", phase, n, fresh.name)) }, r.logf)
			r.countProtocols(fresh, h2, h1)
			tr := r.res.target(t.name)
			tr.Idle = append(tr.Idle, id)
			extra := ""
			if id.GoroutinesPer > 0 {
				extra = fmt.Sprintf("  (Go heap %.1f KB, stacks %.1f KB, %.1f goroutines per stream)", id.HeapPerStreamKB,
					id.StackPerStreamKB, id.GoroutinesPer)
			}
			r.logf("  %-22s %d/%d open  rss %6.1f -> %6.1f MiB  KB per stream: %s%s", fresh.name, id.Opened, n,
				id.BaseRSSMiB, id.RSSMiB, perStream(id), extra)
			fresh.tr.CloseIdleConnections()
		}
	}
}
