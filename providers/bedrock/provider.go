// Package bedrock is the provider for Amazon Bedrock: chat through the Converse and
// ConverseStream APIs, embeddings through InvokeModel (Titan and Cohere), with the
// official SDK (aws-sdk-go-v2/service/bedrockruntime) doing SigV4 signing,
// serialization and the event-stream framing. request.go and response.go
// translate OpenAI chat ⇄ Converse, stream.go the event stream, errors.go
// classifies Bedrock's exceptions.
package bedrock

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

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
}

// Provider speaks to Bedrock Runtime.
type Provider struct {
	client *bedrockruntime.Client
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Embedder = (*Provider)(nil)
)

// New builds a provider. It resolves where credentials come from but fetches none:
// the first request does, so a missing credential surfaces as a request failing
// with ClassCredential, not as a startup error.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	var opts []func(*config.LoadOptions) error
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
	if cfg.RoleARN != "" {
		// The STS client signs with the credentials resolved so far.
		awsCfg.Credentials = stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg), cfg.RoleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "switchyard" })
	}
	awsCfg.Credentials = aws.NewCredentialsCache(markedCredentials{awsCfg.Credentials})
	client := cfg.HTTPClient
	if client == nil {
		client = providers.NewHTTPClient(10 * time.Second)
	}
	return &Provider{client: bedrockruntime.NewFromConfig(awsCfg, func(o *bedrockruntime.Options) {
		o.HTTPClient = client
		// The proxy's executor retries and fails over itself; SDK retries would
		// multiply attempts and hide throttling from the breakers.
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		if cfg.BaseURL != "" {
			o.BaseEndpoint = aws.String(cfg.BaseURL)
		}
		for k, v := range cfg.Headers {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(k, v))
		}
	})}, nil
}

// markedCredentials wraps the credentials provider so that classify recognises a
// failure to obtain credentials (see credentialError).
type markedCredentials struct{ aws.CredentialsProvider }

func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if m.CredentialsProvider == nil {
		return aws.Credentials{}, &credentialError{err: fmt.Errorf("no credentials provider")}
	}
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, &credentialError{err: err}
	}
	return c, nil
}

// Chat sends a Converse request.
func (p *Provider) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	cr, err := p.translate(call)
	if err != nil {
		return nil, err
	}
	out, err := p.client.Converse(ctx, cr.input, withHeaders(call.Header))
	if err != nil {
		return nil, classify(err)
	}
	return translateResponse(out, call.Model, cr.jsonTool, providers.NewID("chatcmpl-"), time.Now().Unix())
}

// ChatStream sends a ConverseStream request; it returns once Bedrock answered 200.
func (p *Provider) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	cr, err := p.translate(call)
	if err != nil {
		return nil, err
	}
	out, err := p.client.ConverseStream(ctx, streamInput(cr.input), withHeaders(call.Header), ownDecoder)
	if err != nil {
		return nil, classify(err)
	}
	return newStream(out.GetStream(), call.Model, cr.jsonTool, providers.NewID("chatcmpl-"), time.Now().Unix()), nil
}

func (p *Provider) translate(call *providers.Call) (*converseRequest, error) {
	req, err := call.Request.Canonical()
	if err != nil {
		return nil, err
	}
	return translateRequest(req, call.Model)
}

// ownDecoder gives the stream a protocol, and so an event-stream decoder, of its
// own. The client's protocol keeps one decoder and one payload buffer for every
// stream (smithy-go internal/eventstream Codec), which concurrent streams of one
// client would share without a lock.
func ownDecoder(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}

// withHeaders forwards the request-scoped headers the proxy passes (traceparent).
func withHeaders(h http.Header) func(*bedrockruntime.Options) {
	return func(o *bedrockruntime.Options) {
		for k, vs := range h {
			for _, v := range vs {
				o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue(k, v))
			}
		}
	}
}
