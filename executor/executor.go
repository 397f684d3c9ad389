// Package executor serves one admitted client request, whatever API dialect the
// client spoke: admission (allow-list, rate limits, rules, budgets), the attempts
// through the plan (breakers, timeouts, hedging, retries, failover before the first
// byte), the relay of the answer or stream through the dialect's renderer, and the
// settlement of usage and cost. Dialects decode, render and name errors in their
// own shape; they never re-implement any of this.
//
// Vocabulary, one word per thing:
//   - Snapshot: one configuration compiled for serving; a request uses one to its end.
//   - Caller: the authenticated client key of a request.
//   - Record: one client request from arrival to its access-log line.
//   - Work: what every attempt sends (a chat request, a native body, embeddings).
//   - Run: one request's attempts through its plan.
//   - Answer: the attempt that reached its first content, not yet sent to the client.
//   - Outcome: what the client got: usage, cost, first-token time, errors.
package executor

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers/registry"
	"github.com/switchyard/switchyard/state"
	"github.com/switchyard/switchyard/telemetry"
)

// Options build an Executor.
type Options struct {
	Logger  *zap.Logger
	Metrics *telemetry.Metrics
	Tracing *telemetry.Tracing
	// Pool holds target health; it outlives configurations.
	Pool  *health.Pool
	Store state.Store
	Cache *cache.Cache
	// Registry options reach provider construction (tests inject credentials).
	Registry registry.Options
	// Clock replaces time.Now for budget periods (tests); nil is time.Now.
	Clock func() time.Time
}

// Executor is what every request shares beyond its configuration: metrics, logs,
// traces, target health, the state store and the response cache.
type Executor struct {
	log      *zap.Logger
	access   *zap.Logger
	metrics  *telemetry.Metrics
	tracing  *telemetry.Tracing
	pool     *health.Pool
	store    state.Store
	cache    *cache.Cache
	registry registry.Options
	clock    func() time.Time

	// inflight and streams are switchyard_in_flight_requests{kind="request"} and
	// {kind="stream"}, resolved once: every request moves them.
	inflight, streams prometheus.Gauge
	series            series
	unpriced          sync.Map // target IDs already warned about
	spends            spendGauge
}

// New returns an Executor.
func New(opts Options) *Executor {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Executor{
		// The access log's lines all come from Record.log: a caller field would say
		// so on every line, at the price of walking the stack for each request.
		log: opts.Logger, access: opts.Logger.Named(telemetry.AccessLogger).WithOptions(zap.WithCaller(false)), metrics: opts.Metrics, tracing: opts.Tracing,
		pool: opts.Pool, store: opts.Store, cache: opts.Cache, registry: opts.Registry, clock: opts.Clock,
		inflight: opts.Metrics.InFlight.WithLabelValues("request"),
		streams:  opts.Metrics.InFlight.WithLabelValues("stream"),
	}
}

// Cache is the response cache.
func (e *Executor) Cache() *cache.Cache { return e.cache }

// Metrics are the collectors every request reports to.
func (e *Executor) Metrics() *telemetry.Metrics { return e.metrics }

// Log is the executor's logger.
func (e *Executor) Log() *zap.Logger { return e.log }

// Handler serves one endpoint of a dialect, its caller authenticated (rec.Caller)
// and its configuration loaded (rec.Snapshot()).
type Handler func(w http.ResponseWriter, rec *Record)

// Endpoint is one route of a dialect: a net/http ServeMux pattern, the API name its
// records and metrics carry, and its handler.
type Endpoint struct {
	Pattern string
	API     string
	Serve   Handler
}
