package config

import (
	"math"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// ProviderTypes are the wire formats Switchyard speaks.
var ProviderTypes = []string{"openai", "azure", "bedrock", "anthropic", "gemini"}

// Strategies choose among the available targets of one priority tier.
var Strategies = []string{"weighted", "cheapest", "fastest", "cost_slo"}

// RedisSchemes are the forms of state.url (the rediss ones use TLS).
var RedisSchemes = []string{"redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}

// Periods of budgets: UTC calendar periods, or the whole life of the deployment.
var Periods = []string{"daily", "weekly", "monthly", "total"}

func (c *Config) validate(ps *problems) {
	validateAddr(c.Listen, "listen", ps)
	validateAddr(c.AdminListen, "admin_listen", ps)
	if c.MaxBodyBytes < 0 {
		ps.add("max_body_bytes", "must be positive")
	}
	if c.MaxResponseBytes <= 0 {
		ps.add("max_response_bytes", "must be positive")
	}
	if c.ShutdownGrace < 0 {
		ps.add("shutdown_grace", "must not be negative")
	}
	if c.DrainDelay < 0 {
		ps.add("drain_delay", "must not be negative")
	}
	ct := c.ClientTimeouts
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"read_header", ct.ReadHeader}, {"read_body", ct.ReadBody}, {"write", ct.Write}, {"idle", ct.Idle}} {
		if t.d <= 0 {
			ps.add("client_timeouts."+t.name, "must be positive")
		}
	}
	c.validateKeys(ps)
	if c.OpenAccess && len(c.Keys) > 0 {
		ps.add("open_access", "true opens the API to anyone, but keys are configured: remove one or the other")
	}
	c.validateTeams(ps)
	if len(c.Providers) == 0 {
		ps.add("providers", "at least one provider is required")
	}
	if len(c.Models) == 0 {
		ps.add("models", "at least one model (the names clients send) is required")
	}
	c.validateProviders(ps)
	c.validateModels(ps)
	c.validatePolicies(ps)
	if c.Budget != nil {
		c.Budget.validate("budget", ps)
	}
	if c.Cache.MaxEntries <= 0 {
		ps.add("cache.max_entries", "must be positive")
	}
	if c.Cache.TTL <= 0 {
		ps.add("cache.ttl", "must be positive")
	}
	if c.Cache.MaxBytes <= 0 {
		ps.add("cache.max_bytes", "must be positive")
	}
	if c.Responses.Retention <= 0 {
		ps.add("responses.retention", "must be positive")
	}
	if c.Responses.MaxChainItems <= 0 || c.Responses.MaxChainBytes <= 0 {
		ps.add("responses", "max_chain_items and max_chain_bytes must be positive")
	}
	c.validatePricing(ps)
	if c.Resilience.MaxAttempts < 1 {
		ps.add("resilience.max_attempts", "must be at least 1")
	}
	c.Resilience.Timeouts.validate("resilience.timeouts", ps)
	c.Resilience.Breaker.validate("resilience.breaker", ps)
	if c.Resilience.MaxCooldown < 0 {
		ps.add("resilience.max_cooldown", "must not be negative")
	}
	if c.Resilience.Retry.BaseDelay < 0 || c.Resilience.Retry.MaxDelay < c.Resilience.Retry.BaseDelay {
		ps.add("resilience.retry", "want 0 < base_delay <= max_delay")
	}
	switch c.State.Driver {
	case "embedded":
		if c.State.URL != "" {
			ps.add("state.url", "applies to driver: redis only")
		}
	case "redis":
		if c.State.URL == "" {
			ps.add("state.url", "required with driver: redis (redis://host:6379)")
		} else if scheme, _, _ := strings.Cut(c.State.URL.Reveal(), "://"); !slices.Contains(RedisSchemes, scheme) {
			ps.add("state.url", "want one of %v (scheme://...)", RedisSchemes)
		}
	default:
		ps.add("state.driver", "must be embedded or redis; got %q", c.State.Driver)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	if c.Log.AccessSampling <= 0 || c.Log.AccessSampling > 1 {
		ps.add("log.access_sampling", "must be in (0, 1]")
	}
	if c.Log.FlushInterval < 0 || c.Log.FlushInterval > time.Minute {
		ps.add("log.flush_interval", "must be in [0, 1m]")
	}
	if c.Tracing.SampleRatio < 0 || c.Tracing.SampleRatio > 1 {
		ps.add("tracing.sample_ratio", "must be in [0, 1]")
	}
	if u, err := url.Parse(c.Tracing.Endpoint); c.Tracing.Enabled && (err != nil || u.Host == "") {
		ps.add("tracing.endpoint", "want an OTLP/HTTP URL such as http://otel-collector:4318/v1/traces")
	}
	if !slices.Contains([]string{"json", "console"}, c.Log.Format) {
		ps.add("log.format", "must be json or console; got %q", c.Log.Format)
	}
}

func validateAddr(addr, key string, ps *problems) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		ps.add(key, "invalid address %q: want host:port", addr)
	}
}

func (c *Config) validateKeys(ps *problems) {
	names := map[string]bool{}
	secrets := map[Secret]bool{}
	for i, k := range c.Keys {
		p := index("keys", i)
		switch {
		case k.Name == "":
			ps.add(join(p, "name"), "required")
		case names[k.Name]:
			ps.add(join(p, "name"), "duplicate key name %q", k.Name)
		}
		names[k.Name] = true
		switch {
		case k.Key == "":
			ps.add(join(p, "key"), "required (is its environment variable empty?)")
		case secrets[k.Key]:
			ps.add(join(p, "key"), "the same key is configured twice")
		}
		secrets[k.Key] = true
		for j, pattern := range k.Models {
			if _, err := path.Match(pattern, ""); err != nil {
				ps.add(index(join(p, "models"), j), "invalid glob %q", pattern)
			}
		}
		k.Limits.validate(join(p, "limits"), ps)
		if k.Budget != nil {
			k.Budget.validate(join(p, "budget"), ps)
		}
	}
}

func (c *Config) validateTeams(ps *problems) {
	names := map[string]bool{}
	for i, t := range c.Teams {
		p := index("teams", i)
		switch {
		case t.Name == "":
			ps.add(join(p, "name"), "required")
		case names[t.Name]:
			ps.add(join(p, "name"), "duplicate team %q", t.Name)
		}
		names[t.Name] = true
		t.Limits.validate(join(p, "limits"), ps)
		if t.Budget != nil {
			t.Budget.validate(join(p, "budget"), ps)
		}
	}
}

func (l Limits) validate(p string, ps *problems) {
	if l.RPM < 0 {
		ps.add(join(p, "rpm"), "must not be negative")
	}
	if l.TPM < 0 {
		ps.add(join(p, "tpm"), "must not be negative")
	}
}

func (b *Budget) validate(p string, ps *problems) {
	if b.USD <= 0 {
		ps.add(join(p, "usd"), "must be positive")
	}
	if !slices.Contains(Periods, b.Period) {
		ps.add(join(p, "period"), "must be one of %v; got %q", Periods, b.Period)
	}
	if b.Soft <= 0 || b.Soft > 1 {
		ps.add(join(p, "soft"), "must be in (0, 1]")
	}
}

func (c *Config) validateProviders(ps *problems) {
	names := map[string]bool{}
	for i, pr := range c.Providers {
		p := index("providers", i)
		switch {
		case pr.Name == "":
			ps.add(join(p, "name"), "required")
		case names[pr.Name]:
			ps.add(join(p, "name"), "duplicate provider name %q", pr.Name)
		}
		names[pr.Name] = true
		if pr.MaxResponseBytes < 0 {
			ps.add(join(p, "max_response_bytes"), "must be positive")
		}
		if !slices.Contains(ProviderTypes, pr.Type) {
			ps.add(join(p, "type"), "unknown type %q; want one of %v", pr.Type, ProviderTypes)
			continue
		}
		if pr.BaseURL != "" {
			if u, err := url.Parse(pr.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				ps.add(join(p, "base_url"), "invalid URL %q: want http(s)://host[/path]", RedactURL(pr.BaseURL))
			}
		}
		pr.Timeouts.validate(join(p, "timeouts"), ps)
		pr.validateApplicable(p, ps)
		switch pr.Type {
		case "azure":
			if pr.BaseURL == "" {
				ps.add(join(p, "base_url"), "required for azure (https://RESOURCE.openai.azure.com)")
			}
			if pr.APIVersion == "" {
				ps.add(join(p, "api_version"), `required for azure (e.g. "2024-10-21", or "v1")`)
			}
			switch pr.Auth {
			case "api_key":
				if pr.APIKey == "" {
					ps.add(join(p, "api_key"), "required with auth: api_key (or set auth: entra)")
				}
			case "entra":
				if pr.APIKey != "" {
					ps.add(join(p, "api_key"), "must be empty with auth: entra")
				}
			default:
				ps.add(join(p, "auth"), "must be api_key or entra; got %q", pr.Auth)
			}
		case "bedrock":
			if pr.Region == "" {
				ps.add(join(p, "region"), "required for bedrock (e.g. us-east-1)")
			}
			if (pr.AWSAccessKeyID == "") != (pr.AWSSecretAccessKey == "") {
				ps.add(join(p, "aws_secret_access_key"), "aws_access_key_id and aws_secret_access_key go together")
			}
			if pr.AWSSessionToken != "" && pr.AWSAccessKeyID == "" {
				ps.add(join(p, "aws_session_token"), "needs aws_access_key_id and aws_secret_access_key")
			}
		case "anthropic":
			switch pr.Auth {
			case "api_key":
				if pr.APIKey == "" {
					ps.add(join(p, "api_key"), "required for anthropic (or set auth: google for Claude on Vertex AI)")
				}
			case "google":
				if pr.APIKey != "" {
					ps.add(join(p, "api_key"), "must be empty with auth: google")
				}
				if pr.AnthropicVersion != "" {
					ps.add(join(p, "anthropic_version"), "does not apply with auth: google (Vertex AI takes vertex-2023-10-16)")
				}
				if pr.Project == "" {
					ps.add(join(p, "project"), "required with auth: google (the Vertex AI project)")
				}
				if pr.Region == "" {
					ps.add(join(p, "region"), "required with auth: google (the Vertex AI location, e.g. us-east5)")
				}
			default:
				ps.add(join(p, "auth"), "must be api_key or google; got %q", pr.Auth)
			}
		case "gemini":
			switch pr.Auth {
			case "api_key":
				if pr.APIKey == "" {
					ps.add(join(p, "api_key"), "required with auth: api_key (or set auth: google for Vertex AI)")
				}
			case "google":
				if pr.Project == "" {
					ps.add(join(p, "project"), "required with auth: google (the Vertex AI project)")
				}
				if pr.Region == "" {
					ps.add(join(p, "region"), "required with auth: google (the Vertex AI location, e.g. us-central1)")
				}
			default:
				ps.add(join(p, "auth"), "must be api_key or google; got %q", pr.Auth)
			}
		}
	}
}

func (c *Config) validateModels(ps *problems) {
	names := map[string]bool{}
	for i, m := range c.Models {
		p := index("models", i)
		switch {
		case m.Name == "":
			ps.add(join(p, "name"), "required")
		case names[m.Name]:
			ps.add(join(p, "name"), "duplicate model name %q", m.Name)
		}
		names[m.Name] = true
		if !slices.Contains(Strategies, m.Strategy) {
			ps.add(join(p, "strategy"), "unknown strategy %q; want one of %v", m.Strategy, Strategies)
		}
		if len(m.Targets) == 0 {
			ps.add(join(p, "targets"), "at least one target is required")
		}
		for j, t := range m.Targets {
			tp := index(join(p, "targets"), j)
			if t.Provider == "" {
				ps.add(join(tp, "provider"), "required")
			} else if c.Provider(t.Provider) == nil {
				ps.add(join(tp, "provider"), "unknown provider %q", t.Provider)
			}
			if t.Model == "" {
				ps.add(join(tp, "model"), "required")
			}
			if t.Weight != nil && *t.Weight < 0 {
				ps.add(join(tp, "weight"), "must not be negative")
			}
			if t.ContextWindow < 0 {
				ps.add(join(tp, "context_window"), "must not be negative")
			}
			if t.Priority < 0 {
				ps.add(join(tp, "priority"), "must not be negative")
			}
			t.Timeouts.validate(join(tp, "timeouts"), ps)
			t.Breaker.validate(join(tp, "breaker"), ps)
		}
		if m.HedgeAfter < 0 {
			ps.add(join(p, "hedge_after"), "must not be negative")
		}
		if m.OnContentFilter != "return" && m.OnContentFilter != "failover" {
			ps.add(join(p, "on_content_filter"), "must be return or failover; got %q", m.OnContentFilter)
		}
		if m.Strategy == "cost_slo" && m.SLO <= 0 {
			ps.add(join(p, "slo"), "required with strategy cost_slo (a p95 latency, e.g. 2s)")
		}
		if m.SLO < 0 {
			ps.add(join(p, "slo"), "must not be negative")
		}
		if m.Cache.TTL < 0 {
			ps.add(join(p, "cache.ttl"), "must not be negative")
		}
		for j, f := range m.Fallbacks {
			fp := index(join(p, "fallbacks"), j)
			switch {
			case f == m.Name:
				ps.add(fp, "an alias cannot fall back to itself")
			case c.Model(f) == nil:
				ps.add(fp, "unknown model %q", f)
			}
		}
	}
	for i, m := range c.Models {
		if cyc := c.fallbackCycle(m.Name, nil); cyc != nil {
			ps.add(join(index("models", i), "fallbacks"), "fallback cycle: %v", cyc)
		}
	}
}

// fallbackCycle returns the chain of aliases that leads back to one already visited.
func (c *Config) fallbackCycle(name string, seen []string) []string {
	if slices.Contains(seen, name) {
		return append(seen, name)
	}
	m := c.Model(name)
	if m == nil {
		return nil
	}
	seen = append(seen, name)
	for _, f := range m.Fallbacks {
		if f == name {
			continue // reported separately
		}
		if cyc := c.fallbackCycle(f, slices.Clone(seen)); cyc != nil {
			return cyc
		}
	}
	return nil
}

func (c *Config) validatePricing(ps *problems) {
	seen := map[[2]string]bool{}
	for i, pr := range c.Pricing {
		p := index("pricing", i)
		if pr.Provider == "" {
			ps.add(join(p, "provider"), "required")
		} else if c.Provider(pr.Provider) == nil {
			ps.add(join(p, "provider"), "unknown provider %q", pr.Provider)
		}
		switch k := [2]string{pr.Provider, pr.Model}; {
		case pr.Model == "":
			ps.add(join(p, "model"), `required (the upstream model id, or "*")`)
		case seen[k]:
			ps.add(join(p, "model"), "duplicate price for provider %q and model %q", pr.Provider, pr.Model)
		default:
			seen[k] = true
		}
		for _, f := range []struct {
			key string
			v   float64
		}{{"input", pr.Input}, {"cached_input", pr.CachedInput}, {"cache_write", pr.CacheWrite}, {"output", pr.Output}} {
			// !(v >= 0) also catches YAML's .nan.
			if !(f.v >= 0) || math.IsInf(f.v, 1) {
				ps.add(join(p, f.key), "must be a non-negative number of USD per 1M tokens")
			}
		}
		if pr.ContextWindow < 0 {
			ps.add(join(p, "context_window"), "must not be negative")
		}
		if pr.MaxOutput < 0 {
			ps.add(join(p, "max_output"), "must not be negative")
		}
	}
}

func (t Timeouts) validate(p string, ps *problems) {
	if t.Connect < 0 {
		ps.add(join(p, "connect"), "must not be negative")
	}
	if t.FirstByte < 0 {
		ps.add(join(p, "first_byte"), "must not be negative")
	}
	if t.Total < 0 {
		ps.add(join(p, "total"), "must not be negative")
	}
}

func (b Breaker) validate(p string, ps *problems) {
	if b.FailureRatio < 0 || b.FailureRatio > 1 {
		ps.add(join(p, "failure_ratio"), "must be between 0 and 1")
	}
	if b.Interval < 0 {
		ps.add(join(p, "interval"), "must not be negative")
	}
	if b.OpenTimeout < 0 {
		ps.add(join(p, "open_timeout"), "must not be negative")
	}
}

// validateApplicable rejects settings that the provider's type ignores, so that a
// misplaced key is caught instead of silently doing nothing.
func (pr Provider) validateApplicable(p string, ps *problems) {
	only := func(key string, set bool, types ...string) {
		if set && !slices.Contains(types, pr.Type) {
			ps.add(join(p, key), "does not apply to type %s (only %v)", pr.Type, types)
		}
	}
	only("api_key", pr.APIKey != "", "openai", "azure", "anthropic", "gemini")
	only("api_version", pr.APIVersion != "", "azure")
	only("auth", pr.Auth != "" && pr.Auth != "api_key", "azure", "gemini", "anthropic")
	only("profile", pr.Profile != "", "bedrock")
	only("aws_access_key_id", pr.AWSAccessKeyID != "", "bedrock")
	only("aws_secret_access_key", pr.AWSSecretAccessKey != "", "bedrock")
	only("aws_session_token", pr.AWSSessionToken != "", "bedrock")
	only("role_arn", pr.RoleARN != "", "bedrock")
	only("anthropic_version", pr.AnthropicVersion != "", "anthropic")
	only("anthropic_beta", len(pr.AnthropicBeta) > 0, "anthropic")
	only("project", pr.Project != "", "gemini", "anthropic")
}

func (c *Config) validatePolicies(ps *problems) {
	names := map[string]bool{}
	keys := map[string]bool{}
	teams := map[string]bool{}
	for _, k := range c.Keys {
		keys[k.Name] = true
		teams[k.Team] = true
	}
	for _, t := range c.Teams {
		teams[t.Name] = true
	}
	for i, r := range c.Policies {
		p := index("policies", i)
		switch {
		case r.Name == "":
			ps.add(join(p, "name"), "required")
		case names[r.Name]:
			ps.add(join(p, "name"), "duplicate rule %q", r.Name)
		}
		names[r.Name] = true
		m := r.Match
		for j, g := range m.Alias {
			if _, err := path.Match(g, ""); err != nil {
				ps.add(index(join(p, "match.alias"), j), "invalid glob %q", g)
			}
		}
		for j, k := range m.Key {
			if !keys[k] {
				ps.add(index(join(p, "match.key"), j), "unknown key %q", k)
			}
		}
		for j, t := range m.Team {
			if !teams[t] {
				ps.add(index(join(p, "match.team"), j), "unknown team %q", t)
			}
		}
		m.PromptTokens.validate(join(p, "match.prompt_tokens"), 0, -1, ps)
		m.BudgetUsed.validate(join(p, "match.budget_used"), 0, 1, ps)
		a := r.Action
		if a.Route == "" && len(a.Providers) == 0 && len(a.Regions) == 0 && a.Strategy == "" && a.MaxTokens == 0 && a.Deny == "" {
			ps.add(join(p, "action"), "empty: set route, providers, regions, strategy, max_tokens or deny")
		}
		if a.Route != "" && c.Model(a.Route) == nil {
			ps.add(join(p, "action.route"), "unknown model %q", a.Route)
		}
		for j, name := range a.Providers {
			if c.Provider(name) == nil {
				ps.add(index(join(p, "action.providers"), j), "unknown provider %q", name)
			}
		}
		for j, region := range a.Regions {
			if !c.hasRegion(region) {
				ps.add(index(join(p, "action.regions"), j), "no provider has region %q", region)
			}
		}
		if a.Strategy != "" && !slices.Contains(Strategies, a.Strategy) {
			ps.add(join(p, "action.strategy"), "unknown strategy %q; want one of %v", a.Strategy, Strategies)
		}
		if a.MaxTokens < 0 {
			ps.add(join(p, "action.max_tokens"), "must not be negative")
		}
		if a.Deny != "" && (a.Route != "" || len(a.Providers) > 0 || len(a.Regions) > 0 || a.Strategy != "" || a.MaxTokens != 0) {
			ps.add(join(p, "action.deny"), "deny cannot be combined with other actions")
		}
	}
}

func (c *Config) hasRegion(region string) bool {
	for _, p := range c.Providers {
		if p.Region == region {
			return true
		}
	}
	return false
}

// validate checks gt < lt and, when hi >= lo, both within [lo, hi].
func (r Range) validate(p string, lo, hi float64, ps *problems) {
	for _, b := range []struct {
		name string
		v    *float64
	}{{"gt", r.GT}, {"lt", r.LT}} {
		if b.v != nil && (*b.v < lo || (hi >= lo && *b.v > hi)) {
			ps.add(join(p, b.name), "out of range")
		}
	}
	if r.GT != nil && r.LT != nil && *r.GT >= *r.LT {
		ps.add(p, "gt must be below lt")
	}
}
