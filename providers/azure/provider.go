// Package azure is the Azure OpenAI provider: the OpenAI pass-through with Azure's
// URLs (deployment paths with api-version, or the v1 path) and Azure's auth (an
// api-key header, or a Microsoft Entra ID bearer token).
package azure

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/switchyard/switchyard/providers/openai"
)

// V1 is the api_version that selects the /openai/v1/ path, which takes no
// api-version parameter (https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle).
const V1 = "v1"

// Config of one Azure OpenAI resource.
type Config struct {
	// BaseURL is the resource endpoint, e.g. https://contoso.openai.azure.com.
	BaseURL    string
	APIVersion string
	// APIKey is sent in the api-key header. Empty means Entra ID through Credential.
	APIKey string
	// Credential issues Entra ID tokens when APIKey is empty.
	Credential azcore.TokenCredential
	Headers    map[string]string
	// MaxResponseBytes caps a non-streamed answer (see openai.Config).
	MaxResponseBytes int64
	Client           *http.Client
}

// New returns an Azure OpenAI provider.
func New(cfg Config) *openai.Provider {
	ep := &endpoint{base: strings.TrimRight(cfg.BaseURL, "/"), apiKey: cfg.APIKey}
	if cfg.APIVersion != V1 {
		ep.query = "?api-version=" + url.QueryEscape(cfg.APIVersion)
	} else {
		ep.v1 = true
	}
	if cfg.APIKey == "" && cfg.Credential != nil {
		ep.tokens = newTokenSource(cfg.Credential)
	}
	return openai.NewWithEndpoint(ep, cfg.Headers, cfg.Client, cfg.MaxResponseBytes)
}

type endpoint struct {
	base   string
	query  string
	v1     bool
	apiKey string
	tokens *tokenSource
}

// URL of an operation: /openai/deployments/{deployment}/chat/completions?api-version=...
// or, on v1, /openai/v1/chat/completions with the deployment as "model" in the body.
func (e *endpoint) URL(op openai.Operation, deployment string) string {
	suffix := "/chat/completions"
	if op == openai.OpEmbeddings {
		suffix = "/embeddings"
	}
	if e.v1 {
		return e.base + "/openai/v1" + suffix
	}
	return e.base + "/openai/deployments/" + url.PathEscape(deployment) + suffix + e.query
}

func (e *endpoint) Authorize(ctx context.Context, h http.Header) error {
	if e.tokens != nil {
		tok, err := e.tokens.Token(ctx)
		if err != nil {
			return err
		}
		h.Set("Authorization", "Bearer "+tok)
		return nil
	}
	h.Set("Api-Key", e.apiKey)
	return nil
}
