package config

import (
	"strings"
	"testing"
)

const vertexClaude = `
providers:
  - {name: claude-vertex, type: anthropic, auth: google, project: acme, region: us-east5, anthropic_beta: [context-1m-2025-08-07]}
models:
  - name: claude
    targets:
      - {provider: claude-vertex, model: "claude-sonnet-4-5@20250929"}
`

// Claude on Vertex AI is an anthropic provider with auth: google, project and
// region; it takes no API key and no anthropic_version.
func TestClaudeOnVertexConfig(t *testing.T) {
	cfg, err := Parse([]byte(vertexClaude), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers[0]
	if p.Auth != "google" || p.BaseURL != "" || p.AnthropicVersion != "" {
		t.Fatalf("defaults %+v", p)
	}
	anthropicAPI, err := Parse([]byte(strings.Replace(vertexClaude,
		"auth: google, project: acme, region: us-east5,", "api_key: sk-ant,", 1)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if p := anthropicAPI.Providers[0]; p.Auth != "api_key" || p.BaseURL != "https://api.anthropic.com" || p.AnthropicVersion != "2023-06-01" {
		t.Fatalf("api key defaults %+v", p)
	}
	for _, c := range []struct{ from, to, want string }{
		{"project: acme, ", "", "providers[0].project: required with auth: google"},
		{"region: us-east5, ", "", "providers[0].region: required with auth: google"},
		{"auth: google,", "auth: google, api_key: k,", "providers[0].api_key: must be empty with auth: google"},
		{"auth: google,", "auth: google, anthropic_version: \"2023-06-01\",", "providers[0].anthropic_version: does not apply with auth: google"},
		{"auth: google,", "auth: entra,", `providers[0].auth: must be api_key or google; got "entra"`},
		{"auth: google, project: acme, region: us-east5,", "", "providers[0].api_key: required for anthropic"},
	} {
		_, err := Parse([]byte(strings.Replace(vertexClaude, c.from, c.to, 1)), noEnv)
		if err == nil {
			t.Errorf("%q accepted", c.want)
			continue
		}
		if ps := problemsOf(t, err); !strings.Contains(strings.Join(ps, "\n"), c.want) {
			t.Errorf("want %q, got %q", c.want, ps)
		}
	}
}
