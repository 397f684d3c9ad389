// Package anthropic is the provider of Anthropic's Messages API
// (https://platform.claude.com/docs/en/api/messages): canonical OpenAI chat requests
// are translated to Messages requests (request.go), answers back to chat.completion
// (response.go) and chat.completion.chunk streams (stream.go), and errors classified
// (errors.go). It speaks HTTP itself, with no Anthropic SDK.
package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// Defaults of Config.
const (
	DefaultBaseURL = "https://api.anthropic.com"
	DefaultVersion = "2023-06-01"
)

// samplingRemoved is the first API version without temperature and top_p
// (https://platform.claude.com/docs/en/api/migration-2026-10-21: "temperature,
// top_p and top_k removed"; a 400 even at default values).
const samplingRemoved = "2026-10-21"

// Config of one Anthropic account.
type Config struct {
	// BaseURL is the API root. Default https://api.anthropic.com.
	BaseURL string
	// APIKey is sent as x-api-key.
	APIKey string
	// Version is the anthropic-version header. Default 2023-06-01. Versions from
	// 2026-10-21 on take no temperature or top_p, so those are not sent.
	Version string
	// Beta flags are sent comma-joined as anthropic-beta; none by default.
	Beta []string
	// Headers are static headers added to every request.
	Headers map[string]string
	// MaxTokens is the max_tokens sent when the client names none (Anthropic
	// requires it). Default DefaultMaxTokens (4096).
	MaxTokens int
	// MaxResponseBytes caps a non-streamed answer (max_response_bytes); 0 is
	// providers.DefaultMaxResponseBytes.
	MaxResponseBytes int64
	Client           *http.Client
}

// Provider speaks the Anthropic Messages API.
type Provider struct {
	url     string // POST /v1/messages
	base    string // the API root
	beta    []string
	headers http.Header
	opts    requestOptions
	client  *http.Client
	limit   providers.ResponseLimit
}

var _ providers.Provider = (*Provider)(nil)

// New returns an Anthropic provider.
func New(cfg Config) *Provider {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	version := cfg.Version
	if version == "" {
		version = DefaultVersion
	}
	h := make(http.Header, len(cfg.Headers)+4)
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	h.Set("X-Api-Key", cfg.APIKey)
	h.Set("Anthropic-Version", version)
	if len(cfg.Beta) > 0 {
		h.Set("Anthropic-Beta", strings.Join(cfg.Beta, ","))
	}
	h.Set("Content-Type", "application/json")
	opts := requestOptions{maxTokens: cfg.MaxTokens, noSampling: version >= samplingRemoved}
	if opts.maxTokens <= 0 {
		opts.maxTokens = DefaultMaxTokens
	}
	client := cfg.Client
	if client == nil {
		client = providers.NewHTTPClient(10 * time.Second)
	}
	return &Provider{url: base + "/v1/messages", base: base, beta: cfg.Beta, headers: h, opts: opts, client: client,
		limit: providers.ResponseLimit(cfg.MaxResponseBytes)}
}

// Chat sends a non-streamed request.
func (p *Provider) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	body, tr, err := p.translate(call, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, body, call.Header, false)
	if err != nil {
		return nil, err
	}
	return readTranslated(resp, tr, p.limit.Chat())
}

// readTranslated reads a Messages answer and translates it into a chat.completion.
func readTranslated(resp *http.Response, tr translation, limit int64) (*providers.Response, error) {
	raw, err := providers.ReadResponse(resp, limit)
	if err != nil {
		return nil, err
	}
	out, err := translateResponse(raw, tr)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode, Err: err,
			Message: "upstream sent an unreadable response"}
	}
	return out, nil
}

// ChatStream sends a streamed request.
func (p *Provider) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	body, tr, err := p.translate(call, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, body, call.Header, true)
	if err != nil {
		return nil, err
	}
	if err := checkEventStream(resp); err != nil {
		return nil, err
	}
	return newStream(resp.Body, tr), nil
}

// checkEventStream closes resp and fails unless it is an event stream.
func checkEventStream(resp *http.Response) error {
	if isEventStream(resp.Header.Get("Content-Type")) {
		return nil
	}
	resp.Body.Close()
	return &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode,
		Message: fmt.Sprintf("upstream answered a stream request with %q", resp.Header.Get("Content-Type"))}
}

func (p *Provider) translate(call *providers.Call, stream bool) ([]byte, translation, error) {
	c, err := call.Request.Canonical()
	if err != nil {
		return nil, translation{}, err
	}
	body, tr, err := translateRequest(c, call.Model, stream, p.opts)
	tr.hideReasoning = call.HideReasoning
	return body, tr, err
}

// send posts body and returns a 200 response; any other status becomes an *Error.
func (p *Provider) send(ctx context.Context, body []byte, extra http.Header, stream bool) (*http.Response, error) {
	req, err := providers.NewPost(ctx, p.url, body, p.headers, extra, stream)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "building upstream request"}
	}
	return p.do(req)
}

// do sends req and returns a 200 response; any other status becomes an *Error.
func (p *Provider) do(req *http.Request) (*http.Response, error) {
	resp, err := providers.Do(p.client, req)
	if err != nil {
		return nil, providers.AsError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, upstreamError(resp, time.Now())
	}
	return resp, nil
}

func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}
