package keyring

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/switchyard/switchyard/config"
)

// table is the state-store table of runtime keys and teams; rows are named
// "key/NAME" and "team/NAME". One table, so that one stamp tells a replica whether
// anything changed.
const table = "keyring"

const (
	keyRow  = "key/"
	teamRow = "team/"
)

// storedKey is a runtime key as the store keeps it: the secret only as a digest.
type storedKey struct {
	Name      string                     `json:"name"`
	Team      string                     `json:"team,omitempty"`
	Models    []string                   `json:"models,omitempty"`
	Limits    Limits                     `json:"limits"`
	Budget    *Budget                    `json:"budget,omitempty"`
	ExpiresAt *time.Time                 `json:"expires_at,omitempty"`
	Metadata  map[string]json.RawMessage `json:"metadata,omitempty"`
	Prefix    string                     `json:"prefix"`
	Digest    string                     `json:"digest"`
	Retired   []storedRetired            `json:"retired,omitempty"`
	CreatedAt time.Time                  `json:"created_at"`
	UpdatedAt time.Time                  `json:"updated_at"`
	// version is the row's (not stored: the table gives it).
	version int64
}

// storedRetired is a rotated secret accepted until Until.
type storedRetired struct {
	Prefix string    `json:"prefix"`
	Digest string    `json:"digest"`
	Until  time.Time `json:"until"`
}

// storedTeam is a runtime team.
type storedTeam struct {
	Name      string    `json:"name"`
	Limits    Limits    `json:"limits"`
	Budget    *Budget   `json:"budget,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	version   int64
}

// decodeRow reads a table row into the key or team it holds.
func decodeRow(name string, value []byte, version int64) (*storedKey, *storedTeam, error) {
	switch {
	case strings.HasPrefix(name, keyRow):
		k := &storedKey{}
		if err := json.Unmarshal(value, k); err != nil {
			return nil, nil, err
		}
		k.version = version
		return k, nil, nil
	case strings.HasPrefix(name, teamRow):
		t := &storedTeam{}
		if err := json.Unmarshal(value, t); err != nil {
			return nil, nil, err
		}
		t.version = version
		return nil, t, nil
	}
	return nil, nil, nil // a row of a later version of Switchyard: not ours to read
}

func (k *storedKey) clone() *storedKey {
	c := *k
	c.Models = append([]string(nil), k.Models...)
	c.Retired = append([]storedRetired(nil), k.Retired...)
	if k.Budget != nil {
		b := *k.Budget
		c.Budget = &b
	}
	return &c
}

func (t *storedTeam) clone() *storedTeam {
	c := *t
	if t.Budget != nil {
		b := *t.Budget
		c.Budget = &b
	}
	return &c
}

// view is the key as the admin API shows it.
func (k *storedKey) view(status string) Key {
	created, updated := k.CreatedAt, k.UpdatedAt
	out := Key{Name: k.Name, Source: SourceRuntime, Status: status, Prefix: k.Prefix + "…", Team: k.Team,
		Models: k.Models, Budget: k.Budget, ExpiresAt: k.ExpiresAt, Metadata: k.Metadata, Version: k.version,
		CreatedAt: &created, UpdatedAt: &updated}
	if k.Limits != (Limits{}) {
		l := k.Limits
		out.Limits = &l
	}
	for _, r := range k.Retired {
		out.Retired = append(out.Retired, Retired{Prefix: r.Prefix + "…", ValidUntil: r.Until})
	}
	return out
}

func (t *storedTeam) view(status string) Team {
	created, updated := t.CreatedAt, t.UpdatedAt
	out := Team{Name: t.Name, Source: SourceRuntime, Status: status, Budget: t.Budget, Version: t.version,
		CreatedAt: &created, UpdatedAt: &updated}
	if t.Limits != (Limits{}) {
		l := t.Limits
		out.Limits = &l
	}
	return out
}

func fileKeyView(k *config.Key) Key {
	out := Key{Name: k.Name, Source: SourceConfig, Status: StatusActive, Team: k.Team, Models: k.Models,
		Budget: budgetView(k.Budget)}
	if l := limitsView(k.Limits); l != (Limits{}) {
		out.Limits = &l
	}
	return out
}

func fileTeamView(t *config.Team) Team {
	out := Team{Name: t.Name, Source: SourceConfig, Status: StatusActive, Budget: budgetView(t.Budget)}
	if l := limitsView(t.Limits); l != (Limits{}) {
		out.Limits = &l
	}
	return out
}

func budgetView(b *config.Budget) *Budget {
	if b == nil {
		return nil
	}
	return &Budget{USD: b.USD, Period: b.Period, Soft: b.Soft}
}

func limitsView(l config.Limits) Limits { return Limits{RPM: l.RPM, TPM: l.TPM} }

// Config is the budget as the configuration (and policy) spells it.
func (b *Budget) Config() *config.Budget {
	if b == nil {
		return nil
	}
	return &config.Budget{USD: b.USD, Period: b.Period, Soft: b.Soft}
}

// Config is the limits as the configuration (and policy) spells them.
func (l Limits) Config() config.Limits { return config.Limits{RPM: l.RPM, TPM: l.TPM} }
