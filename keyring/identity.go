package keyring

import (
	"path"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/policy"
)

// Identity is an authenticated caller as the request path sees it: who, which
// aliases, which limits and budgets. Identities are built with the index and never
// change, so a request keeps the one it started with whatever changes meanwhile.
type Identity struct {
	Name   string
	Team   string
	Source string // SourceConfig or SourceRuntime; empty for the anonymous caller
	// Models is an allowlist of alias globs; empty allows every alias.
	Models []string
	Limits config.Limits
	// Budget and TeamBudget are the key's and its team's (nil when none).
	Budget     *config.Budget
	TeamBudget *config.Budget
	// RateScopes are the key's and its team's rate limits, as policy counts them.
	RateScopes []policy.RateScope
	// ExpiresAt is when a runtime key stops being accepted (zero: never).
	ExpiresAt time.Time
}

// Allows reports whether the caller may use alias.
func (id *Identity) Allows(alias string) bool {
	if len(id.Models) == 0 {
		return true
	}
	for _, pattern := range id.Models {
		if ok, _ := path.Match(pattern, alias); ok {
			return true
		}
	}
	return false
}

// CountsTokens reports whether a budget or a token limit reads the request's
// estimated tokens.
func (id *Identity) CountsTokens() bool {
	if id.Budget != nil || id.TeamBudget != nil {
		return true
	}
	for _, s := range id.RateScopes {
		if s.Limits.TPM > 0 {
			return true
		}
	}
	return false
}

// newIdentity builds a key's identity with its team's budget and limits.
func newIdentity(name, team, source string, models []string, limits config.Limits, budget *config.Budget,
	t teamPolicy) *Identity {
	id := &Identity{Name: name, Team: team, Source: source, Models: models, Limits: limits, Budget: budget,
		TeamBudget: t.budget}
	if limits != (config.Limits{}) {
		id.RateScopes = append(id.RateScopes, policy.RateScope{Kind: "key", Name: name, Limits: limits})
	}
	if team != "" && t.limits != (config.Limits{}) {
		id.RateScopes = append(id.RateScopes, policy.RateScope{Kind: "team", Name: team, Limits: t.limits})
	}
	return id
}

// teamPolicy is what a team imposes on its keys.
type teamPolicy struct {
	budget *config.Budget
	limits config.Limits
}
