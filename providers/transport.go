package providers

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the client of one provider: one tuned transport per provider,
// shared by all its targets, so connections are reused across requests. Deadlines are
// set per attempt through the request context, never by the client.
func NewHTTPClient(connectTimeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true, // HTTP/2 where the upstream offers it over TLS
			MaxIdleConns:          0,    // no global cap; the per-host cap bounds it
			MaxIdleConnsPerHost:   256,  // a busy proxy keeps its upstream connections warm
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   connectTimeout,
			ExpectContinueTimeout: 0,
			// Small buffers: a long-lived stream holds them for its whole life.
			ReadBufferSize:  4 << 10,
			WriteBufferSize: 4 << 10,
		},
		// Redirects from an API endpoint are a misconfiguration; following one could
		// send credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
