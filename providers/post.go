package providers

import (
	"bytes"
	"context"
	"net/http"
)

// NewPost builds an upstream POST of a JSON body. The body is a bytes.Reader, which
// gives the request a known length and GetBody, so that the transport never races
// the response against its last read of the body. Request-scoped headers (extra:
// traceparent) come first, the provider's static ones (credentials, versions) over
// them.
func NewPost(ctx context.Context, url string, body []byte, static, extra http.Header, stream bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	for k, v := range extra {
		h[k] = v
	}
	for k, v := range static {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	if stream {
		h.Set("Accept", "text/event-stream")
	} else {
		h.Set("Accept", "application/json")
	}
	return req, nil
}
