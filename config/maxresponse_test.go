package config

import (
	"strings"
	"testing"
)

// TestMaxResponseBytes: the top-level cap is every provider's unless a provider
// sets its own; zero or negative caps do not validate.
func TestMaxResponseBytes(t *testing.T) {
	const yaml = `
max_response_bytes: 1000
providers:
  - {name: a, type: openai}
  - {name: b, type: openai, max_response_bytes: 5000}
models: [{name: m, targets: [{provider: a, model: m}]}]
`
	cfg, err := Parse([]byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxResponseBytes != 1000 || cfg.Provider("a").MaxResponseBytes != 1000 || cfg.Provider("b").MaxResponseBytes != 5000 {
		t.Errorf("caps: top %d, a %d, b %d", cfg.MaxResponseBytes, cfg.Provider("a").MaxResponseBytes, cfg.Provider("b").MaxResponseBytes)
	}
	bare, err := Parse([]byte("providers: [{name: a, type: openai}]\nmodels: [{name: m, targets: [{provider: a, model: m}]}]\n"), noEnv)
	if err != nil || bare.MaxResponseBytes != 32<<20 || bare.Provider("a").MaxResponseBytes != 32<<20 {
		t.Errorf("default cap: %+v, %v", bare, err)
	}
	for _, bad := range []string{"max_response_bytes: 0\n", "max_response_bytes: -1\n",
		"providers: [{name: a, type: openai, max_response_bytes: -5}]\n"} {
		_, err := Parse([]byte(bad+"models: []\n"), noEnv)
		if err == nil || !strings.Contains(err.Error(), "max_response_bytes: must be positive") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
