package registry

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// An anthropic entry of the configuration becomes a provider that sends its key,
// version, beta flags and headers to its base_url.
func TestAnthropicFromConfig(t *testing.T) {
	fake := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "claude", APIKey: "sk-ant-config"})
	defer fake.Close()
	p, err := New(config.Provider{Name: "anthropic-main", Type: "anthropic", BaseURL: fake.BaseURL(),
		APIKey: config.Secret("sk-ant-config"), AnthropicVersion: "2023-06-01",
		AnthropicBeta: []string{"context-1m-2025-08-07"}, Headers: map[string]string{"X-Env": "test"}},
		config.Timeouts{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := providers.ParseChat([]byte(`{"model":"claude","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), &providers.Call{Request: r, Model: "claude-sonnet-4-5"}); err != nil {
		t.Fatal(err)
	}
	h := fake.Requests()[0].Header
	if h.Get("X-Api-Key") != "sk-ant-config" || h.Get("Anthropic-Version") != "2023-06-01" ||
		h.Get("Anthropic-Beta") != "context-1m-2025-08-07" || h.Get("X-Env") != "test" {
		t.Fatalf("headers %v", h)
	}
}
