package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

// Bounds of what a request may set: generous for real use, small enough that a
// record stays a small row that every replica holds in memory.
const (
	maxName          = 64
	maxModels        = 256
	maxPattern       = 256
	maxMetadata      = 64
	maxMetadataKey   = 128
	maxMetadataBytes = 8 << 10
	// MaxGrace bounds a rotation's grace period: a rotated secret that stays valid
	// for longer than a month is not rotated.
	MaxGrace = 30 * 24 * time.Hour
	// maxUSD is the largest budget the store counts exactly (state.MaxAmount
	// nano-dollars).
	maxUSD = float64(state.MaxAmount) / 1e9
)

// member is one field of a JSON object, undecoded.
type member struct {
	name string
	raw  json.RawMessage
}

// members decodes a JSON object into its fields, in order. Anything but one object
// is refused, and so is a field given twice: two values for one field would mean
// whichever a reader happens to keep.
func members(data []byte, at string) ([]member, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	what := at
	if what == "" {
		what = "the body"
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, invalid(at, "must be a JSON object")
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid(at, "%s is not valid JSON", what)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid(join(at, name), "not valid JSON")
		}
		if seen[name] {
			return nil, invalid(join(at, name), "given twice")
		}
		seen[name] = true
		out = append(out, member{name, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalid(at, "%s is not valid JSON", what)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid(at, "%s must be one JSON object, with nothing after it", what)
	}
	return out, nil
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func decodeString(raw json.RawMessage, at string) (string, *Error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid(at, "must be a string")
	}
	return s, nil
}

func decodeCount(raw json.RawMessage, at string) (int64, *Error) {
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > state.MaxAmount {
		return 0, invalid(at, "must be an integer from 0 to %d", state.MaxAmount)
	}
	return n, nil
}

// validName is a name that fits a URL path segment, a store key and a metric label.
func validName(name, at string) *Error {
	if name == "" || len(name) > maxName {
		return invalid(at, "must be 1 to %d characters", maxName)
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return invalid(at, "%q: use letters, digits, '-', '_' and '.', starting with a letter or digit", name)
		}
	}
	return nil
}

// opt is a field of a create or update: absent, null (cleared) or set.
type opt[T any] struct {
	set bool
	v   T
}

// common are the fields keys and teams share.
type common struct {
	name    opt[string]
	limits  opt[Limits]
	budget  opt[*Budget]
	version opt[int64]
}

// decodeFields reads a create (create set) or update body: the common fields, and
// the others through more, which reports whether it knew the field.
func decodeFields(data []byte, create bool, c *common, more func(member) (bool, *Error)) *Error {
	ms, err := members(data, "")
	if err != nil {
		return err
	}
	for _, m := range ms {
		var e *Error
		switch m.name {
		case "name":
			if !create {
				return invalid("name", "cannot be changed: create one with the new name instead")
			}
			c.name.set = true
			if c.name.v, e = decodeString(m.raw, "name"); e == nil {
				e = validName(c.name.v, "name")
			}
		case "limits":
			c.limits.set = true
			if !isNull(m.raw) {
				c.limits.v, e = decodeLimits(m.raw, "limits")
			}
		case "budget":
			c.budget.set = true
			if !isNull(m.raw) {
				c.budget.v, e = decodeBudget(m.raw, "budget")
			}
		case "version":
			if create {
				return unknownField("version")
			}
			c.version.set = true
			c.version.v, e = decodeVersion(m.raw)
		default:
			known := false
			if more != nil {
				known, e = more(m)
			}
			if !known {
				return unknownField(m.name)
			}
		}
		if e != nil {
			return e
		}
	}
	if create && !c.name.set {
		return invalid("name", "required")
	}
	return nil
}

// keyFields are the fields of a key's create or update body.
type keyFields struct {
	common
	team      opt[string]
	models    opt[[]string]
	expiresAt opt[*time.Time]
	metadata  opt[map[string]json.RawMessage]
}

// decodeKeyFields reads a key's create (create set) or update body.
func decodeKeyFields(data []byte, create bool) (*keyFields, *Error) {
	f := &keyFields{}
	err := decodeFields(data, create, &f.common, func(m member) (bool, *Error) {
		var e *Error
		switch m.name {
		case "team":
			f.team.set = true
			if !isNull(m.raw) {
				if f.team.v, e = decodeString(m.raw, "team"); e == nil && f.team.v != "" {
					e = validName(f.team.v, "team")
				}
			}
		case "models":
			f.models.set = true
			if !isNull(m.raw) {
				f.models.v, e = decodeModels(m.raw)
			}
		case "expires_at":
			f.expiresAt.set = true
			if !isNull(m.raw) {
				f.expiresAt.v, e = decodeTime(m.raw, "expires_at")
			}
		case "metadata":
			f.metadata.set = true
			if !isNull(m.raw) {
				f.metadata.v, e = decodeMetadata(m.raw)
			}
		default:
			return false, nil
		}
		return true, e
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func decodeModels(raw json.RawMessage) ([]string, *Error) {
	var models []string
	if err := json.Unmarshal(raw, &models); err != nil {
		return nil, invalid("models", "must be an array of model names or globs")
	}
	if len(models) > maxModels {
		return nil, invalid("models", "at most %d entries", maxModels)
	}
	for i, p := range models {
		at := "models[" + strconv.Itoa(i) + "]"
		if p == "" || len(p) > maxPattern {
			return nil, invalid(at, "must be 1 to %d characters", maxPattern)
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, invalid(at, "invalid glob %q", p)
		}
	}
	return models, nil
}

func decodeLimits(raw json.RawMessage, at string) (Limits, *Error) {
	ms, err := members(raw, at)
	if err != nil {
		return Limits{}, err
	}
	var l Limits
	for _, m := range ms {
		switch m.name {
		case "rpm":
			l.RPM, err = decodeCount(m.raw, join(at, "rpm"))
		case "tpm":
			l.TPM, err = decodeCount(m.raw, join(at, "tpm"))
		default:
			return Limits{}, unknownField(join(at, m.name))
		}
		if err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

// decodeBudget reads a budget and fills its defaults (monthly, soft 0.8), as the
// configuration file does.
func decodeBudget(raw json.RawMessage, at string) (*Budget, *Error) {
	ms, err := members(raw, at)
	if err != nil {
		return nil, err
	}
	b := &Budget{Period: "monthly", Soft: 0.8}
	usd := false
	for _, m := range ms {
		switch m.name {
		case "usd":
			if json.Unmarshal(m.raw, &b.USD) != nil || !(b.USD > 0) || b.USD > maxUSD || math.IsInf(b.USD, 0) {
				return nil, invalid(join(at, "usd"), "must be a number of USD above 0 and at most %.0f", maxUSD)
			}
			usd = true
		case "period":
			if json.Unmarshal(m.raw, &b.Period) != nil || !slices.Contains(config.Periods, b.Period) {
				return nil, invalid(join(at, "period"), "must be one of %s", strings.Join(config.Periods, ", "))
			}
		case "soft":
			if json.Unmarshal(m.raw, &b.Soft) != nil || !(b.Soft > 0 && b.Soft <= 1) {
				return nil, invalid(join(at, "soft"), "must be a share in (0, 1]")
			}
		default:
			return nil, unknownField(join(at, m.name))
		}
	}
	if !usd {
		return nil, invalid(join(at, "usd"), "required")
	}
	return b, nil
}

func decodeTime(raw json.RawMessage, at string) (*time.Time, *Error) {
	s, err := decodeString(raw, at)
	if err != nil {
		return nil, invalid(at, "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z")
	}
	t, perr := time.Parse(time.RFC3339Nano, s)
	if perr != nil {
		return nil, invalid(at, "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z")
	}
	t = t.UTC()
	return &t, nil
}

func decodeMetadata(raw json.RawMessage) (map[string]json.RawMessage, *Error) {
	if len(raw) > maxMetadataBytes {
		return nil, invalid("metadata", "at most %d bytes", maxMetadataBytes)
	}
	ms, err := members(raw, "metadata")
	if err != nil {
		return nil, err
	}
	if len(ms) > maxMetadata {
		return nil, invalid("metadata", "at most %d fields", maxMetadata)
	}
	out := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		if m.name == "" || len(m.name) > maxMetadataKey {
			return nil, invalid("metadata", "field names must be 1 to %d characters", maxMetadataKey)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, m.raw); err != nil {
			return nil, invalid(join("metadata", m.name), "not valid JSON")
		}
		out[m.name] = compact.Bytes()
	}
	return out, nil
}

func decodeVersion(raw json.RawMessage) (int64, *Error) {
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil || v < 1 {
		return 0, invalid("version", "must be a positive integer (the version the object was read at)")
	}
	return v, nil
}

// expectedVersion combines a body's "version" and an If-Match header into the
// version a write requires; state.AnyVersion when neither is given (last writer
// wins).
func expectedVersion(body opt[int64], ifMatch string) (int64, *Error) {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" {
		if body.set {
			return body.v, nil
		}
		return state.AnyVersion, nil
	}
	h, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(ifMatch, "W/"), `"`), 10, 64)
	if err != nil || h < 1 {
		return 0, invalid("If-Match", "must be a version as ETag gives it, e.g. \"3\"")
	}
	if body.set && body.v != h {
		return 0, invalid("version", "%d disagrees with If-Match %d", body.v, h)
	}
	return h, nil
}

// teamFields are the fields of a team's create or update body.
type teamFields struct{ common }

func decodeTeamFields(data []byte, create bool) (*teamFields, *Error) {
	f := &teamFields{}
	if err := decodeFields(data, create, &f.common, nil); err != nil {
		return nil, err
	}
	return f, nil
}

// rotation is a rotate body: how long the old secret stays valid.
type rotation struct {
	grace   time.Duration
	version opt[int64]
}

func decodeRotation(data []byte) (*rotation, *Error) {
	rot := &rotation{}
	if len(bytes.TrimSpace(data)) == 0 {
		return rot, nil // no body: the old secret stops at once
	}
	ms, err := members(data, "")
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		switch m.name {
		case "grace":
			s, e := decodeString(m.raw, "grace")
			if e != nil {
				return nil, invalid("grace", "must be a duration such as \"1h\" or \"30m\"")
			}
			d, perr := time.ParseDuration(s)
			if perr != nil || d < 0 || d > MaxGrace {
				return nil, invalid("grace", "must be a duration such as \"1h\" or \"30m\", from 0s to %s", MaxGrace)
			}
			rot.grace = d
		case "version":
			rot.version.set = true
			if rot.version.v, err = decodeVersion(m.raw); err != nil {
				return nil, err
			}
		default:
			return nil, unknownField(m.name)
		}
	}
	return rot, nil
}
