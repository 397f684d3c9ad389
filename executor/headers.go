package executor

import (
	"net/http"

	"github.com/switchyard/switchyard/policy"
)

// ForwardHeaders are the request headers passed upstream: W3C trace context only.
// Everything else, the client's credentials above all, stays here.
func ForwardHeaders(r *http.Request) http.Header {
	tp := r.Header.Get("Traceparent")
	if tp == "" {
		return nil
	}
	h := http.Header{"Traceparent": {tp}}
	if ts := r.Header.Get("Tracestate"); ts != "" {
		h["Tracestate"] = []string{ts}
	}
	return h
}

// Tags reads a request's tags when admission asks (Info.Tags): the
// X-Switchyard-Tags header and metadataTags, the body's own (metadata.tags), within
// policy's limits (policy.ParseTags: a 400 beyond them).
func Tags(r *http.Request, metadataTags string) func() ([]string, error) {
	return func() ([]string, error) {
		header := r.Header.Get("X-Switchyard-Tags")
		if header == "" && metadataTags == "" {
			return nil, nil // most requests have none: spare the split
		}
		return policy.ParseTags(header, metadataTags)
	}
}
