// Package gemini is the Google Gemini provider, for both of Google's endpoints of
// the generateContent API:
//
//   - the Gemini API (https://ai.google.dev/api/generate-content), authorized by an
//     API key in the x-goog-api-key header:
//     POST {base}/v1beta/models/{model}:generateContent
//   - Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference),
//     authorized by an OAuth2 bearer token from Google application default
//     credentials: POST {base}/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent
//
// Streams use :streamGenerateContent?alt=sse on both. Requests and responses are
// translated from and to OpenAI's Chat Completions format (request.go, response.go,
// stream.go); embeddings from and to OpenAI's embeddings API (embeddings.go).
package gemini

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/auth"

	"github.com/switchyard/switchyard/providers"
)

// Default endpoints.
const (
	DefaultBaseURL = "https://generativelanguage.googleapis.com"
	// Vertex AI's regional endpoint is https://{region}-aiplatform.googleapis.com;
	// the "global" location is served by the host without a region prefix.
	vertexGlobalBaseURL = "https://aiplatform.googleapis.com"
)

// Scope of the OAuth2 tokens Vertex AI accepts.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// Config of one Gemini API key or one Vertex AI project and location.
type Config struct {
	// BaseURL overrides the endpoint root (tests, private endpoints). Default:
	// DefaultBaseURL for the Gemini API, VertexBaseURL(Region) for Vertex AI.
	BaseURL string
	// APIKey authorizes Gemini API requests (x-goog-api-key).
	APIKey string
	// Tokens selects Vertex AI: every request carries "Authorization: Bearer" with
	// a token from it. It must cache and refresh tokens itself, as the
	// credentials of cloud.google.com/go/auth/credentials.DetectDefault do.
	Tokens auth.TokenProvider
	// Project and Region (the Vertex AI location, e.g. us-central1 or global)
	// name the Vertex AI endpoint; required with Tokens.
	Project string
	Region  string
	// Headers are static headers added to every request.
	Headers map[string]string
	// MaxResponseBytes caps a non-streamed answer (max_response_bytes); 0 is
	// providers.DefaultMaxResponseBytes. Embeddings answers may be 8 times larger.
	MaxResponseBytes int64
	Client           *http.Client
}

// VertexBaseURL is the Vertex AI endpoint of a location.
func VertexBaseURL(region string) string {
	if region == "global" {
		return vertexGlobalBaseURL
	}
	return "https://" + region + "-aiplatform.googleapis.com"
}

// Provider speaks generateContent to the Gemini API or to Vertex AI.
type Provider struct {
	// models is the URL prefix every model path follows, ending in "models/".
	models  string
	vertex  bool
	apiKey  string
	tokens  auth.TokenProvider
	headers http.Header
	client  *http.Client
	limit   providers.ResponseLimit
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Embedder = (*Provider)(nil)
)

// New returns a Gemini provider.
func New(cfg Config) (*Provider, error) {
	p := &Provider{apiKey: cfg.APIKey, tokens: cfg.Tokens, client: cfg.Client, headers: make(http.Header, len(cfg.Headers)),
		limit: providers.ResponseLimit(cfg.MaxResponseBytes)}
	for k, v := range cfg.Headers {
		p.headers.Set(k, v)
	}
	if p.client == nil {
		p.client = providers.NewHTTPClient(10 * time.Second)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Tokens != nil {
		if cfg.Project == "" || cfg.Region == "" {
			return nil, errors.New("gemini: Vertex AI needs a project and a region")
		}
		if base == "" {
			base = VertexBaseURL(cfg.Region)
		}
		p.vertex = true
		p.models = base + "/v1/projects/" + url.PathEscape(cfg.Project) + "/locations/" + url.PathEscape(cfg.Region) + "/publishers/google/models/"
		return p, nil
	}
	if cfg.APIKey == "" {
		return nil, errors.New("gemini: an API key is required (or Vertex AI credentials)")
	}
	if base == "" {
		base = DefaultBaseURL
	}
	p.models = base + "/v1beta/models/"
	return p, nil
}

// url of a model method, e.g. ".../models/gemini-2.5-flash:generateContent". A
// model configured by its resource name ("models/gemini-2.5-flash") is accepted.
func (p *Provider) url(model, method string) string {
	return p.models + url.PathEscape(trimModelsPrefix(model)) + ":" + method
}

func trimModelsPrefix(model string) string { return strings.TrimPrefix(model, "models/") }

// Chat sends a non-streamed chat request.
func (p *Provider) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	body, err := encodeRequest(call.Request, call.Model, call.HideReasoning, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, p.url(call.Model, "generateContent"), body, call.Header, false)
	if err != nil {
		return nil, err
	}
	data, err := providers.ReadResponse(resp, p.limit.Chat())
	if err != nil {
		return nil, err
	}
	return translateResponse(data, call.Model, time.Now().Unix())
}

// ChatStream sends a streamed chat request.
func (p *Provider) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	body, err := encodeRequest(call.Request, call.Model, call.HideReasoning, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, p.url(call.Model, "streamGenerateContent")+"?alt=sse", body, call.Header, true)
	if err != nil {
		return nil, err
	}
	if !isEventStream(resp.Header.Get("Content-Type")) {
		resp.Body.Close()
		return nil, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode,
			Message: fmt.Sprintf("Gemini answered a stream request with %q", resp.Header.Get("Content-Type"))}
	}
	return newStream(resp.Body, call.Model), nil
}

// send posts body and returns a 200 response; any other status becomes an *Error.
func (p *Provider) send(ctx context.Context, target string, body []byte, extra http.Header, stream bool) (*http.Response, error) {
	req, err := providers.NewPost(ctx, target, body, p.headers, extra, stream)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "building the Gemini request"}
	}
	if err := p.authorize(ctx, req.Header); err != nil {
		return nil, err
	}
	resp, err := providers.Do(p.client, req)
	if err != nil {
		return nil, providers.AsError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, upstreamError(resp)
	}
	return resp, nil
}

func (p *Provider) authorize(ctx context.Context, h http.Header) error {
	if p.tokens == nil {
		h.Set("X-Goog-Api-Key", p.apiKey)
		return nil
	}
	tok, err := p.tokens.Token(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return providers.AsError(ctxErr)
		}
		return &providers.Error{Class: providers.ClassCredential, Err: err, Message: "obtaining a Google access token failed"}
	}
	h.Set("Authorization", "Bearer "+tok.Value)
	return nil
}

func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}
