package azure

import (
	"context"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Scope of Azure OpenAI data-plane tokens.
const Scope = "https://cognitiveservices.azure.com/.default"

// refreshMargin renews a token this long before it expires, so that no request ever
// carries a token that expires in flight.
const refreshMargin = 5 * time.Minute

// tokenSource caches one Entra ID token and refreshes it before expiry. Concurrent
// callers wait for one refresh instead of each asking the identity endpoint.
type tokenSource struct {
	cred azcore.TokenCredential
	now  func() time.Time

	mu  sync.Mutex
	tok azcore.AccessToken
}

func newTokenSource(cred azcore.TokenCredential) *tokenSource {
	return &tokenSource{cred: cred, now: time.Now}
}

// Token returns a token valid for at least refreshMargin, refreshing when needed. If a
// refresh fails while the cached token is still valid, the cached token is used.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.tok.Token != "" && now.Before(s.refreshAt()) {
		return s.tok.Token, nil
	}
	tok, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	if err != nil {
		if s.tok.Token != "" && now.Before(s.tok.ExpiresOn) {
			return s.tok.Token, nil
		}
		return "", err
	}
	s.tok = tok
	return tok.Token, nil
}

// refreshAt is when the cached token should be replaced: the identity service's
// RefreshOn hint when it gave one, else refreshMargin before expiry.
func (s *tokenSource) refreshAt() time.Time {
	at := s.tok.ExpiresOn.Add(-refreshMargin)
	if !s.tok.RefreshOn.IsZero() && s.tok.RefreshOn.Before(at) {
		at = s.tok.RefreshOn
	}
	return at
}
