package anthropic

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/auth"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

// Claude on Vertex AI (https://docs.anthropic.com/en/api/claude-on-vertex-ai,
// https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude):
//
//	POST {base}/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
//	POST ...:streamRawPredict (the same SSE events as Anthropic's API)
//	POST .../publishers/anthropic/models/count-tokens:rawPredict (model in the body)
//
// The body is the Messages body without "model" (it is in the URL), with
// "anthropic_version": "vertex-2023-10-16" instead of the anthropic-version
// header; anthropic-beta stays a header. Requests carry an OAuth2 bearer token
// from Google application default credentials. Errors come in Anthropic's shape
// from the model, in Google's ({"error":{"code","message","status"}}) from Vertex
// itself (quota, auth); parseError reads both.
//
// Configured as type anthropic with auth: google, project and region (see
// config.Provider). OpenAI-dialect clients are served too: Chat and ChatStream
// translate through this package's Messages translation.

// VertexVersion is the anthropic_version Vertex AI requires in the body.
const VertexVersion = "vertex-2023-10-16"

// vertexBeta are the anthropic-beta flags Claude on Vertex AI accepts; Vertex
// answers 400 to others. Anthropic's beta features reach Vertex later than its
// own API, some never (the Files API, code execution, MCP connector); the list
// follows Anthropic's per-feature "available on" notes and Claude Code's
// provider-specific flags (tool search is tool-search-tool-2025-10-19 there,
// advanced-tool-use-2025-11-20 on Anthropic's API). A client's flag outside it is
// dropped and reported (MessagesCall.DroppedBeta); configured flags are sent as
// configured.
var vertexBeta = map[string]bool{
	"computer-use-2025-01-24":              true,
	"computer-use-2025-11-24":              true,
	"context-1m-2025-08-07":                true,
	"context-management-2025-06-27":        true,
	"interleaved-thinking-2025-05-14":      true,
	"tool-search-tool-2025-10-19":          true,
	"web-search-2025-03-05":                true,
	"compact-2026-01-12":                   true,
	"thinking-binding-controls-2026-08-01": true,
	"thinking-display-updates-2026-08-18":  true,
}

// VertexConfig of Claude in one Vertex AI project and location.
type VertexConfig struct {
	// BaseURL overrides the endpoint root (tests, private endpoints). Default
	// VertexBaseURL(Region).
	BaseURL string
	// Project and Region (the location: us-east5, europe-west1, global, ...).
	Project string
	Region  string
	// Tokens issues the OAuth2 bearer tokens; it must cache and refresh them, as
	// cloud.google.com/go/auth/credentials.DetectDefault's do.
	Tokens auth.TokenProvider
	// Beta flags are sent as anthropic-beta on every request, as configured.
	Beta []string
	// Headers are static headers added to every request.
	Headers map[string]string
	// MaxTokens is the max_tokens of translated requests that name none. Default
	// DefaultMaxTokens.
	MaxTokens int
	// MaxResponseBytes caps a buffered answer (max_response_bytes); 0 takes
	// providers.DefaultMaxResponseBytes.
	MaxResponseBytes int64
	Client           *http.Client
}

// VertexBaseURL is the Vertex AI endpoint of a location: the global location and
// the multi-regions us and eu have hosts of their own.
func VertexBaseURL(region string) string {
	switch region {
	case "global":
		return "https://aiplatform.googleapis.com"
	case "us", "eu":
		return "https://aiplatform." + region + ".rep.googleapis.com"
	}
	return "https://" + region + "-aiplatform.googleapis.com"
}

// Vertex serves Claude models on Vertex AI.
type Vertex struct {
	models  string // the URL prefix of model paths, ending in "models/"
	tokens  auth.TokenProvider
	beta    []string
	headers http.Header
	opts    requestOptions
	limit   providers.ResponseLimit
	client  *http.Client
}

var (
	_ providers.Provider     = (*Vertex)(nil)
	_ providers.Messenger    = (*Vertex)(nil)
	_ providers.TokenCounter = (*Vertex)(nil)
)

// NewVertex returns a provider of Claude on Vertex AI.
func NewVertex(cfg VertexConfig) (*Vertex, error) {
	if cfg.Project == "" || cfg.Region == "" {
		return nil, errors.New("anthropic on Vertex AI needs a project and a region")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("anthropic on Vertex AI needs Google credentials")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = VertexBaseURL(cfg.Region)
	}
	v := &Vertex{
		models: base + "/v1/projects/" + url.PathEscape(cfg.Project) + "/locations/" + url.PathEscape(cfg.Region) +
			"/publishers/anthropic/models/",
		tokens:  cfg.Tokens,
		beta:    cfg.Beta,
		headers: make(http.Header, len(cfg.Headers)),
		opts:    requestOptions{maxTokens: cfg.MaxTokens},
		limit:   providers.ResponseLimit(cfg.MaxResponseBytes),
		client:  cfg.Client,
	}
	for k, val := range cfg.Headers {
		v.headers.Set(k, val)
	}
	if v.opts.maxTokens <= 0 {
		v.opts.maxTokens = DefaultMaxTokens
	}
	if v.client == nil {
		v.client = providers.NewHTTPClient(10 * time.Second)
	}
	return v, nil
}

func (v *Vertex) url(model, method string) string {
	return v.models + url.PathEscape(model) + ":" + method
}

func method(stream bool) string {
	if stream {
		return "streamRawPredict"
	}
	return "rawPredict"
}

// Chat serves an OpenAI chat request through the Messages translation.
func (v *Vertex) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	body, tr, err := v.translate(call, false)
	if err != nil {
		return nil, err
	}
	resp, err := v.post(ctx, v.url(call.Model, method(false)), body, call.Header, nil, false)
	if err != nil {
		return nil, err
	}
	return readTranslated(resp, tr, v.limit.Chat())
}

// ChatStream serves a streamed OpenAI chat request through the translation.
func (v *Vertex) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	body, tr, err := v.translate(call, true)
	if err != nil {
		return nil, err
	}
	resp, err := v.post(ctx, v.url(call.Model, method(true)), body, call.Header, nil, true)
	if err != nil {
		return nil, err
	}
	if err := checkEventStream(resp); err != nil {
		return nil, err
	}
	return newStream(resp.Body, tr), nil
}

func (v *Vertex) translate(call *providers.Call, stream bool) ([]byte, translation, error) {
	c, err := call.Request.Canonical()
	if err != nil {
		return nil, translation{}, err
	}
	body, tr, err := translateRequest(c, call.Model, stream, v.opts)
	if err != nil {
		return nil, tr, err
	}
	body, err = vertexBody(body, stream)
	return body, tr, err
}

// SpeaksMessages: every Claude model on Vertex AI does.
func (v *Vertex) SpeaksMessages(string) bool { return true }

// Messages sends a Messages request by pass-through (rawPredict).
func (v *Vertex) Messages(ctx context.Context, call *providers.MessagesCall) (*providers.Response, error) {
	body, err := vertexBody(call.Body, false)
	if err != nil {
		return nil, err
	}
	resp, err := v.post(ctx, v.url(call.Model, method(false)), body, call.Header, v.clientBeta(call), false)
	if err != nil {
		return nil, err
	}
	return readMessage(resp, v.limit.Chat())
}

// MessagesStream sends a streamed Messages request by pass-through
// (streamRawPredict).
func (v *Vertex) MessagesStream(ctx context.Context, call *providers.MessagesCall) (providers.Stream, error) {
	body, err := vertexBody(call.Body, true)
	if err != nil {
		return nil, err
	}
	resp, err := v.post(ctx, v.url(call.Model, method(true)), body, call.Header, v.clientBeta(call), true)
	if err != nil {
		return nil, err
	}
	return openNativeStream(resp)
}

// CountTokens counts through Vertex AI's count-tokens endpoint, which takes the
// model in the body.
func (v *Vertex) CountTokens(ctx context.Context, call *providers.MessagesCall) (int, error) {
	body, err := jsonfield.Apply(call.Body, modelEdit(call.Model),
		jsonfield.Edit{Key: "anthropic_version", Value: []byte(`"` + VertexVersion + `"`), Add: true})
	if err != nil {
		return 0, notObject()
	}
	resp, err := v.post(ctx, v.models+"count-tokens:rawPredict", body, call.Header, v.clientBeta(call), false)
	if err != nil {
		return 0, err
	}
	return readCount(resp)
}

// clientBeta is the client's flags Vertex accepts; the others are reported.
func (v *Vertex) clientBeta(call *providers.MessagesCall) []string {
	kept, dropped := providers.FilterBeta(call.Beta, vertexBeta)
	call.Dropped(dropped)
	return kept
}

// vertexBody moves what Vertex wants elsewhere: no "model" (it is in the URL),
// "anthropic_version" in the body, "stream" as the method says.
func vertexBody(body []byte, stream bool) ([]byte, error) {
	out, err := jsonfield.Delete(body, "model")
	if err != nil {
		return nil, notObject()
	}
	out, err = jsonfield.Apply(out, jsonfield.Edit{Key: "anthropic_version", Value: []byte(`"` + VertexVersion + `"`), Add: true},
		streamEdit(stream))
	if err != nil {
		return nil, notObject()
	}
	return out, nil
}

// post sends body with a fresh bearer token and the anthropic-beta flags.
func (v *Vertex) post(ctx context.Context, target string, body []byte, extra http.Header, clientBeta []string, stream bool) (*http.Response, error) {
	req, err := providers.NewPost(ctx, target, body, v.headers, extra, stream)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "building the Vertex AI request"}
	}
	if beta := providers.MergeBeta(v.beta, clientBeta); len(beta) > 0 {
		req.Header.Set("Anthropic-Beta", strings.Join(beta, ","))
	}
	tok, err := v.tokens.Token(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, providers.AsError(ctxErr)
		}
		return nil, &providers.Error{Class: providers.ClassCredential, Err: err,
			Message: "obtaining a Google access token failed"}
	}
	req.Header.Set("Authorization", "Bearer "+tok.Value)
	resp, err := providers.Do(v.client, req)
	if err != nil {
		return nil, providers.AsError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, upstreamError(resp, time.Now())
	}
	return resp, nil
}
