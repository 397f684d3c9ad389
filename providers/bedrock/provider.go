// Package bedrock is the provider for Amazon Bedrock: chat through the Converse and
// ConverseStream APIs, embeddings through InvokeModel (Titan and Cohere).
//
// It speaks the wire format itself and takes from aws-sdk-go-v2 only what that
// needs: config.LoadDefaultConfig for the region and the credentials chain
// (static keys, profiles, web identity, ECS, EC2, role_arn through stscreds),
// aws.CredentialsCache to refresh them before they expire, and the SigV4 signer.
// The generated bedrockruntime client (v1.63.13) is not on the request path,
// for two measured reasons:
//
//   - Its streams broke. Even with a decoder of their own per stream (the
//     client's protocol shares one event-stream decoder and payload buffer
//     between all its streams, a data race), about 1 in 200 ConverseStream
//     calls through one client, sequential or concurrent, failed with "decode
//     event: read tcp ...: use of closed network connection": the SDK reads
//     each stream on a goroutine of its own, and its connection was closed
//     under it. Here a stream is read only by the goroutine that calls Recv.
//   - Its cost. A streamed event cost ~6.5 µs and 54 allocations through the
//     SDK's reader goroutine, channel and decoder (BenchmarkStreamEndToEnd; now
//     ~0.4 µs and none), a non-streamed call ~62 µs and 319 allocations in its
//     middleware stack (BenchmarkChatCanned; now ~18 µs and about 100
//     allocations, about half of it the SigV4 signature, against ~9 µs for the
//     OpenAI pass-through).
//
// The official client still proves the emulated Bedrock in providers/fakes
// faithful (its tests), and that fake serves this package's tests.
//
// request.go and response.go translate OpenAI chat ⇄ Converse (request.go
// writes the request body by hand into a pooled buffer: conversation.go and
// turns.go the messages, straight from the client's JSON through rawjson.go,
// settings.go the rest, body.go the pool; wire.go holds the wire types,
// answer.go reads the response), stream.go translates the event
// stream (frames.go reads its framing, events.go its payloads), errors.go
// classifies Bedrock's errors, endpoint.go and transport.go build, sign and send
// the requests, embeddings.go serves InvokeModel.
package bedrock

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/switchyard/switchyard/providers"
)

// Config of one Bedrock account and region.
type Config struct {
	// Region is the AWS region, e.g. us-east-1. Empty uses the environment's or
	// the profile's.
	Region string
	// Profile names a shared config/credentials profile; empty uses the default.
	Profile string
	// AccessKeyID and SecretAccessKey (with SessionToken for temporary keys) are
	// static credentials. Empty uses the default chain: environment, shared
	// profile, web identity (IRSA), ECS task role, EC2 instance role.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// RoleARN is assumed through STS with the credentials above, refreshed before
	// it expires.
	RoleARN string
	// BaseURL overrides the endpoint (https://bedrock-runtime.REGION.amazonaws.com),
	// for VPC endpoints and tests.
	BaseURL string
	// Headers are static headers added to every request (they are signed too).
	Headers map[string]string
	// HTTPClient sends the requests; nil uses providers.NewHTTPClient with a 10s
	// connect timeout.
	HTTPClient *http.Client
	// MaxResponseBytes caps a non-streamed answer (max_response_bytes); 0 is
	// providers.DefaultMaxResponseBytes. Embeddings answers may be 8 times larger.
	MaxResponseBytes int64
}

// Provider speaks to Bedrock Runtime. It is safe for concurrent use.
type Provider struct {
	client  *http.Client
	creds   aws.CredentialsProvider // an aws.CredentialsCache
	signer  *v4.Signer
	region  string
	base    string // the endpoint, without a trailing slash
	headers http.Header
	limit   providers.ResponseLimit
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Embedder = (*Provider)(nil)
)

// New builds a provider. It resolves where credentials come from but fetches none:
// the first request does, so a missing credential surfaces as a request failing
// with ClassCredential, not as a startup error.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	opts := []func(*config.LoadOptions) error{config.WithCredentialsCacheOptions(refreshEarly)}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set region (or AWS_REGION)")
	}
	base, err := endpoint(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	if cfg.RoleARN != "" {
		// The STS client signs with the credentials resolved so far.
		awsCfg.Credentials = stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg), cfg.RoleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "switchyard" })
	}
	client := cfg.HTTPClient
	if client == nil {
		client = providers.NewHTTPClient(10 * time.Second)
	}
	headers := make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		headers.Set(k, v)
	}
	return &Provider{
		client:  client,
		creds:   credentialsCache(awsCfg.Credentials),
		signer:  v4.NewSigner(),
		region:  awsCfg.Region,
		base:    base,
		headers: headers,
		limit:   providers.ResponseLimit(cfg.MaxResponseBytes),
	}, nil
}

// refreshEarly makes a credentials cache fetch new credentials 2.5 to 5 minutes
// before the old ones expire: a request signed just before the expiry could
// reach AWS after it and fail with ExpiredTokenException. The shortest
// temporary credentials (AssumeRole, web identity) last 15 minutes.
func refreshEarly(o *aws.CredentialsCacheOptions) {
	o.ExpiryWindow = 5 * time.Minute
	o.ExpiryWindowJitterFrac = 0.5
}

// credentialsCache caches credentials, refreshed early. LoadDefaultConfig
// already returns its chain in a cache built with refreshEarly; a second cache
// around it would only ask the first one again during the window.
func credentialsCache(p aws.CredentialsProvider) aws.CredentialsProvider {
	switch p.(type) {
	case nil:
		return nil
	case *aws.CredentialsCache:
		return p
	}
	return aws.NewCredentialsCache(p, refreshEarly)
}

// Chat sends a Converse request.
func (p *Provider) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	cr, err := translateRequest(call.Request, call.Model)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, opConverse, call.Model, cr.sent(), call.Header)
	if err != nil {
		return nil, err
	}
	raw, err := providers.ReadResponse(resp, p.limit.Chat())
	if err != nil {
		return nil, err
	}
	return translateAnswer(raw, call.Model, answerOptions{jsonTool: cr.jsonTool, hideReasoning: call.HideReasoning},
		providers.NewID("chatcmpl-"), time.Now().Unix())
}

// ChatStream sends a ConverseStream request; it returns once Bedrock answered 200.
func (p *Provider) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	cr, err := translateRequest(call.Request, call.Model)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, opConverseStream, call.Model, cr.sent(), call.Header)
	if err != nil {
		return nil, err
	}
	if err := checkEventStream(resp); err != nil {
		return nil, err
	}
	st := newStream(resp.Body, call.Model, cr.jsonTool, providers.NewID("chatcmpl-"), time.Now().Unix())
	st.tr.hideReasoning = call.HideReasoning
	return st, nil
}
