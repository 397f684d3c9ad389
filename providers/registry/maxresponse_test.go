package registry

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// TestMaxResponseBytesReachesEveryProvider: a provider entry's max_response_bytes
// caps the answers of every wire format; an answer over it is a local failure,
// which does not count against the target.
func TestMaxResponseBytesReachesEveryProvider(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	oa := fakes.NewOpenAI(fakes.OpenAIOptions{})
	az := fakes.NewAzure(fakes.AzureOptions{APIKey: "az"})
	an := fakes.NewAnthropic(fakes.AnthropicOptions{APIKey: "an"})
	ge := fakes.NewGemini(fakes.GeminiOptions{APIKey: "AIza-x"})
	br := fakes.NewBedrock(fakes.BedrockOptions{Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret"})
	for _, f := range []interface{ Close() }{oa, az, an, ge, br} {
		defer f.Close()
	}
	entries := []config.Provider{
		{Name: "openai", Type: "openai", BaseURL: oa.BaseURL()},
		{Name: "azure", Type: "azure", BaseURL: az.Endpoint(), APIKey: "az", APIVersion: "2024-10-21"},
		{Name: "anthropic", Type: "anthropic", BaseURL: an.BaseURL(), APIKey: "an", AnthropicVersion: "2023-06-01"},
		{Name: "gemini", Type: "gemini", Auth: "api_key", BaseURL: ge.BaseURL(), APIKey: "AIza-x"},
		{Name: "bedrock", Type: "bedrock", Region: "us-east-1", BaseURL: br.Endpoint(), AWSAccessKeyID: "AKID", AWSSecretAccessKey: "secret"},
	}
	r, err := providers.ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range entries {
		t.Run(pc.Name, func(t *testing.T) {
			for _, limit := range []int64{1 << 20, 64} {
				pc.MaxResponseBytes = limit
				p, err := New(pc, config.Timeouts{Connect: time.Second}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				model := "anthropic.claude-3-haiku-20240307-v1:0" // a Bedrock model id; the other fakes take any name
				if pc.Type == "gemini" {
					model = "gemini-2.5-flash"
				}
				_, err = p.Chat(context.Background(), &providers.Call{Request: r, Model: model})
				e := providers.AsError(err)
				switch {
				case limit > 64 && err != nil:
					t.Errorf("under a cap of %d: %v", limit, err)
				case limit == 64 && (e == nil || e.Class != providers.ClassLocal || e.Class.HealthFailure()):
					t.Errorf("over a cap of 64 bytes: %v", err)
				}
			}
		})
	}
}

func TestDefaultMaxResponseBytesAgree(t *testing.T) {
	if config.DefaultMaxResponseBytes != providers.DefaultMaxResponseBytes {
		t.Errorf("config's default %d, providers' %d", config.DefaultMaxResponseBytes, providers.DefaultMaxResponseBytes)
	}
}
