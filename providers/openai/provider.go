// Package openai is the pass-through provider for OpenAI and every server that speaks
// its Chat Completions API (vLLM, Ollama, Groq, Together, ...). The request body is
// forwarded as the client sent it, with only "model" (and stream usage) rewritten;
// responses and streams are forwarded byte for byte, parsed only for usage.
// Azure OpenAI reuses it with its own Endpoint.
package openai

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// Operation is an API operation of an OpenAI-compatible server.
type Operation int

// Operations.
const (
	OpChat Operation = iota
	OpEmbeddings
)

// Endpoint says where an operation is sent and how it is authorized.
type Endpoint interface {
	// URL of the operation for one upstream model.
	URL(op Operation, model string) string
	// Authorize adds credentials to an upstream request.
	Authorize(ctx context.Context, h http.Header) error
}

// Config of an OpenAI-compatible provider.
type Config struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer"; empty sends none (local servers).
	APIKey string
	// Headers are static headers added to every request.
	Headers map[string]string
	// MaxResponseBytes caps a non-streamed answer (max_response_bytes); 0 is
	// providers.DefaultMaxResponseBytes. Embeddings answers may be 8 times larger.
	MaxResponseBytes int64
	Client           *http.Client
}

// Provider speaks the OpenAI Chat Completions and Embeddings APIs.
type Provider struct {
	endpoint Endpoint
	headers  http.Header
	client   *http.Client
	limit    providers.ResponseLimit
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Embedder = (*Provider)(nil)
)

// New returns an OpenAI-compatible provider.
func New(cfg Config) *Provider {
	return NewWithEndpoint(&bearerEndpoint{base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey}, cfg.Headers, cfg.Client,
		cfg.MaxResponseBytes)
}

// NewWithEndpoint returns a pass-through provider with custom URLs and auth;
// maxResponse is Config.MaxResponseBytes.
func NewWithEndpoint(ep Endpoint, headers map[string]string, client *http.Client, maxResponse int64) *Provider {
	h := make(http.Header, len(headers))
	for k, v := range headers {
		h.Set(k, v)
	}
	return &Provider{endpoint: ep, headers: h, client: client, limit: providers.ResponseLimit(maxResponse)}
}

type bearerEndpoint struct {
	base string
	key  string
}

func (e *bearerEndpoint) URL(op Operation, _ string) string {
	if op == OpEmbeddings {
		return e.base + "/embeddings"
	}
	return e.base + "/chat/completions"
}

func (e *bearerEndpoint) Authorize(_ context.Context, h http.Header) error {
	if e.key != "" {
		h.Set("Authorization", "Bearer "+e.key)
	}
	return nil
}

// Chat forwards a non-streamed chat request.
func (p *Provider) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	body, err := rewriteChat(call.Request, call.Model)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, OpChat, call.Model, body, call.Header, false)
	if err != nil {
		return nil, err
	}
	return readResponse(resp, p.limit.Chat(), chatCompletion)
}

// ChatStream forwards a streamed chat request, asking upstream for usage.
func (p *Provider) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	body, err := rewriteChat(call.Request, call.Model)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, OpChat, call.Model, body, call.Header, true)
	if err != nil {
		return nil, err
	}
	if !isEventStream(resp.Header.Get("Content-Type")) {
		resp.Body.Close()
		return nil, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode,
			Message: fmt.Sprintf("upstream answered a stream request with %q", resp.Header.Get("Content-Type"))}
	}
	return newStream(resp.Body), nil
}

// Embed forwards an embeddings request.
func (p *Provider) Embed(ctx context.Context, call *providers.EmbedCall) (*providers.Response, error) {
	body, err := rewriteModel(call.Body, call.Model)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, OpEmbeddings, call.Model, providers.Body{body}, call.Header, false)
	if err != nil {
		return nil, err
	}
	return readResponse(resp, p.limit.Embeddings(), embeddingsList)
}

// send posts body and returns a 200 response; any other status becomes an *Error.
func (p *Provider) send(ctx context.Context, op Operation, model string, body providers.Body, extra http.Header, stream bool) (*http.Response, error) {
	req, err := providers.NewPostBody(ctx, p.endpoint.URL(op, model), body, p.headers, extra, stream)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "building upstream request"}
	}
	if err := p.endpoint.Authorize(ctx, req.Header); err != nil {
		return nil, &providers.Error{Class: providers.ClassCredential, Err: err, Message: "obtaining upstream credentials failed"}
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

// readResponse reads a 200 answer of at most limit bytes, which must be the document
// asked for: anything else (an HTML page of a proxy on the way, a stream, another
// API's answer) is a decode failure, never relayed as a success.
func readResponse(resp *http.Response, limit int64, want shape) (*providers.Response, error) {
	body, err := providers.ReadResponse(resp, limit)
	if err != nil {
		return nil, err
	}
	usage, model, err := decodeUsage(body)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode, Err: err,
			Message: "upstream sent an unreadable response"}
	}
	if err := want.check(body); err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode, Err: err,
			Message: "upstream answered 200 with " + err.Error()}
	}
	return &providers.Response{Body: body, Usage: usage, Model: model}, nil
}

func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}
