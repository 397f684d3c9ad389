package executor

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/telemetry"
)

// Renderer writes an Error in a dialect's shape.
type Renderer func(w http.ResponseWriter, e *Error)

// Record is one client request from arrival to its access-log line: who asked, what
// was served, and what it cost. It is written to metrics, the access log and the
// request's span when it ends, however the request ended.
type Record struct {
	e     *Executor
	snap  *Snapshot
	r     *http.Request
	start time.Time
	// API names the endpoint: chat, embeddings, responses, messages, ...
	API    string
	render Renderer

	Caller *Caller
	// Requested is the model the client named, for the access log only: metric
	// labels and span names take Alias, set once the name resolved to a configured
	// alias, so that a client cannot mint label values.
	Requested string
	Alias     string
	Stream    bool
	status    int
	err       *Error
	run       *Run
	target    *policy.Target
	// Outcome is what the client got.
	Outcome Outcome
	// ReqBody and RespBody are kept only when log.bodies is on.
	ReqBody, RespBody []byte
	// lease lends the body's buffer (BorrowBody), until End or Run.Relay.
	lease *providers.Lease
	// CacheResult is hit or miss when the request used the response cache.
	CacheResult string
	// Turns is the Responses API conversation's turn count, this one included.
	Turns int
}

// Begin starts the record of a request on snapshot snap, answered in the dialect
// of render. End must follow.
func (e *Executor) Begin(r *http.Request, snap *Snapshot, api string, render Renderer) *Record {
	e.inflight.Inc()
	return &Record{e: e, snap: snap, r: r, start: time.Now(), API: api, render: render, Caller: unauthenticated}
}

// Request is the client's HTTP request.
func (rec *Record) Request() *http.Request { return rec.r }

// Fail answers an error, unless the client is already gone. After upstream attempts
// the answer says how many there were and which target failed last.
func (rec *Record) Fail(w http.ResponseWriter, err *Error) {
	rec.err, rec.status = err, err.Status
	if err == ErrClientGone {
		return
	}
	if rec.run != nil {
		h := w.Header()
		h.Set("X-Switchyard-Attempts", strconv.Itoa(rec.run.count()))
		if t := rec.run.lastT; t != nil {
			h.Set("X-Switchyard-Provider", t.ProviderName)
			h.Set("X-Switchyard-Model", t.Model)
		}
	}
	rec.render(w, err)
}

// Served notes the target that answered.
func (rec *Record) Served(t *policy.Target) { rec.target = t }

// End records the request in metrics, the access log and its span.
func (rec *Record) End() {
	m := rec.e.metrics
	rec.e.inflight.Dec()
	elapsed := time.Since(rec.start)
	provider := ""
	switch {
	case rec.target != nil:
		provider = rec.target.ProviderName
	case rec.CacheResult == "hit":
		provider = "cache"
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	statusClass := strconv.Itoa(rec.status/100) + "xx"
	if rec.Outcome.StreamErr != nil {
		statusClass = "5xx" // the stream began with 200 but failed: the client saw an error
	}
	alias := rec.Alias
	if alias == "" {
		alias = "-" // rejected before an alias was known
	}
	team := rec.Caller.Team
	out := &rec.Outcome
	rs := rec.e.series.requests.get(m, requestKey{alias, team, provider, statusClass, rec.API, rec.Stream})
	rs.requests.Inc()
	rs.duration.Observe(elapsed.Seconds())
	if rec.target != nil && out.UsageKnown {
		u := out.Usage
		cached, writes := u.CachedTokens(), u.CacheWriteTokens()
		ts := rec.e.series.tokens.get(m, tokensKey{alias, provider, team})
		ts[0].Add(float64(max(u.PromptTokens-cached-writes, 0)))
		ts[1].Add(float64(cached))
		ts[2].Add(float64(writes))
		ts[3].Add(float64(u.CompletionTokens))
		if rec.target.Priced {
			m.PromptCacheSavings.WithLabelValues(alias, provider, team).Add(rec.target.Price.CacheSavings(u))
		}
	}
	if out.Priced {
		m.Cost.WithLabelValues(alias, provider, team).Add(out.Cost)
	}
	if rec.Stream && !out.FirstToken.IsZero() {
		ttft := out.FirstToken.Sub(rec.start)
		m.TTFT.WithLabelValues(alias, provider).Observe(ttft.Seconds())
		if n := out.Usage.CompletionTokens; n > 1 {
			m.TimePerToken.WithLabelValues(alias, provider).Observe(time.Since(out.FirstToken).Seconds() / float64(n-1))
		}
	}
	rec.log(elapsed, statusClass)
	rec.endSpan()
	rec.returnBody()
}

func (rec *Record) log(elapsed time.Duration, statusClass string) {
	level := zapcore.InfoLevel
	if statusClass == "5xx" {
		level = zapcore.WarnLevel
	}
	// Sampling thins successful requests only: every error is logged.
	if rate := rec.snap.Config.Log.AccessSampling; rate < 1 && rec.status < 400 && level == zapcore.InfoLevel && rand.Float64() >= rate {
		return
	}
	ce := rec.e.access.Check(level, "request")
	if ce == nil {
		return // fields are built only when the line is written
	}
	out := &rec.Outcome
	fields := make([]zap.Field, 0, 17) // a served request writes 16: one allocation
	fields = append(fields,
		zap.String("request_id", rec.r.Header.Get("X-Request-Id")),
		zap.String("kind", rec.API),
		zap.String("key", rec.Caller.Name),
		zap.String("team", rec.Caller.Team),
		zap.String("alias", rec.Alias),
		zap.String("model", Clip(rec.Requested, MaxEchoedModel)),
		zap.Bool("stream", rec.Stream),
		zap.Int("status", rec.status),
		zap.Float64("latency_ms", ms(elapsed)),
	)
	if rec.target != nil {
		fields = append(fields, zap.String("provider", rec.target.ProviderName), zap.String("target", rec.target.ID))
	}
	if rec.run != nil {
		fields = append(fields, zap.Array("attempts", attemptEntries(rec.run.entries())))
	}
	if !out.FirstToken.IsZero() {
		fields = append(fields, zap.Float64("ttft_ms", ms(out.FirstToken.Sub(rec.start))))
	}
	if out.UsageKnown {
		u := out.Usage
		fields = append(fields, zap.Int("tokens_in", u.PromptTokens), zap.Int("tokens_cached", u.CachedTokens()),
			zap.Int("tokens_out", u.CompletionTokens))
	}
	if out.Priced {
		fields = append(fields, zap.Float64("cost_usd", out.Cost))
	}
	if rec.CacheResult != "" {
		fields = append(fields, zap.String("cache", rec.CacheResult))
	}
	if rec.Turns > 0 {
		fields = append(fields, zap.Int("conversation_turns", rec.Turns))
	}
	if rec.err != nil {
		fields = append(fields, zap.String("error", rec.err.Message))
	}
	if out.StreamErr != nil {
		fields = append(fields, zap.String("stream_error", out.StreamErr.Error()))
	}
	if out.ClientGone {
		fields = append(fields, zap.Bool("client_gone", true))
	}
	if rec.ReqBody != nil {
		fields = append(fields, zap.String("request_body", telemetry.Redact(rec.ReqBody)))
	}
	if rec.RespBody != nil {
		fields = append(fields, zap.String("response_body", telemetry.Redact(rec.RespBody)))
	}
	ce.Write(fields...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type attemptEntries []attemptEntry

func (es attemptEntries) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range es {
		if err := enc.AppendObject(&es[i]); err != nil {
			return err
		}
	}
	return nil
}

func (a *attemptEntry) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("target", a.Target)
	enc.AddString("outcome", a.Outcome)
	if a.Status != 0 {
		enc.AddInt("status", a.Status)
	}
	enc.AddFloat64("ms", ms(a.Duration))
	return nil
}
