package keyring

import (
	"encoding/json"
	"time"
)

// The admin API's objects, as JSON. A key object never carries a secret's digest;
// it carries the secret itself ("key") only in the answer to a create or a rotate.

// Limits are requests and tokens per minute; 0 or absent is unlimited.
type Limits struct {
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
}

// Budget is a spending limit in USD per period (daily, weekly, monthly: UTC
// calendar periods; or total). Soft is the share at which a warning is logged.
type Budget struct {
	USD    float64 `json:"usd"`
	Period string  `json:"period"`
	Soft   float64 `json:"soft,omitempty"`
}

// Sources of keys and teams.
const (
	SourceRuntime = "runtime"
	SourceConfig  = "config"
)

// Statuses of keys and teams.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	// StatusShadowed is a runtime key or team whose name the configuration file took
	// after it was created: it is not served until one of the two is renamed.
	StatusShadowed = "shadowed"
)

// Key is a key as the admin API shows it.
type Key struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Status string `json:"status"`
	// Prefix is the start of the secret (runtime keys only).
	Prefix    string                     `json:"prefix,omitempty"`
	Team      string                     `json:"team,omitempty"`
	Models    []string                   `json:"models,omitempty"`
	Limits    *Limits                    `json:"limits,omitempty"`
	Budget    *Budget                    `json:"budget,omitempty"`
	ExpiresAt *time.Time                 `json:"expires_at,omitempty"`
	Metadata  map[string]json.RawMessage `json:"metadata,omitempty"`
	// Retired are rotated secrets still accepted until their grace period ends.
	Retired   []Retired  `json:"retired,omitempty"`
	Version   int64      `json:"version,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	// Spend and RateLimits are filled by the admin API on reads.
	Spend      *Spend      `json:"spend,omitempty"`
	RateLimits *RateLimits `json:"rate_limits,omitempty"`
	// Secret is the key itself: only in the answer to a create or a rotate.
	Secret string `json:"key,omitempty"`
}

// Retired is a rotated secret in its grace period.
type Retired struct {
	Prefix     string    `json:"prefix"`
	ValidUntil time.Time `json:"valid_until"`
}

// Team is a team as the admin API shows it.
type Team struct {
	Name       string      `json:"name"`
	Source     string      `json:"source"`
	Status     string      `json:"status"`
	Limits     *Limits     `json:"limits,omitempty"`
	Budget     *Budget     `json:"budget,omitempty"`
	Version    int64       `json:"version,omitempty"`
	CreatedAt  *time.Time  `json:"created_at,omitempty"`
	UpdatedAt  *time.Time  `json:"updated_at,omitempty"`
	Spend      *Spend      `json:"spend,omitempty"`
	RateLimits *RateLimits `json:"rate_limits,omitempty"`
}

// Spend is a budget's current period: what was spent, what requests in flight
// hold, and what is left.
type Spend struct {
	USD          float64    `json:"usd"`
	ReservedUSD  float64    `json:"reserved_usd"`
	LimitUSD     float64    `json:"limit_usd"`
	RemainingUSD float64    `json:"remaining_usd"`
	Period       string     `json:"period"`
	PeriodID     string     `json:"period_id"`
	ResetsAt     *time.Time `json:"resets_at"` // null for a total budget
}

// RateLimits is the current minute of each limit.
type RateLimits struct {
	RPM *Window `json:"rpm,omitempty"`
	TPM *Window `json:"tpm,omitempty"`
}

// Window is one limit's current minute.
type Window struct {
	Limit     int64     `json:"limit"`
	Used      int64     `json:"used"`
	Remaining int64     `json:"remaining"`
	ResetsAt  time.Time `json:"resets_at"`
}

// List is the answer of the list calls.
type List[T any] struct {
	Data []T `json:"data"`
}
