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
	"github.com/switchyard/switchyard/internal/scrub"
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
	// GoogleTokens issues OAuth2 tokens for gemini and anthropic providers with
	// auth: google (Vertex AI); nil uses Google application default credentials.
	GoogleTokens auth.TokenProvider
	// Secrets is the scrubber of the configuration in force: every provider's errors
	// are scrubbed of those secrets, besides the provider's own credentials. nil
	// scrubs the provider's own credentials only.
	Secrets *scrub.Holder
}

// New builds the provider of one configuration entry. Every error it returns, from
// any call or stream, is an *providers.Error scrubbed of the entry's credentials and
// of opts.Secrets.
func New(pc config.Provider, timeouts config.Timeouts, opts Options) (providers.Provider, error) {
	own := scrub.New(pc.Secrets())
	p, err := build(pc, timeouts, opts)
	if err != nil {
		return nil, own.Error(err)
	}
	return withScrubbing(p, own, opts.Secrets), nil
}

func build(pc config.Provider, timeouts config.Timeouts, opts Options) (providers.Provider, error) {
	client := providers.NewHTTPClient(pc.Timeouts.Or(timeouts).Connect)
	switch pc.Type {
	case "openai":
		return openai.New(openai.Config{BaseURL: pc.BaseURL, APIKey: pc.APIKey.Reveal(), Headers: pc.Headers, Client: client,
			MaxResponseBytes: pc.MaxResponseBytes}), nil
	case "azure":
		cfg := azure.Config{BaseURL: pc.BaseURL, APIVersion: pc.APIVersion, Headers: pc.Headers, Client: client,
			MaxResponseBytes: pc.MaxResponseBytes}
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
		if pc.Auth == "google" {
			return newVertexClaude(pc, client, opts)
		}
		return anthropic.New(anthropic.Config{BaseURL: pc.BaseURL, APIKey: pc.APIKey.Reveal(),
			Version: pc.AnthropicVersion, Beta: pc.AnthropicBeta, Headers: pc.Headers, Client: client,
			MaxResponseBytes: pc.MaxResponseBytes}), nil
	case "gemini":
		return newGemini(pc, client, opts)
	case "bedrock":
		p, err := bedrock.New(context.Background(), bedrock.Config{
			Region: pc.Region, Profile: pc.Profile,
			AccessKeyID: pc.AWSAccessKeyID.Reveal(), SecretAccessKey: pc.AWSSecretAccessKey.Reveal(),
			SessionToken: pc.AWSSessionToken.Reveal(), RoleARN: pc.RoleARN,
			BaseURL: pc.BaseURL, Headers: pc.Headers, HTTPClient: client, MaxResponseBytes: pc.MaxResponseBytes,
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
	cfg := gemini.Config{BaseURL: pc.BaseURL, Headers: pc.Headers, Client: client, MaxResponseBytes: pc.MaxResponseBytes}
	if pc.Auth != "google" {
		cfg.APIKey = pc.APIKey.Reveal()
		p, err := gemini.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		return p, nil
	}
	cfg.Project, cfg.Region = pc.Project, pc.Region
	tokens, err := googleTokens(pc, opts)
	if err != nil {
		return nil, err
	}
	cfg.Tokens = tokens
	p, err := gemini.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
	}
	return p, nil
}

// newVertexClaude builds a provider of Claude on Vertex AI (type anthropic, auth:
// google): rawPredict for Messages clients and OpenAI clients alike.
func newVertexClaude(pc config.Provider, client *http.Client, opts Options) (providers.Provider, error) {
	tokens, err := googleTokens(pc, opts)
	if err != nil {
		return nil, err
	}
	p, err := anthropic.NewVertex(anthropic.VertexConfig{BaseURL: pc.BaseURL, Project: pc.Project, Region: pc.Region,
		Tokens: tokens, Beta: pc.AnthropicBeta, Headers: pc.Headers, MaxResponseBytes: pc.MaxResponseBytes, Client: client})
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
	}
	return p, nil
}

// googleTokens is the injected token source, else application default
// credentials: a cached, self-refreshing token source, looked up once here.
func googleTokens(pc config.Provider, opts Options) (auth.TokenProvider, error) {
	if opts.GoogleTokens != nil {
		return opts.GoogleTokens, nil
	}
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{Scopes: []string{gemini.Scope}})
	if err != nil {
		return nil, fmt.Errorf("provider %q: Google application default credentials: %w", pc.Name, err)
	}
	return creds, nil
}
