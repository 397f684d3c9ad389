package registry

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// An anthropic entry with auth: google is Claude on Vertex AI: it serves OpenAI
// clients by translation and Messages clients natively, with exact counts.
func TestClaudeOnVertexFromConfig(t *testing.T) {
	f := fakes.NewVertex(fakes.VertexOptions{Name: "vx", Token: "ya29.registry", Project: "acme", Region: "us-east5"})
	defer f.Close()
	pc := config.Provider{Name: "claude-vertex", Type: "anthropic", Auth: "google", BaseURL: f.BaseURL(),
		Project: "acme", Region: "us-east5"}
	p, err := New(pc, config.Timeouts{Connect: time.Second}, Options{GoogleTokens: fixedToken("ya29.registry")})
	if err != nil {
		t.Fatal(err)
	}
	r, err := providers.ParseChat([]byte(`{"model":"x","messages":[{"role":"user","content":"ping"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), &providers.Call{Request: r, Model: "claude-sonnet-4-5"}); err != nil {
		t.Fatal(err)
	}
	m, ok := p.(providers.Messenger)
	if !ok || !m.SpeaksMessages("claude-sonnet-4-5") {
		t.Fatal("Claude on Vertex does not speak Messages")
	}
	if _, ok := p.(providers.TokenCounter); !ok {
		t.Fatal("Claude on Vertex does not count tokens")
	}
	resp, err := m.Messages(context.Background(), &providers.MessagesCall{Model: "claude-sonnet-4-5",
		Body: []byte(`{"model":"alias","max_tokens":8,"messages":[{"role":"user","content":"ping"}]}`)})
	if err != nil || resp.Usage.PromptTokens == 0 {
		t.Fatalf("messages %+v, %v", resp, err)
	}
	if got := f.Requests()[1].Path; got != "/v1/projects/acme/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:rawPredict" {
		t.Fatalf("path %s", got)
	}
}
