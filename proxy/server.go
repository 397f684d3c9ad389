// Package proxy serves the OpenAI-compatible API: authentication, parsing, the
// executor that tries targets until one succeeds, the relay of responses and streams,
// and the admin endpoints. Nothing imports it but the binary.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers/registry"
	"github.com/switchyard/switchyard/state"
	"github.com/switchyard/switchyard/telemetry"
)

// Options build a Server.
type Options struct {
	Config  *config.Config
	Logger  *zap.Logger
	Metrics *telemetry.Metrics
	// Registry options reach provider construction (tests inject credentials).
	Registry registry.Options
	Version  string
	// Store replaces the store that Config.State would open (tests).
	Store state.Store
	// Load reads the configuration again for a reload (SIGHUP, /admin/reload, the
	// file watcher); nil disables reloading.
	Load func() (*config.Config, error)
	// SpanExporter replaces the OTLP exporter of tracing (tests); setting it turns
	// tracing on.
	SpanExporter sdktrace.SpanExporter
}

// Server is a running Switchyard: the current compiled configuration, target health
// that outlives reloads, and the listeners' lifecycle.
type Server struct {
	log             *zap.Logger
	access          *zap.Logger
	metrics         *telemetry.Metrics
	tracing         *telemetry.Tracing
	pool            *health.Pool
	store           state.Store
	cache           *cache.Cache
	registryOptions registry.Options
	version         string
	load            func() (*config.Config, error)
	reloadMu        sync.Mutex // one reload at a time

	// inflight is switchyard_in_flight{kind="request"}, resolved once: every
	// request moves it twice.
	inflight prometheus.Gauge

	rt       atomic.Pointer[runtime]
	unpriced sync.Map // target IDs already warned about
	ready    atomic.Bool
	draining atomic.Bool
}

// New compiles cfg and returns a server ready to Serve.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = telemetry.NewMetrics(opts.Version)
	}
	s := &Server{
		log:             opts.Logger,
		access:          opts.Logger.Named("access"),
		metrics:         opts.Metrics,
		registryOptions: opts.Registry,
		version:         opts.Version,
		load:            opts.Load,
	}
	s.inflight = s.metrics.InFlight.WithLabelValues("request")
	s.pool = health.NewPool(breakerObserver{s})
	tracing, err := telemetry.NewTracing(opts.Config.Tracing, opts.Version, opts.SpanExporter)
	if err != nil {
		return nil, err
	}
	s.tracing = tracing
	s.cache = cache.New(opts.Config.Cache.MaxEntries, opts.Config.Cache.MaxBytes)
	s.store = opts.Store
	if s.store == nil {
		store, err := state.Open(opts.Config.State, opts.Logger.Named("state"))
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		s.store = store
	}
	rt, err := s.compile(opts.Config)
	if err != nil {
		s.store.Close()
		return nil, err
	}
	s.rt.Store(rt)
	s.metrics.WatchTargets(s.targetStates)
	if rt.keys.open() {
		s.log.Warn("NO CLIENT KEYS CONFIGURED: the API is open to anyone who can reach " + opts.Config.Listen +
			"; add keys: to the configuration before exposing it")
	}
	return s, nil
}

// Reload reads the configuration through Options.Load, validates and compiles it,
// and swaps it in atomically. An invalid configuration is rejected (logged,
// counted) and the running one stays in force. Requests in flight finish on the
// configuration they started with; target health survives for targets that remain.
func (s *Server) Reload() error {
	if s.load == nil {
		return errors.New("reloading is not enabled")
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cfg, err := s.load()
	if err == nil {
		err = s.swap(cfg)
	}
	if err != nil {
		s.metrics.ConfigReloads.WithLabelValues("failure").Inc()
		s.log.Error("configuration reload rejected; the previous configuration stays in force", zap.Error(err))
		return err
	}
	s.metrics.ConfigReloads.WithLabelValues("success").Inc()
	s.log.Info("configuration reloaded")
	return nil
}

// swap compiles cfg and makes it the configuration in force.
func (s *Server) swap(cfg *config.Config) error {
	if old := s.Config().State; old != cfg.State {
		return errors.New("state: changing the state store needs a restart")
	}
	rt, err := s.compile(cfg)
	if err != nil {
		return err
	}
	s.rt.Store(rt)
	keep := map[string]bool{}
	for _, t := range rt.router.Targets() {
		keep[t.ID] = true
	}
	s.pool.Retain(keep)
	return nil
}

// Config returns the configuration in force.
func (s *Server) Config() *config.Config { return s.rt.Load().cfg }

// Serve answers on the API and admin listeners until ctx ends, then drains: readiness
// fails at once, the API keeps accepting for drain_delay (so endpoints are removed
// first), then stops accepting and gives in-flight requests and streams up to
// shutdown_grace to finish.
func (s *Server) Serve(ctx context.Context, api, admin net.Listener) error {
	conns := &connTracker{conns: map[net.Conn]http.ConnState{}}
	api2 := &http.Server{
		Handler:   s.Handler(),
		ConnState: conns.track,
		// Headers must arrive promptly; bodies and responses have no server-wide
		// deadline, which would cut long streams: requests carry their own timeouts.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	adm := &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- api2.Serve(api) }()
	go func() { errc <- adm.Serve(admin) }()
	s.ready.Store(true)
	s.log.Info("serving", zap.String("listen", api.Addr().String()), zap.String("admin_listen", admin.Addr().String()),
		zap.String("version", s.version))

	select {
	case err := <-errc:
		api2.Close()
		adm.Close()
		return err
	case <-ctx.Done():
	}
	cfg := s.Config()
	s.ready.Store(false)
	s.draining.Store(true)
	s.log.Info("draining", zap.Duration("drain_delay", cfg.DrainDelay), zap.Duration("shutdown_grace", cfg.ShutdownGrace))
	time.Sleep(cfg.DrainDelay)

	grace, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	err := conns.shutdown(grace, api2)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown grace expired; closing remaining connections")
		api2.Close()
		err = nil
	}
	adm.Close()
	flush, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelFlush()
	if terr := s.tracing.Shutdown(flush); terr != nil {
		s.log.Warn("flushing traces", zap.Error(terr))
	}
	if cerr := s.store.Close(); cerr != nil {
		s.log.Warn("closing the state store", zap.Error(cerr))
	}
	s.log.Info("stopped")
	return err
}

// ListenAndServe listens on the configured addresses and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	cfg := s.Config()
	api, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	admin, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		api.Close()
		return fmt.Errorf("admin_listen: %w", err)
	}
	return s.Serve(ctx, api, admin)
}

// breakerObserver logs breaker transitions and counts them. It runs under the
// breaker's lock, so it does nothing else.
type breakerObserver struct{ s *Server }

func (o breakerObserver) BreakerChanged(target string, from, to health.State) {
	provider, _, _ := strings.Cut(target, "/") // target ids are provider/model
	o.s.metrics.BreakerChanges.WithLabelValues(provider, target, to.String()).Inc()
	level := o.s.log.Info
	if to == health.Open {
		level = o.s.log.Warn
	}
	level("circuit breaker changed", zap.String("target", target), zap.String("from", from.String()), zap.String("to", to.String()))
}

func (s *Server) targetStates() []telemetry.TargetState {
	rt := s.rt.Load()
	var out []telemetry.TargetState
	aliases := map[string][]string{}
	for _, name := range rt.router.Names() {
		for _, tier := range rt.router.Alias(name).Tiers {
			for _, t := range tier {
				aliases[t.ID] = append(aliases[t.ID], name)
			}
		}
	}
	for _, t := range rt.router.Targets() {
		snap := t.Health.Snapshot()
		out = append(out, telemetry.TargetState{Provider: t.ProviderName, Target: t.ID, Aliases: aliases[t.ID],
			Breaker: int(t.Health.State()), CoolingDown: !snap.CooldownUntil.IsZero(), SuccessRate: snap.SuccessRate})
	}
	return out
}

// connTracker knows each API connection's state, so that shutdown can close
// connections a client opened but never sent a request on (spare dials of a client's
// pool): http.Server.Shutdown would wait 5 seconds for each of those.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

func (c *connTracker) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(c.conns, conn)
	default:
		c.conns[conn] = state
	}
}

func (c *connTracker) closeNew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, state := range c.conns {
		if state == http.StateNew {
			conn.Close()
		}
	}
}

// shutdown stops srv gracefully, closing never-used connections as it goes.
func (c *connTracker) shutdown(ctx context.Context, srv *http.Server) error {
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			c.closeNew()
		}
	}
}
