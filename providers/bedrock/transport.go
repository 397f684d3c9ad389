package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchyard/switchyard/providers"
)

const (
	// signingName is the SigV4 service name of bedrock-runtime (the SDK's
	// endpoint rules sign for "bedrock", not the endpoint prefix).
	signingName = "bedrock"
	// maxResponseBytes bounds a buffered response: a Converse answer, or an
	// embeddings batch of 96 vectors of 1,536 floats.
	maxResponseBytes = 64 << 20
	eventStreamMedia = "application/vnd.amazon.eventstream"
)

// send signs and posts body to an operation on model and returns the response
// when its status is 200; any other status, and any failure before a response,
// becomes a classified *providers.Error. The body goes as bytes with a known
// length: it is hashed for the signature anyway, and a known length spares the
// transport the race between the response and its last read of the body.
func (p *Provider) send(ctx context.Context, op, model string, body []byte, extra http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, operationURL(p.base, model, op), bytes.NewReader(body))
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "building the Bedrock request"}
	}
	h := req.Header
	for k, v := range p.headers {
		h[k] = v[:len(v):len(v)] // shared: an append below must copy
	}
	for k, vs := range extra {
		h[k] = append(h[k], vs...)
	}
	// The headers the SDK sends (API_runtime_Converse.html, request syntax;
	// InvokeModel also names the body's and the answer's media type).
	h.Set("Content-Type", "application/json")
	if op == opInvoke {
		h.Set("Accept", "application/json")
	}
	creds, err := p.credentials(ctx)
	if err != nil {
		return nil, classify(err)
	}
	sum := sha256.Sum256(body)
	if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, p.region, time.Now()); err != nil {
		return nil, &providers.Error{Class: providers.ClassCredential, Err: err, Message: "signing the Bedrock request"}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, errorResponse(resp)
	}
	return resp, nil
}

// credentials returns the cached credentials; a failure to obtain them (no
// provider in the default chain, a failed AssumeRole, an expired SSO session) is
// marked as such, unless the caller left while waiting.
func (p *Provider) credentials(ctx context.Context) (aws.Credentials, error) {
	if p.creds == nil {
		return aws.Credentials{}, &credentialError{err: errors.New("no credentials provider")}
	}
	c, err := p.creds.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		return c, &credentialError{err: err}
	}
	return c, nil
}

// readBody reads and closes a buffered response.
func readBody(resp *http.Response) ([]byte, error) {
	return providers.ReadResponse(resp, maxResponseBytes)
}

// isMediaType reports whether a Content-Type header names the media type want.
func isMediaType(contentType, want string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && strings.EqualFold(mt, want)
}
