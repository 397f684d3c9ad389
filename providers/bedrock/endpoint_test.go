package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/encoding/httpbinding"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// FuzzOperationURL holds the model id's escaping to the SDK's own
// (httpbinding.EscapePath with encodeSep, used for the modelId label).
func FuzzOperationURL(f *testing.F) {
	for _, s := range []string{sonnet, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-v1:0",
		"a b+c~d!e*f(g)h'i", "é/..", "%3A", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, model string) {
		got := operationURL("https://h", model, opConverse)
		if want := "https://h/model/" + httpbinding.EscapePath(model, true) + "/converse"; got != want {
			t.Fatalf("%q: %s, SDK %s", model, got, want)
		}
	})
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		region, base, want string
	}{
		{"us-east-1", "", "https://bedrock-runtime.us-east-1.amazonaws.com"},
		{"us-gov-west-1", "", "https://bedrock-runtime.us-gov-west-1.amazonaws.com"},
		{"cn-north-1", "", "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"},
		{"eusc-de-east-1", "", "https://bedrock-runtime.eusc-de-east-1.amazonaws.eu"},
		{"us-iso-east-1", "", "https://bedrock-runtime.us-iso-east-1.c2s.ic.gov"},
		{"us-isob-east-1", "", "https://bedrock-runtime.us-isob-east-1.sc2s.sgov.gov"},
		{"us-east-1", "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/", "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com"},
		{"us-east-1", "http://127.0.0.1:4566/bedrock", "http://127.0.0.1:4566/bedrock"},
	} {
		got, err := endpoint(Config{BaseURL: tc.base}, aws.Config{Region: tc.region})
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %q %v, want %q", tc.region, tc.base, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ region, base string }{
		{"us-east-1/evil", ""}, {"-us", ""}, {"us-east-1", "ftp://x"}, {"us-east-1", "https://h/?a=b"}, {"us-east-1", "not a url"},
	} {
		if got, err := endpoint(Config{BaseURL: tc.base}, aws.Config{Region: tc.region}); err == nil {
			t.Errorf("%q %q accepted as %q", tc.region, tc.base, got)
		}
	}
	if _, err := New(context.Background(), Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret}); err == nil {
		t.Error("a provider without a region")
	}
}

func TestEndpointConfiguredForTheSDKs(t *testing.T) {
	// AWS_ENDPOINT_URL_BEDROCK_RUNTIME reaches this provider as it reached the
	// generated client (LocalStack and similar setups rely on it).
	f := newFake(t, fakes.BedrockOptions{})
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f.Endpoint())
	p := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret})
	if _, err := p.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
		t.Fatal(err)
	}
	if p.base != f.Endpoint() || len(f.Requests()) != 1 {
		t.Errorf("endpoint %s, %d requests at the fake", p.base, len(f.Requests()))
	}
}

// countingCredentials hands out credentials that expire after ttl.
type countingCredentials struct {
	calls atomic.Int32
	ttl   time.Duration
}

func (c *countingCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	c.calls.Add(1)
	return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, CanExpire: true, Expires: time.Now().Add(c.ttl)}, nil
}

func TestCredentialsAreRefreshedBeforeTheyExpire(t *testing.T) {
	for _, tc := range []struct {
		ttl   time.Duration
		calls int32
	}{
		{time.Hour, 1},       // cached
		{2 * time.Minute, 3}, // inside the refresh window: fetched again each time
	} {
		src := &countingCredentials{ttl: tc.ttl}
		cache := credentialsCache(src)
		for range 3 {
			if _, err := cache.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := src.calls.Load(); got != tc.calls {
			t.Errorf("credentials lasting %v: fetched %d times, want %d", tc.ttl, got, tc.calls)
		}
	}
	if c := credentialsCache(aws.NewCredentialsCache(&countingCredentials{})); c == nil {
		t.Error("an existing cache is kept")
	}
}

func TestContainerCredentialsThroughTheDefaultChain(t *testing.T) {
	// The default chain's ECS provider (AWS_CONTAINER_CREDENTIALS_FULL_URI), as
	// a task role gets them, cached across requests.
	var served atomic.Int32
	creds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": "ASIATASK", "SecretAccessKey": "task-secret",
			"Token": "task-token", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	}))
	defer creds.Close()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/creds")
	f := newFake(t, fakes.BedrockOptions{AccessKeyID: "ASIATASK", SecretAccessKey: "task-secret", SessionToken: "task-token"})
	p := newProvider(t, Config{BaseURL: f.Endpoint()})
	call := chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	for range 2 {
		if _, err := p.Chat(context.Background(), call); err != nil {
			t.Fatal(err)
		}
	}
	if n := served.Load(); n != 1 {
		t.Errorf("credentials fetched %d times for two requests", n)
	}
}

func TestProfileCredentialsAreRefreshedEarly(t *testing.T) {
	// A profile's credential_process, whose credentials expire in two minutes:
	// inside the refresh window, so each request fetches new ones rather than
	// signing with credentials that may expire on the way.
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	out := filepath.Join(dir, "creds.json")
	doc := fmt.Sprintf(`{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"proc-secret","SessionToken":"proc-token","Expiration":%q}`,
		time.Now().Add(2*time.Minute).UTC().Format(time.RFC3339))
	if err := os.WriteFile(out, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf("[profile proc]\ncredential_process = sh -c \"echo x >> '%s'; cat '%s'\"\n", count, out)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	f := newFake(t, fakes.BedrockOptions{AccessKeyID: "ASIAPROC", SecretAccessKey: "proc-secret", SessionToken: "proc-token"})
	p := newProvider(t, Config{Profile: "proc", BaseURL: f.Endpoint()})
	call := chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	for range 2 {
		if _, err := p.Chat(context.Background(), call); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 2 {
		t.Errorf("credential_process ran %d times for two requests, want 2", strings.Count(string(b), "x"))
	}
}

func TestCredentialFailuresAreClassified(t *testing.T) {
	// A credentials endpoint that fails: the request fails as a credential
	// problem, before anything is sent; a caller that leaves while credentials
	// are fetched is canceled, not a credential failure.
	block := make(chan struct{})
	creds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slow") != "" {
			<-block
		}
		http.Error(w, "no role", http.StatusInternalServerError)
	}))
	defer creds.Close()
	defer close(block)
	f := newFake(t, fakes.BedrockOptions{})
	call := chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)

	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/creds")
	_, err := newProvider(t, Config{BaseURL: f.Endpoint()}).Chat(context.Background(), call)
	if e := asError(t, err); e.Class != providers.ClassCredential || !strings.Contains(e.Message, "credentials") {
		t.Errorf("failing credentials: %+v", e)
	}

	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/creds?slow=1")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newProvider(t, Config{BaseURL: f.Endpoint()}).Chat(ctx, call)
	if e := asError(t, err); e.Class != providers.ClassTimeout {
		t.Errorf("deadline while fetching credentials: %+v", e)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
}
