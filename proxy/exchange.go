package proxy

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/telemetry"
)

// unauthenticated is the caller until a key is found.
var unauthenticated = &clientKey{Name: "-"}

// exchange is one client request from arrival to its access-log line: who asked,
// what was served, and what it cost.
type exchange struct {
	s      *Server
	rt     *runtime
	r      *http.Request
	start  time.Time
	kind   string
	key    *clientKey
	alias  string
	stream bool
	status int
	err    *apiError
	x      *execution
	target *policy.Target
	served served
	cost   float64
	priced bool
	// reqBody and respBody are kept only when log.bodies is on.
	reqBody, respBody []byte
	// cacheResult is hit or miss when the request used the response cache.
	cacheResult string
	// turns is the Responses API conversation's turn count, this one included.
	turns int
}

func (s *Server) begin(r *http.Request, kind string) *exchange {
	s.inflight.Inc()
	return &exchange{s: s, r: r, start: time.Now(), kind: kind, key: unauthenticated}
}

// fail answers an error, unless the client is already gone. After upstream
// attempts the answer says how many there were and which target failed last.
func (e *exchange) fail(w http.ResponseWriter, aerr *apiError) {
	e.err, e.status = aerr, aerr.Status
	if aerr == errClientGone {
		return
	}
	if e.x != nil {
		h := w.Header()
		h.Set("X-Switchyard-Attempts", strconv.Itoa(e.x.count()))
		if t := e.x.lastT; t != nil {
			h.Set("X-Switchyard-Provider", t.ProviderName)
			h.Set("X-Switchyard-Model", t.Model)
		}
	}
	writeError(w, aerr)
}

// end records the exchange in metrics and the access log.
func (e *exchange) end() {
	m := e.s.metrics
	e.s.inflight.Dec()
	elapsed := time.Since(e.start)
	provider := ""
	switch {
	case e.target != nil:
		provider = e.target.ProviderName
	case e.cacheResult == "hit":
		provider = "cache"
	}
	if e.status == 0 {
		e.status = http.StatusOK
	}
	statusClass := strconv.Itoa(e.status/100) + "xx"
	if e.served.streamErr != nil {
		statusClass = "5xx" // the stream began with 200 but failed: the client saw an error
	}
	alias := e.alias
	if alias == "" {
		alias = "-" // rejected before an alias was known
	}
	m.Requests.WithLabelValues(alias, e.key.Team, provider, statusClass).Inc()
	m.RequestDuration.WithLabelValues(alias, strconv.FormatBool(e.stream)).Observe(elapsed.Seconds())
	if e.target != nil && e.served.usageKnown {
		u := e.served.usage
		cached := u.CachedTokens()
		m.Tokens.WithLabelValues(alias, provider, e.key.Team, "input").Add(float64(max(u.PromptTokens-cached, 0)))
		m.Tokens.WithLabelValues(alias, provider, e.key.Team, "cached").Add(float64(cached))
		m.Tokens.WithLabelValues(alias, provider, e.key.Team, "output").Add(float64(u.CompletionTokens))
	}
	if e.priced {
		m.Cost.WithLabelValues(alias, provider, e.key.Team).Add(e.cost)
	}
	if e.stream && !e.served.firstToken.IsZero() {
		ttft := e.served.firstToken.Sub(e.start)
		m.TTFT.WithLabelValues(alias, provider).Observe(ttft.Seconds())
		if n := e.served.usage.CompletionTokens; n > 1 {
			m.TimePerToken.WithLabelValues(alias, provider).Observe(time.Since(e.served.firstToken).Seconds() / float64(n-1))
		}
	}
	e.log(elapsed, statusClass)
	e.endSpan()
}

func (e *exchange) log(elapsed time.Duration, statusClass string) {
	level := zapcore.InfoLevel
	if statusClass == "5xx" {
		level = zapcore.WarnLevel
	}
	// Sampling thins successful requests only: every error is logged.
	if rate := e.rt.cfg.Log.AccessSampling; rate < 1 && e.status < 400 && level == zapcore.InfoLevel && rand.Float64() >= rate {
		return
	}
	ce := e.s.access.Check(level, "request")
	if ce == nil {
		return // fields are built only when the line is written
	}
	fields := make([]zap.Field, 0, 16) // a served request writes 15: one allocation
	fields = append(fields,
		zap.String("request_id", e.r.Header.Get("X-Request-Id")),
		zap.String("kind", e.kind),
		zap.String("key", e.key.Name),
		zap.String("team", e.key.Team),
		zap.String("alias", e.alias),
		zap.Bool("stream", e.stream),
		zap.Int("status", e.status),
		zap.Float64("latency_ms", ms(elapsed)),
	)
	if e.target != nil {
		fields = append(fields, zap.String("provider", e.target.ProviderName), zap.String("target", e.target.ID))
	}
	if e.x != nil {
		fields = append(fields, zap.Array("attempts", attemptRecords(e.x.records())))
	}
	if !e.served.firstToken.IsZero() {
		fields = append(fields, zap.Float64("ttft_ms", ms(e.served.firstToken.Sub(e.start))))
	}
	if e.served.usageKnown {
		u := e.served.usage
		fields = append(fields, zap.Int("tokens_in", u.PromptTokens), zap.Int("tokens_cached", u.CachedTokens()),
			zap.Int("tokens_out", u.CompletionTokens))
	}
	if e.priced {
		fields = append(fields, zap.Float64("cost_usd", e.cost))
	}
	if e.cacheResult != "" {
		fields = append(fields, zap.String("cache", e.cacheResult))
	}
	if e.turns > 0 {
		fields = append(fields, zap.Int("conversation_turns", e.turns))
	}
	if e.err != nil {
		fields = append(fields, zap.String("error", e.err.Message))
	}
	if e.served.streamErr != nil {
		fields = append(fields, zap.String("stream_error", e.served.streamErr.Error()))
	}
	if e.served.clientGone {
		fields = append(fields, zap.Bool("client_gone", true))
	}
	if e.reqBody != nil {
		fields = append(fields, zap.String("request_body", telemetry.Redact(e.reqBody)))
	}
	if e.respBody != nil {
		fields = append(fields, zap.String("response_body", telemetry.Redact(e.respBody)))
	}
	ce.Write(fields...)
}

// requestLogger is the logger of one request's execution. Most requests never log
// through it, so its request_id field is encoded only if a line is written
// (zap's WithLazy): With would encode it, and copy the encoder, for every request.
func requestLogger(log *zap.Logger, r *http.Request) *zap.Logger {
	return log.WithLazy(zap.String("request_id", r.Header.Get("X-Request-Id")))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type attemptRecords []attemptRecord

func (rs attemptRecords) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range rs {
		if err := enc.AppendObject(&rs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r *attemptRecord) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("target", r.Target)
	enc.AddString("outcome", r.Outcome)
	if r.Status != 0 {
		enc.AddInt("status", r.Status)
	}
	enc.AddFloat64("ms", ms(r.Duration))
	return nil
}
