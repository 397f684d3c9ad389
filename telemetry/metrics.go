// Package telemetry holds Switchyard's Prometheus metrics, its zap logger and its
// OpenTelemetry tracing. Labels are bounded: alias, provider, target, team, status
// class and reason; never keys, prompts or request ids.
package telemetry

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// LatencyBuckets span LLM latencies, 10 ms to 120 s.
var LatencyBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120}

// TokenTimeBuckets span the time per output token, 1 ms to 1 s.
var TokenTimeBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 1}

// Metrics are every collector Switchyard exports.
type Metrics struct {
	Registry *prometheus.Registry

	Requests           *prometheus.CounterVec   // alias, team, provider, status_class, api
	RequestDuration    *prometheus.HistogramVec // alias, stream
	InFlight           *prometheus.GaugeVec     // kind
	Attempts           *prometheus.CounterVec   // alias, provider, target, outcome
	AttemptDuration    *prometheus.HistogramVec // provider, target, outcome
	TTFT               *prometheus.HistogramVec // alias, provider
	TimePerToken       *prometheus.HistogramVec // alias, provider
	Tokens             *prometheus.CounterVec   // alias, provider, team, type
	Cost               *prometheus.CounterVec   // alias, provider, team
	CostUnknown        *prometheus.CounterVec   // provider, target
	Failovers          *prometheus.CounterVec   // alias, reason
	BreakerChanges     *prometheus.CounterVec   // provider, target, to
	Cooldowns          *prometheus.CounterVec   // provider, target
	BudgetSpend        *prometheus.GaugeVec     // scope, name, period
	BudgetLimit        *prometheus.GaugeVec     // scope, name, period
	BudgetRejections   *prometheus.CounterVec   // scope, team
	RateLimited        *prometheus.CounterVec   // team, limit
	PolicyDenials      *prometheus.CounterVec   // rule
	CacheRequests      *prometheus.CounterVec   // alias, result
	CacheSavings       *prometheus.CounterVec   // alias
	PromptCacheSavings *prometheus.CounterVec   // alias, provider, team
	StateErrors        *prometheus.CounterVec   // driver, op
	ConfigReloads      *prometheus.CounterVec   // result
	ResponsesTurns     *prometheus.HistogramVec // alias
	DecodeErrors       *prometheus.CounterVec   // provider
	AdminChanges       *prometheus.CounterVec   // object, action, result
	Keys               *prometheus.GaugeVec     // source
}

// NewMetrics registers every collector on a new registry, with Go runtime and process
// collectors and switchyard_build_info.
func NewMetrics(version string) *Metrics {
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{
		Registry: reg,
		Requests: f.counter("requests_total", "Client requests by alias, team, serving provider, status class (2xx, 4xx, 5xx) "+
			"and API (chat, responses, embeddings, models, messages, count_tokens).",
			"alias", "team", "provider", "status_class", "api"),
		RequestDuration: f.histogram("request_duration_seconds", "Client request duration, failover included.",
			LatencyBuckets, "alias", "stream"),
		InFlight: f.gauge("in_flight_requests", "Requests being served, by kind (request, stream).", "kind"),
		Attempts: f.counter("upstream_attempts_total", "Upstream attempts by target and outcome (success or failure class).",
			"alias", "provider", "target", "outcome"),
		AttemptDuration: f.histogram("upstream_attempt_duration_seconds", "Upstream attempt duration by target and outcome.",
			LatencyBuckets, "provider", "target", "outcome"),
		TTFT: f.histogram("time_to_first_token_seconds", "Time from request to the first content token of a stream.",
			LatencyBuckets, "alias", "provider"),
		TimePerToken: f.histogram("time_per_output_token_seconds", "Stream generation time per output token after the first.",
			TokenTimeBuckets, "alias", "provider"),
		Tokens: f.counter("tokens_total", "Tokens by type: input (neither read from nor written to a prompt cache), cached (input served from the provider's prompt cache), cache_write (input written to it), output (reasoning included).",
			"alias", "provider", "team", "type"),
		Cost: f.counter("cost_usd_total", "Spend in US dollars from actual usage and the price catalog.",
			"alias", "provider", "team"),
		CostUnknown: f.counter("cost_unknown_total", "Requests whose cost is unknown because their target has no price.",
			"provider", "target"),
		Failovers: f.counter("failovers_total", "Moves to another target after a failed attempt, by the failure's reason.",
			"alias", "reason"),
		BreakerChanges: f.counter("breaker_transitions_total", "Circuit breaker state changes by target and new state.",
			"provider", "target", "to"),
		Cooldowns: f.counter("cooldowns_total", "Rate-limit cooldowns started, by target.", "provider", "target"),
		BudgetSpend: f.gauge("budget_spend_usd", "Spend in the current budget period, by scope (key, team, global).",
			"scope", "name", "period"),
		BudgetLimit: f.gauge("budget_limit_usd", "Budget limit of the period, by scope.", "scope", "name", "period"),
		BudgetRejections: f.counter("budget_rejections_total", "Requests rejected because a budget was exhausted.",
			"scope", "team"),
		RateLimited: f.counter("rate_limit_rejections_total", "Requests rejected by a key's or a team's rate limit, by team and limit (rpm, tpm).",
			"team", "limit"),
		PolicyDenials: f.counter("policy_denials_total", "Requests denied by a policy rule.", "rule"),
		CacheRequests: f.counter("cache_requests_total", "Response cache lookups by result (hit, miss).", "alias", "result"),
		CacheSavings:  f.counter("cache_savings_usd_total", "Estimated spend avoided by cache hits.", "alias"),
		PromptCacheSavings: f.counter("prompt_cache_savings_usd_total",
			"Spend the providers' own prompt caches saved: cached tokens at the input rate less the cached-input rate.",
			"alias", "provider", "team"),
		StateErrors: f.counter("state_errors_total", "Errors of the shared state driver, by operation.",
			"driver", "op"),
		ConfigReloads: f.counter("config_reloads_total", "Configuration reloads by result (success, failure).", "result"),
		ResponsesTurns: f.histogram("responses_conversation_turns", "Turns of a Responses API conversation at each request.",
			[]float64{1, 2, 3, 5, 8, 13, 21, 34, 55, 100}, "alias"),
		DecodeErrors: f.counter("upstream_decode_errors_total", "Upstream responses or stream events that could not be decoded.",
			"provider"),
		AdminChanges: f.counter("admin_changes_total", "Changes of keys and teams through the admin API, by object (key, team), "+
			"action (create, update, rotate, revoke, delete) and result (ok, refused, unauthorized, error); each is also one audit log line.",
			"object", "action", "result"),
		Keys: f.gauge("client_keys", "Client keys served, by source (config: the file; runtime: issued through the admin API).",
			"source"),
	}
	info := f.gauge("build_info", "Build information; the value is always 1.", "version", "goversion")
	info.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, reason := range []string{"success", "failure"} {
		m.ConfigReloads.WithLabelValues(reason) // export zero before the first reload
	}
	return m
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switchyard", Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "switchyard", Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "switchyard", Name: name, Help: help,
		Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
