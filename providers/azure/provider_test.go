package azure

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

func chatCall(t *testing.T, model string) *providers.Call {
	r, err := providers.ParseChat([]byte(`{"model":"alias","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return &providers.Call{Request: r, Model: model}
}

func TestDeploymentAndV1Paths(t *testing.T) {
	f := fakes.NewAzure(fakes.AzureOptions{APIKey: "k", Deployments: []string{"gpt-4o-prod"}, APIVersions: []string{"2024-10-21"}})
	defer f.Close()
	for _, version := range []string{"2024-10-21", V1} {
		p := New(Config{BaseURL: f.Endpoint(), APIVersion: version, APIKey: "k", Client: providers.NewHTTPClient(0)})
		if _, err := p.Chat(context.Background(), chatCall(t, "gpt-4o-prod")); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
	}
	reqs := f.Requests()
	if reqs[0].Path != "/openai/deployments/gpt-4o-prod/chat/completions" || reqs[0].Query != "api-version=2024-10-21" {
		t.Errorf("deployment path: %s?%s", reqs[0].Path, reqs[0].Query)
	}
	if reqs[1].Path != "/openai/v1/chat/completions" || reqs[1].Query != "" {
		t.Errorf("v1 path: %s?%s", reqs[1].Path, reqs[1].Query)
	}
	for _, r := range reqs {
		if r.Header.Get("Api-Key") != "k" || r.Header.Get("Authorization") != "" {
			t.Errorf("auth headers: %v", r.Header)
		}
	}
}

// fakeCredential issues tokens valid for ttl and counts how often it was asked.
type fakeCredential struct {
	calls atomic.Int32
	ttl   time.Duration
	now   func() time.Time
}

func (c *fakeCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.calls.Add(1)
	if len(opts.Scopes) != 1 || opts.Scopes[0] != Scope {
		panic("wrong scope")
	}
	time.Sleep(10 * time.Millisecond) // the identity endpoint is slow; callers must not pile up
	return azcore.AccessToken{Token: "tok-" + string(rune('0'+n)), ExpiresOn: c.now().Add(c.ttl)}, nil
}

func TestEntraTokenCachedAndRefreshedBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cred := &fakeCredential{ttl: time.Hour, now: clock}
	ts := newTokenSource(cred)
	ts.now = clock

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := ts.Token(context.Background()); err != nil || tok != "tok-1" {
				t.Errorf("token %q %v", tok, err)
			}
		}()
	}
	wg.Wait()
	if cred.calls.Load() != 1 {
		t.Fatalf("20 concurrent callers fetched %d tokens, want 1", cred.calls.Load())
	}
	mu.Lock()
	now = now.Add(54 * time.Minute) // 6 minutes left: still outside the refresh margin
	mu.Unlock()
	if tok, _ := ts.Token(context.Background()); tok != "tok-1" {
		t.Errorf("refreshed too early: %q", tok)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute) // 4 minutes left: refresh before expiry
	mu.Unlock()
	if tok, _ := ts.Token(context.Background()); tok != "tok-2" {
		t.Errorf("not refreshed within the margin: %q", tok)
	}
}

func TestEntraAgainstFake(t *testing.T) {
	f := fakes.NewAzure(fakes.AzureOptions{Token: "tok-1"})
	defer f.Close()
	p := New(Config{BaseURL: f.Endpoint(), APIVersion: V1, Credential: &fakeCredential{ttl: time.Hour, now: time.Now},
		Client: providers.NewHTTPClient(0)})
	if _, err := p.Chat(context.Background(), chatCall(t, "dep")); err != nil {
		t.Fatal(err)
	}
	if h := f.Requests()[0].Header; h.Get("Authorization") != "Bearer tok-1" || h.Get("Api-Key") != "" {
		t.Errorf("headers: %v", h)
	}
}
