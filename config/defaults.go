package config

import "time"

// Defaults of the resilience settings.
const (
	DefaultMaxAttempts      = 3
	DefaultConnectTimeout   = 10 * time.Second
	DefaultFirstByteTimeout = 30 * time.Second
	DefaultTotalTimeout     = 300 * time.Second
	DefaultWeight           = 1
	DefaultMaxCooldown      = 60 * time.Second
	DefaultCooldown         = time.Second
	DefaultRetryBaseDelay   = 100 * time.Millisecond
	DefaultRetryMaxDelay    = 2 * time.Second
)

// defaults is the configuration before the file is decoded onto it: keys the file
// leaves out keep these values, and a key set to zero (drain_delay: 0s) stays zero.
func defaults() Config {
	return Config{
		Listen:        DefaultListen,
		AdminListen:   DefaultAdminListen,
		MaxBodyBytes:  DefaultMaxBodyBytes,
		ShutdownGrace: DefaultShutdownGrace,
		DrainDelay:    DefaultDrainDelay,
		ClientTimeouts: ClientTimeouts{ReadHeader: 10 * time.Second, ReadBody: 30 * time.Second,
			Write: 60 * time.Second, Idle: 120 * time.Second},
		Resilience: Resilience{
			MaxAttempts: DefaultMaxAttempts,
			Timeouts: Timeouts{
				Connect:   DefaultConnectTimeout,
				FirstByte: DefaultFirstByteTimeout,
				Total:     DefaultTotalTimeout,
			},
			MaxCooldown:     DefaultMaxCooldown,
			DefaultCooldown: DefaultCooldown,
			Retry:           Retry{BaseDelay: DefaultRetryBaseDelay, MaxDelay: DefaultRetryMaxDelay},
		},
		State: State{Driver: "embedded", KeyPrefix: "switchyard:", Timeout: 250 * time.Millisecond},
		Cache: Cache{MaxEntries: 10000, TTL: time.Hour, MaxBytes: 64 << 20},
		Responses: Responses{Retention: 720 * time.Hour, MaxChainItems: 4096, MaxChainBytes: 8 << 20,
			CacheSize: 1024},
		Log:     Log{Level: "info", Format: "json", AccessSampling: 1, FlushInterval: time.Second},
		Tracing: Tracing{Endpoint: "http://localhost:4318/v1/traces", ServiceName: "switchyard", SampleRatio: 1},

		MaxResponseBytes: DefaultMaxResponseBytes,
	}
}

// applyDefaults fills what depends on other settings or lives in list entries.
func (c *Config) applyDefaults() {
	if c.State.Driver == "embedded" && c.State.Path == "" {
		c.State.Path = "./switchyard.db"
	}
	for _, b := range c.budgets() {
		if b.Period == "" {
			b.Period = "monthly"
		}
		if b.Soft == 0 {
			b.Soft = 0.8
		}
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		switch p.Type {
		case "azure", "gemini", "anthropic":
			if p.Auth == "" {
				p.Auth = "api_key"
			}
		}
		switch {
		case p.Type == "openai" && p.BaseURL == "":
			p.BaseURL = "https://api.openai.com/v1"
		case p.Type == "anthropic" && p.BaseURL == "" && p.Auth == "api_key":
			p.BaseURL = "https://api.anthropic.com"
		case p.Type == "gemini" && p.BaseURL == "" && p.Auth == "api_key":
			p.BaseURL = "https://generativelanguage.googleapis.com"
		case p.Type == "gemini" && p.BaseURL == "" && p.Auth == "google" && p.Region == "global":
			p.BaseURL = "https://aiplatform.googleapis.com" // the global location has no regional host
		case p.Type == "gemini" && p.BaseURL == "" && p.Auth == "google":
			p.BaseURL = "https://" + p.Region + "-aiplatform.googleapis.com"
		}
		if p.Type == "anthropic" && p.Auth == "api_key" && p.AnthropicVersion == "" {
			p.AnthropicVersion = "2023-06-01"
		}
		if p.MaxResponseBytes == 0 {
			p.MaxResponseBytes = c.MaxResponseBytes
		}
	}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Strategy == "" {
			m.Strategy = "weighted"
		}
		if m.OnContentFilter == "" {
			m.OnContentFilter = "return"
		}
		for j := range m.Targets {
			if m.Targets[j].Weight == nil {
				w := DefaultWeight
				m.Targets[j].Weight = &w
			}
		}
	}
}

// Or fills the zero fields of t from fallback: per-target settings inherit the
// provider's, which inherit resilience.timeouts.
func (t Timeouts) Or(fallback Timeouts) Timeouts {
	if t.Connect == 0 {
		t.Connect = fallback.Connect
	}
	if t.FirstByte == 0 {
		t.FirstByte = fallback.FirstByte
	}
	if t.Total == 0 {
		t.Total = fallback.Total
	}
	return t
}

// Provider returns the provider named name, or nil.
func (c *Config) Provider(name string) *Provider {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i]
		}
	}
	return nil
}

// Model returns the alias named name, or nil.
func (c *Config) Model(name string) *Model {
	for i := range c.Models {
		if c.Models[i].Name == name {
			return &c.Models[i]
		}
	}
	return nil
}

// Or fills the zero fields of b from fallback.
func (b Breaker) Or(fallback Breaker) Breaker {
	if b.ConsecutiveFailures == 0 {
		b.ConsecutiveFailures = fallback.ConsecutiveFailures
	}
	if b.FailureRatio == 0 {
		b.FailureRatio = fallback.FailureRatio
	}
	if b.MinRequests == 0 {
		b.MinRequests = fallback.MinRequests
	}
	if b.Interval == 0 {
		b.Interval = fallback.Interval
	}
	if b.OpenTimeout == 0 {
		b.OpenTimeout = fallback.OpenTimeout
	}
	if b.HalfOpenProbes == 0 {
		b.HalfOpenProbes = fallback.HalfOpenProbes
	}
	return b
}

// budgets lists every configured budget, for defaults and validation.
func (c *Config) budgets() []*Budget {
	var out []*Budget
	if c.Budget != nil {
		out = append(out, c.Budget)
	}
	for i := range c.Keys {
		if c.Keys[i].Budget != nil {
			out = append(out, c.Keys[i].Budget)
		}
	}
	for i := range c.Teams {
		if c.Teams[i].Budget != nil {
			out = append(out, c.Teams[i].Budget)
		}
	}
	return out
}
