// Package proxy is Switchyard's HTTP server: the listeners and their lifecycle
// (drain, graceful shutdown), the client-facing API of every dialect behind
// authentication, configuration reloads, and the admin endpoints. What happens to a
// request once authenticated belongs to its dialect and the executor. Nothing
// imports this package but the binary.
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

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/internal/scrub"
	"github.com/switchyard/switchyard/keyring"
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
	// ConfigPath names the configuration file in the admin API's messages.
	ConfigPath string
	// Keyring tunes the runtime keys' cache (tests: a clock, a poll interval); its
	// Store, Log and Indexed are the server's.
	Keyring keyring.Options
	// Clock replaces time.Now for budget periods and, in the embedded store that
	// Config.State opens, for rate-limit windows, budget holds and expiries (tests
	// that must not depend on the date). Default time.Now.
	Clock func() time.Time
}

// Server is a running Switchyard: the current compiled configuration, target health
// that outlives reloads, and the listeners' lifecycle.
type Server struct {
	log      *zap.Logger
	metrics  *telemetry.Metrics
	tracing  *telemetry.Tracing
	pool     *health.Pool
	store    state.Store
	exe      *executor.Executor
	version  string
	load     func() (*config.Config, error)
	reloadMu sync.Mutex // one reload at a time
	// ring holds every client key and team, the file's and the runtime ones; every
	// configuration shares it.
	ring       *keyring.Ring
	configPath string
	audit      *zap.Logger
	// secrets scrubs every configured secret from provider errors and log lines; a
	// reload hands it the new configuration's.
	secrets *scrub.Holder

	snap     atomic.Pointer[executor.Snapshot]
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
	// Every configured secret is scrubbed from provider errors and log lines.
	secrets := scrub.NewHolder(scrub.New(opts.Config.Secrets()))
	opts.Registry.Secrets = secrets
	opts.Logger = opts.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return scrub.Core(c, secrets) }))
	var stateOpts []state.Option
	if opts.Clock != nil {
		stateOpts = append(stateOpts, state.WithClock(opts.Clock))
	}
	s := &Server{
		log:        opts.Logger,
		metrics:    opts.Metrics,
		version:    opts.Version,
		load:       opts.Load,
		configPath: opts.ConfigPath,
		audit:      opts.Logger.Named("audit"),
		secrets:    secrets,
	}
	s.pool = health.NewPool(breakerObserver{s})
	tracing, err := telemetry.NewTracing(opts.Config.Tracing, opts.Version, opts.SpanExporter)
	if err != nil {
		return nil, err
	}
	s.tracing = tracing
	s.store = state.Guard(opts.Store) // a panic inside any store is an error, never a dropped connection
	if s.store == nil {
		store, err := state.Open(opts.Config.State, opts.Logger.Named("state"), stateOpts...)
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		s.store = store
	}
	s.exe = executor.New(executor.Options{Logger: opts.Logger, Metrics: s.metrics, Tracing: tracing, Pool: s.pool,
		Store: s.store, Cache: cache.New(opts.Config.Cache.MaxEntries, opts.Config.Cache.MaxBytes),
		Registry: opts.Registry, Clock: opts.Clock})
	s.ring = s.newRing(opts.Keyring)
	snap, err := s.compile(opts.Config)
	if err != nil {
		s.store.Close()
		return nil, err
	}
	s.snap.Store(snap)
	s.metrics.WatchTargets(s.targetStates)
	if s.ring.Open() {
		s.log.Warn("NO CLIENT KEYS CONFIGURED: the API is open to anyone who can reach " + opts.Config.Listen +
			"; add keys: to the configuration before exposing it, or set open_access: true to keep it open" +
			" (a reload to a file without keys is refused without it)")
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
	if err := cfg.CheckReload(s.Config(), s.ring.RuntimeKeys()); err != nil {
		return err
	}
	snap, err := s.compile(cfg)
	if err != nil {
		return err
	}
	s.secrets.Use(scrub.New(cfg.Secrets()))
	s.snap.Store(snap)
	keep := map[string]bool{}
	for _, t := range snap.Router.Targets() {
		keep[t.ID] = true
	}
	s.pool.Retain(keep)
	return nil
}

// Config returns the configuration in force.
func (s *Server) Config() *config.Config { return s.snapshot().Config }

// snapshot is the compiled configuration in force.
func (s *Server) snapshot() *executor.Snapshot { return s.snap.Load() }

// compile builds a snapshot of cfg, reusing what it can of the one in force, and
// hands the file's keys to the keyring last, once nothing can fail: New and swap
// install what compile returns.
func (s *Server) compile(cfg *config.Config) (*executor.Snapshot, error) {
	snap, err := s.exe.Compile(cfg, s.snap.Load())
	if err != nil {
		return nil, err
	}
	s.ring.SetConfig(cfg, s.configPath)
	return snap, nil
}

// Serve answers on the API and admin listeners until ctx ends, then drains: readiness
// fails at once, the API keeps accepting for drain_delay (so endpoints are removed
// first), then stops accepting and gives in-flight requests and streams up to
// shutdown_grace to finish.
func (s *Server) Serve(ctx context.Context, api, admin net.Listener) error {
	conns := &connTracker{conns: map[net.Conn]http.ConnState{}}
	api2 := &http.Server{
		Handler:   s.Handler(),
		ConnState: conns.track,
		// Headers must arrive promptly; bodies and responses get per-request
		// deadlines (readBody, armWrite) instead of server-wide ones, which would
		// cut long streams.
		ReadHeaderTimeout: s.Config().ClientTimeouts.ReadHeader,
		IdleTimeout:       s.Config().ClientTimeouts.Idle,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	adm := &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	polls, stopPolls := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() { s.ring.Run(polls); close(polled) }()
	defer func() { stopPolls(); <-polled }()
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
	stopPolls()
	<-polled
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
	router := s.snapshot().Router
	var out []telemetry.TargetState
	aliases := map[string][]string{}
	for _, name := range router.Names() {
		for _, tier := range router.Alias(name).Tiers {
			for _, t := range tier {
				aliases[t.ID] = append(aliases[t.ID], name)
			}
		}
	}
	for _, t := range router.Targets() {
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
