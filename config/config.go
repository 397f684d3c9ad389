// Package config loads, expands and validates Switchyard's configuration file.
//
// The keys are public interface (see config.example.yaml). Lists of objects carry a
// name field instead of being maps, because viper lowercases map keys.
package config

import "time"

// Defaults of the top-level settings; config.example.yaml shows the same values.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultAdminListen   = "127.0.0.1:9090"
	DefaultMaxBodyBytes  = 8 << 20 // 8 MiB
	DefaultShutdownGrace = 30 * time.Second
	DefaultDrainDelay    = 5 * time.Second
)

// DefaultMaxResponseBytes caps a non-streamed upstream answer: 32 MiB, the same as
// providers.DefaultMaxResponseBytes.
const DefaultMaxResponseBytes = 32 << 20

// Config is one complete, validated configuration.
type Config struct {
	// Listen is the address of the OpenAI-compatible API. Default 127.0.0.1:8080.
	Listen string `mapstructure:"listen"`
	// AdminListen serves /metrics, /healthz, /readyz and /admin/. Default 127.0.0.1:9090.
	AdminListen string `mapstructure:"admin_listen"`
	// AdminToken, when set, is required (Authorization: Bearer) on /admin/ endpoints;
	// /metrics and the probes stay open for Prometheus and the kubelet.
	AdminToken Secret `mapstructure:"admin_token"`
	// MaxBodyBytes caps a request body in bytes; larger bodies get 413. Default 8 MiB.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// MaxResponseBytes caps a non-streamed upstream answer in bytes (embeddings
	// answers: 8 times this). A larger answer fails the attempt with 502; it is
	// not retried on that target and does not count against its health, since the
	// client's request asked for it. Default 32 MiB.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
	// ShutdownGrace bounds how long in-flight requests may take after the listener
	// stops. Default 30s.
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace"`
	// DrainDelay is how long the listener keeps accepting after SIGTERM while
	// readiness already fails, so that endpoints are removed first. Default 5s.
	DrainDelay time.Duration `mapstructure:"drain_delay"`
	// ClientTimeouts bound the client's side of every API request.
	ClientTimeouts ClientTimeouts `mapstructure:"client_timeouts"`

	// OpenAccess lets the API run without client keys: anyone who can reach listen
	// may call it, as the anonymous key. Default false. Startup without keys is
	// allowed anyway (development, with a loud warning), but a reload that would
	// leave the API without keys is refused unless the new file sets this, so that
	// a file that lost its keys (a bad merge, an empty ConfigMap) cannot open a
	// running gateway. It cannot be combined with keys.
	OpenAccess bool `mapstructure:"open_access"`

	Keys      []Key      `mapstructure:"keys"`
	Teams     []Team     `mapstructure:"teams"`
	Providers []Provider `mapstructure:"providers"`
	Models    []Model    `mapstructure:"models"`
	// Policies are rules evaluated in order on every request (see policy.Rules).
	Policies []Policy `mapstructure:"policies"`
	// Budget is the global budget, across all keys and teams.
	Budget     *Budget    `mapstructure:"budget"`
	Cache      Cache      `mapstructure:"cache"`
	Responses  Responses  `mapstructure:"responses"`
	Resilience Resilience `mapstructure:"resilience"`
	// Pricing overrides the built-in price catalog per provider name and model.
	Pricing []Price `mapstructure:"pricing"`
	State   State   `mapstructure:"state"`
	Log     Log     `mapstructure:"log"`
	Tracing Tracing `mapstructure:"tracing"`
}

// ClientTimeouts bound how long a client may take on its side of a request, so that
// one that sends slowly or stops reading cannot hold a connection, its goroutines
// and its buffers. Upstream time is bounded by resilience.timeouts instead.
type ClientTimeouts struct {
	// ReadHeader bounds reading a request's line and headers. Default 10s.
	ReadHeader time.Duration `mapstructure:"read_header"`
	// ReadBody bounds reading a request's body, from the end of its headers.
	// Default 30s.
	ReadBody time.Duration `mapstructure:"read_body"`
	// Write bounds each write to the client (a response, or one stream event): a
	// client that stops reading a stream is cut after this long. Default 60s.
	Write time.Duration `mapstructure:"write"`
	// Idle bounds a keep-alive connection between requests. Default 120s.
	Idle time.Duration `mapstructure:"idle"`
}

// Tracing exports OpenTelemetry spans over OTLP/HTTP: one per request and one per
// upstream attempt, with GenAI semantic-convention attributes. Off by default.
type Tracing struct {
	Enabled bool `mapstructure:"enabled"`
	// Endpoint is the OTLP/HTTP traces URL. Default http://localhost:4318/v1/traces.
	Endpoint string `mapstructure:"endpoint"`
	// ServiceName is the service.name resource attribute. Default switchyard.
	ServiceName string `mapstructure:"service_name"`
	// SampleRatio of new traces to record (0..1); a client's sampled traceparent is
	// always followed. Default 1.
	SampleRatio float64 `mapstructure:"sample_ratio"`
}

// Price is what one upstream model costs on one provider, in USD per 1M tokens. It
// overrides the built-in catalog, which cannot know custom Azure deployment names,
// negotiated rates or self-hosted models. A row sets all three rates (omitted ones
// are 0: input: 0, output: 0 declares a free model); context_window and
// max_output, when omitted, come from the catalog's row for the same model.
type Price struct {
	// Provider is a provider name from providers.
	Provider string `mapstructure:"provider"`
	// Model is the upstream model id exactly as targets write it (Azure: the
	// deployment name), or "*" for every model of the provider without a row of
	// its own.
	Model string `mapstructure:"model"`
	// Input is USD per 1M uncached prompt tokens.
	Input float64 `mapstructure:"input"`
	// CachedInput is USD per 1M prompt tokens served from the provider's prompt
	// cache; 0 bills them at Input.
	CachedInput float64 `mapstructure:"cached_input"`
	// CacheWrite is USD per 1M prompt tokens written to the provider's prompt
	// cache (Anthropic and Claude on Bedrock bill them above input); 0 bills them
	// at Input.
	CacheWrite float64 `mapstructure:"cache_write"`
	// Output is USD per 1M completion tokens (reasoning tokens included).
	Output float64 `mapstructure:"output"`
	// ContextWindow is the model's context window in tokens.
	ContextWindow int `mapstructure:"context_window"`
	// MaxOutput is the most completion tokens one request may produce.
	MaxOutput int `mapstructure:"max_output"`
}

// State selects where shared counters and records live.
type State struct {
	// Driver is "embedded" (default: a local file, one replica) or "redis" (many
	// replicas share budgets, rate limits and conversations).
	Driver string `mapstructure:"driver"`
	// Path of the embedded database file. Default ./switchyard.db.
	Path string `mapstructure:"path"`
	// URL of Redis: redis://[[user]:password@]host:port[/db],
	// redis-sentinel://[[user]:password@]host:port[,host:port...]/master[?db=N],
	// redis-cluster://[[user]:password@]host:port[,host:port...]; rediss://,
	// rediss-sentinel:// and rediss-cluster:// for TLS. go-redis's URL options
	// (dial_timeout=, skip_verify=, ...) apply to every form; see state.Open.
	URL Secret `mapstructure:"url"`
	// FailOpen admits requests when the store is unreachable (limits and budgets
	// are then not enforced); false (default) rejects them with 503.
	FailOpen bool `mapstructure:"fail_open"`
	// KeyPrefix namespaces every key. Default "switchyard:".
	KeyPrefix string `mapstructure:"key_prefix"`
	// Timeout bounds one store operation. Default 250ms.
	Timeout time.Duration `mapstructure:"timeout"`
}

// Key is a client key: who may call, which aliases, under which limits.
type Key struct {
	Name string `mapstructure:"name"`
	Key  Secret `mapstructure:"key"`
	Team string `mapstructure:"team"`
	// Models is an optional allowlist of aliases; entries may be globs ("claude-*").
	Models []string `mapstructure:"models"`
	Limits Limits   `mapstructure:"limits"`
	Budget *Budget  `mapstructure:"budget"`
}

// Team groups keys under one budget and one set of rate limits, which every key
// of the team counts against together (on top of each key's own).
type Team struct {
	Name   string  `mapstructure:"name"`
	Budget *Budget `mapstructure:"budget"`
	Limits Limits  `mapstructure:"limits"`
}

// Limits are a key's rate limits per minute; 0 means unlimited.
type Limits struct {
	// RPM is requests per minute.
	RPM int64 `mapstructure:"rpm"`
	// TPM is tokens per minute: estimated at admission, corrected with actual usage.
	TPM int64 `mapstructure:"tpm"`
}

// Budget is a spending limit in US dollars per period.
type Budget struct {
	USD float64 `mapstructure:"usd"`
	// Period is daily, weekly, monthly (UTC calendar periods) or total. Default monthly.
	Period string `mapstructure:"period"`
	// Soft is the share of USD at which a warning is logged and counted. Default 0.8.
	Soft float64 `mapstructure:"soft"`
}

// Policy is one rule: when every condition of Match holds, Action applies.
type Policy struct {
	Name   string `mapstructure:"name"`
	Match  Match  `mapstructure:"match"`
	Action Action `mapstructure:"action"`
	// Final stops the evaluation after this rule when it matches.
	Final bool `mapstructure:"final"`
}

// Match lists conditions; all must hold. A list matches when any entry does; an
// empty condition always holds.
type Match struct {
	// Alias globs ("gpt-4o*") matched against the alias at this point of evaluation.
	Alias []string `mapstructure:"alias"`
	Key   []string `mapstructure:"key"`
	Team  []string `mapstructure:"team"`
	// Tags come from the X-Switchyard-Tags header and the request's metadata.tags
	// (comma-separated); any one matches.
	Tags []string `mapstructure:"tags"`
	// PromptTokens is the locally estimated prompt size.
	PromptTokens Range `mapstructure:"prompt_tokens"`
	Tools        *bool `mapstructure:"tools"`
	Images       *bool `mapstructure:"images"`
	Stream       *bool `mapstructure:"stream"`
	// BudgetUsed is the largest spent share (0..1) of the key's, team's and global
	// budgets in their current periods.
	BudgetUsed Range `mapstructure:"budget_used"`
}

// Range is an open interval; unset bounds are unbounded.
type Range struct {
	GT *float64 `mapstructure:"gt"`
	LT *float64 `mapstructure:"lt"`
}

// Action is what a matching rule does.
type Action struct {
	// Route sends the request to another alias.
	Route string `mapstructure:"route"`
	// Providers and Regions restrict the targets (data residency).
	Providers []string `mapstructure:"providers"`
	Regions   []string `mapstructure:"regions"`
	// Strategy replaces the alias's strategy for this request.
	Strategy string `mapstructure:"strategy"`
	// MaxTokens caps max_tokens / max_completion_tokens.
	MaxTokens int `mapstructure:"max_tokens"`
	// Deny refuses the request (403) with this message.
	Deny string `mapstructure:"deny"`
}

// Cache bounds the response cache; aliases opt in.
type Cache struct {
	// MaxEntries bounds the cache across aliases. Default 10000.
	MaxEntries int `mapstructure:"max_entries"`
	// TTL of an entry unless the alias sets its own. Default 1h.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxBytes bounds the stored answers' total size. Default 64 MiB.
	MaxBytes int64 `mapstructure:"max_bytes"`
}

// Responses configures the Responses API's stored conversations (in the state store).
type Responses struct {
	// Retention keeps a stored response this long after its creation. Default 720h.
	Retention time.Duration `mapstructure:"retention"`
	// MaxChainItems and MaxChainBytes bound one conversation; a turn beyond them is
	// refused (400 conversation_too_large). Defaults 4096 items, 8 MiB: about 2M
	// tokens of text, more than any model's context window holds, while 8
	// continuations of such a conversation at once stay within the sidecar's memory
	// (each holds a few copies of its conversation while it is sent).
	MaxChainItems int   `mapstructure:"max_chain_items"`
	MaxChainBytes int64 `mapstructure:"max_chain_bytes"`
	// CacheSize is the number of decoded responses kept in memory. Default 1024.
	CacheSize int `mapstructure:"cache_size"`
	// ShareTeam lets every key of a team read and continue the team's responses.
	// Default false: only the key that created a response sees it.
	ShareTeam bool `mapstructure:"share_team"`
}

// ModelCache opts an alias into the response cache.
type ModelCache struct {
	Enabled bool `mapstructure:"enabled"`
	// TTL overrides cache.ttl.
	TTL time.Duration `mapstructure:"ttl"`
	// AnyTemperature caches requests whatever their temperature; by default only
	// temperature 0 requests are cached.
	AnyTemperature bool `mapstructure:"any_temperature"`
	// Shared lets every key read every key's entries; by default entries are
	// isolated per key.
	Shared bool `mapstructure:"shared"`
}

// Provider is one upstream account, region or endpoint.
type Provider struct {
	Name string `mapstructure:"name"`
	// Type is the wire format: openai, azure, bedrock, anthropic or gemini.
	Type    string `mapstructure:"type"`
	BaseURL string `mapstructure:"base_url"`
	APIKey  Secret `mapstructure:"api_key"`
	// APIVersion is Azure's api-version query parameter, or "v1" for the
	// /openai/v1/ path that takes none.
	APIVersion string `mapstructure:"api_version"`
	// Auth selects how the provider authenticates. azure: "api_key" (default) or
	// "entra" (Microsoft Entra ID, azidentity's default credential chain). gemini:
	// "api_key" (default) or "google" (Google application default credentials, for
	// Vertex AI). anthropic: "api_key" (default, Anthropic's API) or "google"
	// (Claude on Vertex AI through rawPredict, with project and region).
	Auth string `mapstructure:"auth"`
	// Headers are static headers added to every upstream request.
	Headers map[string]string `mapstructure:"headers"`
	// Region names where the provider serves from (bedrock: the AWS region; vertex:
	// the location). Rules restrict traffic by it (data residency).
	Region string `mapstructure:"region"`

	// Bedrock: credentials come from the AWS default chain (environment, shared
	// profile, web identity / IRSA, ECS and EC2 roles) unless given here.
	Profile            string `mapstructure:"profile"`
	AWSAccessKeyID     Secret `mapstructure:"aws_access_key_id"`
	AWSSecretAccessKey Secret `mapstructure:"aws_secret_access_key"`
	AWSSessionToken    Secret `mapstructure:"aws_session_token"`
	// RoleARN is assumed (STS AssumeRole) with the credentials above.
	RoleARN string `mapstructure:"role_arn"`

	// Anthropic: the anthropic-version header (default 2023-06-01; Claude on
	// Vertex AI takes none: its body says vertex-2023-10-16) and optional
	// anthropic-beta flags, sent as configured.
	AnthropicVersion string   `mapstructure:"anthropic_version"`
	AnthropicBeta    []string `mapstructure:"anthropic_beta"`

	// Gemini or Claude on Vertex AI (auth: google): the Google Cloud project;
	// region is the location.
	Project string `mapstructure:"project"`
	// Timeouts override resilience.timeouts for every target of this provider.
	Timeouts Timeouts `mapstructure:"timeouts"`
	// MaxResponseBytes overrides the top-level max_response_bytes for this
	// provider; unset, it is the top-level value.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
}

// Model is an alias clients send as "model", and where it may be served.
type Model struct {
	Name string `mapstructure:"name"`
	// Strategy chooses among available targets of one priority tier. Default weighted.
	Strategy string   `mapstructure:"strategy"`
	Targets  []Target `mapstructure:"targets"`
	// Fallbacks are aliases tried, in order, once every target has failed.
	Fallbacks []string `mapstructure:"fallbacks"`
	// HedgeAfter starts a second attempt on the next target when the first has not
	// sent its first byte after this long; the first to answer wins. 0 (default)
	// disables hedging, which costs a second request.
	HedgeAfter time.Duration `mapstructure:"hedge_after"`
	// OnContentFilter is "return" (default: the refusal goes to the client) or
	// "failover" (try the next target).
	OnContentFilter string `mapstructure:"on_content_filter"`
	// SLO is the p95 latency target of strategy cost_slo (time to first token for
	// streams, the whole response otherwise).
	SLO   time.Duration `mapstructure:"slo"`
	Cache ModelCache    `mapstructure:"cache"`
	// ReasoningContent returns the model's reasoning text as reasoning_content on
	// messages and stream deltas (translated backends). Default true; false
	// leaves it out (thinking blocks, which tool loops must send back, still
	// come).
	ReasoningContent *bool `mapstructure:"reasoning_content"`
}

// Target is one (provider, upstream model) pair behind an alias.
type Target struct {
	Provider string `mapstructure:"provider"`
	// Model is the upstream model id (Azure: the deployment name).
	Model string `mapstructure:"model"`
	// Weight splits traffic within a priority tier. Default 1; 0 disables the target.
	Weight *int `mapstructure:"weight"`
	// Priority orders tiers: lower is preferred. Default 0.
	Priority int `mapstructure:"priority"`
	// Timeouts override the provider's and resilience.timeouts for this target.
	Timeouts Timeouts `mapstructure:"timeouts"`
	// Breaker overrides resilience.breaker for this target; zero fields inherit.
	Breaker Breaker `mapstructure:"breaker"`
	// ContextWindow is the upstream model's context window in tokens; it overrides
	// the price catalog's. After a context-length failure only targets with a larger
	// (or unknown) window are tried.
	ContextWindow int `mapstructure:"context_window"`
}

// Resilience governs attempts, breakers and timeouts.
type Resilience struct {
	// MaxAttempts bounds the attempts of one request across all targets. Default 3.
	MaxAttempts int      `mapstructure:"max_attempts"`
	Timeouts    Timeouts `mapstructure:"timeouts"`
	Breaker     Breaker  `mapstructure:"breaker"`
	// MaxCooldown caps how long a rate-limited target rests, whatever its
	// Retry-After says. Default 60s.
	MaxCooldown time.Duration `mapstructure:"max_cooldown"`
	// DefaultCooldown is the rest of a rate-limited target that sent no Retry-After.
	// Default 1s.
	DefaultCooldown time.Duration `mapstructure:"default_cooldown"`
	Retry           Retry         `mapstructure:"retry"`
}

// Breaker configures circuit breakers. Zero fields inherit (per target) or take the
// default (globally).
type Breaker struct {
	// ConsecutiveFailures that trip the breaker. Default 5.
	ConsecutiveFailures uint32 `mapstructure:"consecutive_failures"`
	// FailureRatio (0..1) trips the breaker once MinRequests were counted within
	// Interval. Default 0 (off).
	FailureRatio float64 `mapstructure:"failure_ratio"`
	// MinRequests before FailureRatio applies. Default 20.
	MinRequests uint32 `mapstructure:"min_requests"`
	// Interval over which closed-state counts accumulate. Default 60s.
	Interval time.Duration `mapstructure:"interval"`
	// OpenTimeout is how long an open breaker rejects before probing. Default 30s.
	OpenTimeout time.Duration `mapstructure:"open_timeout"`
	// HalfOpenProbes let through while half-open. Default 1.
	HalfOpenProbes uint32 `mapstructure:"half_open_probes"`
}

// Retry configures retries of the same target, used only when it has no alternative.
type Retry struct {
	// BaseDelay is the first backoff; each retry doubles it, with full jitter.
	// Default 100ms.
	BaseDelay time.Duration `mapstructure:"base_delay"`
	// MaxDelay caps one backoff. Default 2s.
	MaxDelay time.Duration `mapstructure:"max_delay"`
}

// Timeouts of one upstream attempt. Zero means "inherit".
type Timeouts struct {
	// Connect bounds dialing and the TLS handshake. Default 10s.
	Connect time.Duration `mapstructure:"connect"`
	// FirstByte bounds the wait for response headers, or for a stream's first
	// content event. Default 30s.
	FirstByte time.Duration `mapstructure:"first_byte"`
	// Total bounds the whole request, failover included. Default 300s.
	Total time.Duration `mapstructure:"total"`
}

// Log configures the zap logger.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `mapstructure:"level"`
	// Format is json (default) or console.
	Format string `mapstructure:"format"`
	// Bodies adds prompt and completion bodies (secrets redacted) to access lines.
	// Default false: bodies are never logged.
	Bodies bool `mapstructure:"bodies"`
	// AccessSampling is the share (0..1] of successful requests whose access line is
	// written; errors are always logged. Default 1.
	AccessSampling float64 `mapstructure:"access_sampling"`
	// FlushInterval is how long successful requests' access lines may wait in
	// memory before they are written, to save a write per request; every other
	// line is written at once. 0 writes each line at once. Default 1s; read at
	// start.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
}
