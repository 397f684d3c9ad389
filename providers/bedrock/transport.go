package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	signingName      = "bedrock"
	eventStreamMedia = "application/vnd.amazon.eventstream"
)

// send signs and posts body to an operation on model and returns the response
// when its status is 200; any other status, and any failure before a response,
// becomes a classified *providers.Error. The body goes as bytes with a known
// length: it is hashed for the signature anyway, and a known length spares the
// transport the race between the response and its last read of the body. send
// releases the body (its sender's hold) when it returns.
func (p *Provider) send(ctx context.Context, op, model string, body *requestBody, extra http.Header) (*http.Response, error) {
	defer body.release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, operationURL(p.base, model, op), http.NoBody)
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
	req.ContentLength = int64(len(body.b)) // signed
	creds, err := p.credentials(ctx)
	if err != nil {
		return nil, classify(err)
	}
	sum := body.sum
	if sum == nil {
		s := sha256.Sum256(body.b)
		sum = &s
	}
	if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, p.region, time.Now()); err != nil {
		return nil, &providers.Error{Class: providers.ClassCredential, Err: err, Message: "signing the Bedrock request"}
	}
	body.client = providers.LeaseFrom(ctx)
	req.Body = body.open()
	req.GetBody = func() (io.ReadCloser, error) { return body.open(), nil }
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

// isMediaType reports whether a Content-Type header names the media type want.
func isMediaType(contentType, want string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && strings.EqualFold(mt, want)
}

// checkEventStream closes resp and fails unless it is an event stream.
func checkEventStream(resp *http.Response) error {
	if ct := resp.Header.Get("Content-Type"); !isMediaType(ct, eventStreamMedia) {
		resp.Body.Close()
		return &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode,
			Message: fmt.Sprintf("Bedrock answered a stream request with %q, not %s", ct, eventStreamMedia)}
	}
	return nil
}
