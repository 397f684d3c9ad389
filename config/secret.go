package config

// Secret is a credential from the configuration. Its String and MarshalText forms are
// redacted so that a logged or dumped config never leaks it; Reveal is the one way in.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String redacts a non-empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// MarshalText redacts the secret in JSON, YAML and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
