package bedrock

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The operations, as paths under the endpoint (API_runtime_Converse.html,
// API_runtime_ConverseStream.html, API_runtime_InvokeModel.html: "POST
// /model/modelId/converse" and so on).
const (
	opConverse       = "converse"
	opConverseStream = "converse-stream"
	opInvoke         = "invoke"
)

// endpoint returns the API root, without a trailing slash: base_url when set,
// else an endpoint configured for the SDKs (AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
// AWS_ENDPOINT_URL, endpoint_url in the profile), else the region's public
// endpoint https://bedrock-runtime.REGION.DNS-SUFFIX.
func endpoint(cfg Config, awsCfg aws.Config) (string, error) {
	base := cfg.BaseURL
	if base == "" {
		base = configuredEndpoint(awsCfg)
	}
	if base == "" {
		if !validRegion(awsCfg.Region) {
			return "", fmt.Errorf("invalid AWS region %q", awsCfg.Region)
		}
		return "https://bedrock-runtime." + awsCfg.Region + "." + dnsSuffix(awsCfg.Region), nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid Bedrock endpoint %q: want an http(s) URL without query", base)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// serviceEndpointSource is what the SDK's config sources offer for service
// endpoints (config.EnvConfig and config.SharedConfig implement it).
type serviceEndpointSource interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
}

type ignoreEndpointsSource interface {
	GetIgnoreConfiguredEndpoints(ctx context.Context) (bool, bool, error)
}

// configuredEndpoint resolves an endpoint configured for the SDKs as the
// generated client did (service/bedrockruntime v1.63.13 resolveBaseEndpoint):
// the global one (AWS_ENDPOINT_URL, endpoint_url), replaced by the
// service-specific one (SDK id "Bedrock Runtime") unless only the global
// variable is set in the environment; ignore_configured_endpoints turns the
// service-specific lookup off.
func configuredEndpoint(awsCfg aws.Config) string {
	base := aws.ToString(awsCfg.BaseEndpoint)
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, service := os.LookupEnv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
	if global && !service {
		return base
	}
	ctx := context.Background()
	for _, src := range awsCfg.ConfigSources {
		if s, ok := src.(ignoreEndpointsSource); ok {
			if ignore, found, _ := s.GetIgnoreConfiguredEndpoints(ctx); found && ignore {
				return base
			}
		}
	}
	for _, src := range awsCfg.ConfigSources {
		if s, ok := src.(serviceEndpointSource); ok {
			v, found, err := s.GetServiceBaseEndpoint(ctx, "Bedrock Runtime")
			if err != nil {
				break
			}
			if found {
				return v
			}
		}
	}
	return base
}

// dnsSuffix is the DNS suffix of the region's partition, as the SDK's partition
// table (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json) gives it.
func dnsSuffix(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "amazonaws.com.cn"
	case strings.HasPrefix(region, "eusc-"):
		return "amazonaws.eu"
	case strings.HasPrefix(region, "us-isob-"):
		return "sc2s.sgov.gov"
	case strings.HasPrefix(region, "us-isof-"):
		return "csp.hci.ic.gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "c2s.ic.gov"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "cloud.adc-e.uk"
	}
	return "amazonaws.com"
}

// validRegion: a region becomes a host label, so it is letters, digits and
// inner hyphens (the SDK checks the same, rulesfn.IsValidHostLabel).
func validRegion(r string) bool {
	if r == "" || len(r) > 63 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// operationURL is the URL of an operation on model. The model id is one path
// segment escaped as AWS does: every byte except the unreserved A-Z a-z 0-9 - _
// . ~ becomes %XX, so the ':' of a versioned id and the '/' of an inference
// profile ARN stay inside the segment (smithy-go encoding/httpbinding EscapePath
// with encodeSep). SigV4 then escapes the escaped path once more for the
// canonical request (every service but S3 "URI-encodes each path segment
// twice"), which the signer does by default.
func operationURL(base, model, op string) string {
	var b strings.Builder
	b.Grow(len(base) + len("/model/") + 3*len(model) + 1 + len(op))
	b.WriteString(base)
	b.WriteString("/model/")
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(model); i++ {
		c := model[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	b.WriteByte('/')
	b.WriteString(op)
	return b.String()
}
