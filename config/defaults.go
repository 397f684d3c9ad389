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

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.AdminListen == "" {
		c.AdminListen = DefaultAdminListen
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.DrainDelay == 0 {
		c.DrainDelay = DefaultDrainDelay
	}
	if c.State.Driver == "" {
		c.State.Driver = "embedded"
	}
	if c.State.Driver == "embedded" && c.State.Path == "" {
		c.State.Path = "./switchyard.db"
	}
	if c.State.KeyPrefix == "" {
		c.State.KeyPrefix = "switchyard:"
	}
	if c.State.Timeout == 0 {
		c.State.Timeout = 250 * time.Millisecond
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	r := &c.Resilience
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	r.Timeouts = r.Timeouts.Or(Timeouts{
		Connect:   DefaultConnectTimeout,
		FirstByte: DefaultFirstByteTimeout,
		Total:     DefaultTotalTimeout,
	})
	if r.MaxCooldown == 0 {
		r.MaxCooldown = DefaultMaxCooldown
	}
	if r.DefaultCooldown == 0 {
		r.DefaultCooldown = DefaultCooldown
	}
	if r.Retry.BaseDelay == 0 {
		r.Retry.BaseDelay = DefaultRetryBaseDelay
	}
	if r.Retry.MaxDelay == 0 {
		r.Retry.MaxDelay = DefaultRetryMaxDelay
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		switch p.Type {
		case "azure", "gemini":
			if p.Auth == "" {
				p.Auth = "api_key"
			}
		}
		switch {
		case p.Type == "openai" && p.BaseURL == "":
			p.BaseURL = "https://api.openai.com/v1"
		case p.Type == "anthropic" && p.BaseURL == "":
			p.BaseURL = "https://api.anthropic.com"
		case p.Type == "gemini" && p.BaseURL == "" && p.Auth == "api_key":
			p.BaseURL = "https://generativelanguage.googleapis.com"
		case p.Type == "gemini" && p.BaseURL == "" && p.Auth == "google":
			p.BaseURL = "https://" + p.Region + "-aiplatform.googleapis.com"
		}
		if p.Type == "anthropic" && p.AnthropicVersion == "" {
			p.AnthropicVersion = "2023-06-01"
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
