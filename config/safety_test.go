package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Secrets lists every credential the configuration holds, wherever it is written.
func TestSecretsListsEveryCredential(t *testing.T) {
	cfg, err := Parse([]byte(`
admin_token: adm-tok
keys:
  - {name: a, key: client-key-1}
providers:
  - {name: o, type: openai, api_key: prov-key, base_url: "https://u:url-pw@host/v1?api_key=q-key",
     headers: {Authorization: "Bearer hdr-token", X-Team: search}}
  - {name: b, type: bedrock, region: us-east-1, aws_access_key_id: AKID, aws_secret_access_key: aws-secret,
     aws_session_token: aws-session}
models:
  - {name: m, targets: [{provider: o, model: x}]}
state: {driver: redis, url: "rediss-sentinel://s1/m?sentinel_password=sent-pw&password=redis-pw"}
tracing: {enabled: true, endpoint: "http://otel:trace-pw@collector:4318/v1/traces"}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Secrets()
	for _, want := range []string{"adm-tok", "client-key-1", "prov-key", "url-pw", "q-key", "Bearer hdr-token", "hdr-token",
		"AKID", "aws-secret", "aws-session", "sent-pw", "redis-pw", "trace-pw"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets lacks %q: %q", want, got)
		}
	}
	if slices.Contains(got, "search") || slices.Contains(got, "") {
		t.Errorf("Secrets holds what is no secret: %q", got)
	}
	if own := cfg.Providers[0].Secrets(); !slices.Contains(own, "prov-key") || slices.Contains(own, "aws-secret") {
		t.Errorf("a provider's own secrets: %q", own)
	}
}

func TestOpenAccess(t *testing.T) {
	withKeys, err := Parse([]byte(minimal+"keys: [{name: a, key: k1}]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	keyless, err := Parse([]byte(minimal), noEnv)
	if err != nil {
		t.Fatal(err) // starting without keys stays allowed
	}
	if keyless.OpenAccess {
		t.Error("open_access defaults to true")
	}
	if err := keyless.CheckReload(withKeys, false); err == nil || !strings.Contains(err.Error(), "open_access: true") {
		t.Errorf("reload to a file without keys: %v", err)
	}
	open, err := Parse([]byte(minimal+"open_access: true\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := open.CheckReload(withKeys, false); err != nil {
		t.Errorf("reload to open_access: true: %v", err)
	}
	if err := withKeys.CheckReload(open, false); err != nil {
		t.Errorf("reload back to keys: %v", err)
	}
	if err := keyless.CheckReload(withKeys, true); err != nil {
		t.Errorf("reload to a file without keys while runtime keys exist (the API stays closed): %v", err)
	}
	moved := *withKeys
	moved.State.Path = "/elsewhere.db"
	if err := moved.CheckReload(withKeys, false); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Errorf("state change: %v", err)
	}
	_, err = Parse([]byte(minimal+"open_access: true\nkeys: [{name: a, key: k1}]\n"), noEnv)
	if ps := problemsOf(t, err); !slices.ContainsFunc(ps, func(p string) bool { return strings.HasPrefix(p, "open_access: ") }) {
		t.Errorf("open_access with keys: %v", ps)
	}
}

// A file with nothing in it is a clear problem list, never a panic nor an OK.
func TestEmptyFileIsRefused(t *testing.T) {
	for _, doc := range []string{"", "\n\n", "# only a comment\n", "---\n", "null\n", "log: {level: info}\n", "providers: []\nmodels: []\n"} {
		_, err := Parse([]byte(doc), noEnv)
		if err == nil {
			t.Errorf("%q validated", doc)
			continue
		}
		var cerr *Error
		if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
			t.Errorf("%q: %v is not a problem list", doc, err)
		}
	}
}
