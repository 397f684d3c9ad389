package registry

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"cloud.google.com/go/auth"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

type fixedToken string

func (f fixedToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: string(f), Type: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

// TestGeminiFromConfig: both auth modes of a gemini provider entry reach the
// emulated endpoint with the right path and credentials.
func TestGeminiFromConfig(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Name: "g", APIKey: "AIza-test", Token: "ya29.registry"})
	defer f.Close()
	timeouts := config.Timeouts{Connect: time.Second}
	entries := []struct {
		pc   config.Provider
		path string
	}{
		{config.Provider{Name: "gemini-key", Type: "gemini", Auth: "api_key", BaseURL: f.BaseURL(), APIKey: "AIza-test"},
			"/v1beta/models/gemini-2.5-flash:generateContent"},
		{config.Provider{Name: "vertex", Type: "gemini", Auth: "google", BaseURL: f.BaseURL(), Project: "acme", Region: "us-east5"},
			"/v1/projects/acme/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"},
	}
	for _, e := range entries {
		t.Run(e.pc.Name, func(t *testing.T) {
			p, err := New(e.pc, timeouts, Options{GoogleTokens: fixedToken("ya29.registry")})
			if err != nil {
				t.Fatal(err)
			}
			r, err := providers.ParseChat([]byte(`{"model":"x","messages":[{"role":"user","content":"ping"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Chat(context.Background(), &providers.Call{Request: r, Model: "gemini-2.5-flash"})
			if err != nil {
				t.Fatal(err)
			}
			var c providers.ChatResponse
			if err := json.Unmarshal(resp.Body, &c); err != nil || c.Choices[0].Message.Content.AllText() != "g heard: ping" {
				t.Errorf("answer %s (%v)", resp.Body, err)
			}
			reqs := f.Requests()
			if got := reqs[len(reqs)-1].Path; got != e.path {
				t.Errorf("path %s, want %s", got, e.path)
			}
			if _, ok := p.(providers.Embedder); !ok {
				t.Error("gemini provider does not serve embeddings")
			}
		})
	}

	t.Run("an api_key entry without a key is refused", func(t *testing.T) {
		if _, err := New(config.Provider{Name: "nokey", Type: "gemini", Auth: "api_key"}, timeouts, Options{}); err == nil {
			t.Error("accepted")
		}
	})
}
