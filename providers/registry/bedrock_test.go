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

func TestBedrockProviderFromConfig(t *testing.T) {
	// Keep the machine's AWS setup out of the way.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	t.Setenv("AWS_PROFILE", "")
	f := fakes.NewBedrock(fakes.BedrockOptions{Name: "br", Region: "eu-central-1", AccessKeyID: "AKIDCONFIG", SecretAccessKey: "config-secret"})
	defer f.Close()
	p, err := New(config.Provider{Name: "bedrock-euc1", Type: "bedrock", Region: "eu-central-1", BaseURL: f.Endpoint(),
		AWSAccessKeyID: "AKIDCONFIG", AWSSecretAccessKey: "config-secret"}, config.Timeouts{Connect: time.Second}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := providers.ParseChat([]byte(`{"model":"claude","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Chat(context.Background(), &providers.Call{Request: r, Model: "anthropic.claude-3-haiku-20240307-v1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "anthropic.claude-3-haiku-20240307-v1:0" || resp.Usage.TotalTokens == 0 {
		t.Errorf("response %+v", resp)
	}
	if _, ok := p.(providers.Embedder); !ok {
		t.Error("the bedrock provider serves embeddings")
	}
}
