// Package registry builds providers from configuration: it is the one place that
// knows every wire format, so that neither the proxy nor policy has to.
package registry

import (
	"context"
	"fmt"
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/anthropic"
	"github.com/switchyard/switchyard/providers/azure"
	"github.com/switchyard/switchyard/providers/bedrock"
	"github.com/switchyard/switchyard/providers/gemini"
	"github.com/switchyard/switchyard/providers/openai"
)

// Options inject what tests replace.
type Options struct {
	// AzureCredential issues Entra ID tokens for azure providers with auth: entra;
	// nil uses azidentity's default credential chain.
	AzureCredential azcore.TokenCredential
	// GoogleTokens issues OAuth2 tokens for gemini providers with auth: google
	// (Vertex AI); nil uses Google application default credentials.
	GoogleTokens auth.TokenProvider
}

// New builds the provider of one configuration entry.
func New(pc config.Provider, timeouts config.Timeouts, opts Options) (providers.Provider, error) {
	client := providers.NewHTTPClient(pc.Timeouts.Or(timeouts).Connect)
	switch pc.Type {
	case "openai":
		return openai.New(openai.Config{BaseURL: pc.BaseURL, APIKey: pc.APIKey.Reveal(), Headers: pc.Headers, Client: client}), nil
	case "azure":
		cfg := azure.Config{BaseURL: pc.BaseURL, APIVersion: pc.APIVersion, Headers: pc.Headers, Client: client}
		if pc.Auth == "entra" {
			cred := opts.AzureCredential
			if cred == nil {
				c, err := azidentity.NewDefaultAzureCredential(nil)
				if err != nil {
					return nil, fmt.Errorf("provider %q: Entra ID credential: %w", pc.Name, err)
				}
				cred = c
			}
			cfg.Credential = cred
		} else {
			cfg.APIKey = pc.APIKey.Reveal()
		}
		return azure.New(cfg), nil
	case "anthropic":
		return anthropic.New(anthropic.Config{BaseURL: pc.BaseURL, APIKey: pc.APIKey.Reveal(),
			Version: pc.AnthropicVersion, Beta: pc.AnthropicBeta, Headers: pc.Headers, Client: client}), nil
	case "gemini":
		return newGemini(pc, client, opts)
	case "bedrock":
		p, err := bedrock.New(context.Background(), bedrock.Config{
			Region: pc.Region, Profile: pc.Profile,
			AccessKeyID: pc.AWSAccessKeyID.Reveal(), SecretAccessKey: pc.AWSSecretAccessKey.Reveal(),
			SessionToken: pc.AWSSessionToken.Reveal(), RoleARN: pc.RoleARN,
			BaseURL: pc.BaseURL, Headers: pc.Headers, HTTPClient: client,
		})
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("provider %q: unknown type %q", pc.Name, pc.Type)
}

// All builds every provider of cfg.
func All(cfg *config.Config, opts Options) (map[string]providers.Provider, error) {
	out := make(map[string]providers.Provider, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		p, err := New(pc, cfg.Resilience.Timeouts, opts)
		if err != nil {
			return nil, err
		}
		out[pc.Name] = p
	}
	return out, nil
}

// newGemini builds a Gemini API provider (auth: api_key) or a Vertex AI one (auth:
// google), whose tokens come from application default credentials: a cached,
// self-refreshing token source (cloud.google.com/go/auth), looked up once here.
func newGemini(pc config.Provider, client *http.Client, opts Options) (providers.Provider, error) {
	cfg := gemini.Config{BaseURL: pc.BaseURL, Headers: pc.Headers, Client: client}
	if pc.Auth != "google" {
		cfg.APIKey = pc.APIKey.Reveal()
		p, err := gemini.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		return p, nil
	}
	cfg.Project, cfg.Region = pc.Project, pc.Region
	cfg.Tokens = opts.GoogleTokens
	if cfg.Tokens == nil {
		creds, err := credentials.DetectDefault(&credentials.DetectOptions{Scopes: []string{gemini.Scope}})
		if err != nil {
			return nil, fmt.Errorf("provider %q: Google application default credentials: %w", pc.Name, err)
		}
		cfg.Tokens = creds
	}
	p, err := gemini.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
	}
	return p, nil
}
