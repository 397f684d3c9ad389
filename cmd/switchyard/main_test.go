package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "--config", "../../config.example.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("example: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "OK") {
		t.Errorf("stdout %q", out.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`
providers:
  - {name: azure-east, type: azure, base_url: "https://x.openai.azure.com", api_key: k, api_version: "2024-10-21"}
models:
  - {name: a, targets: [{provider: azure-east, model: m}]}
  - {name: b, targets: [{provider: azure-west, model: m, wieght: 2}]}
`), 0o600)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"validate", "--config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("bad config: exit %d", code)
	}
	for _, want := range []string{`models[1].targets[0].provider: unknown provider "azure-west"`, "models[1].targets[0].wieght: unknown key"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("missing %q in:\n%s", want, errOut.String())
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if run([]string{"version"}, &out, &errOut) != 0 || !strings.HasPrefix(out.String(), "switchyard ") {
		t.Errorf("version: %q", out.String())
	}
	if run([]string{"frobnicate"}, &out, &errOut) != 2 {
		t.Error("unknown command accepted")
	}
}

// TestDemo runs the embedded default end to end: emulated clouds, the proxy, the
// sample requests, and a clean exit.
func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "--exit", "--outage", "4s", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"SERVED BY", "azure-eastus", "gpt-4o (stream)", "anthropic heard", "gemini heard",
		"claude (Anthropic SDK)  bedrock-use1", "bedrock-use1 heard: Hello from an Anthropic SDK!",
		"anthropic: I remember \"my name is Ada; my project is a gateway\"",
		"embeddings", "azure-eastus goes down", "azure-eastus is back", "client-visible errors: 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRouteExplainsWithoutSending(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgPath, []byte(`
keys:
  - {name: app, key: k1, team: search}
  - {name: batch, key: k2, team: data, models: ["gpt-*"]}
providers:
  - {name: us, type: openai, base_url: "http://127.0.0.1:1/v1", region: eastus}
  - {name: eu, type: openai, base_url: "http://127.0.0.1:2/v1", region: westeurope}
pricing:
  - {provider: us, model: "*", input: 1, output: 2}
models:
  - name: gpt-4o
    strategy: cheapest
    targets:
      - {provider: us, model: m}
      - {provider: eu, model: m}
  - name: claude
    targets: [{provider: us, model: c}]
policies:
  - name: residency
    match: {tags: [pii]}
    action: {regions: [westeurope]}
  - name: no-images
    match: {key: [batch], images: true}
    action: {deny: "no images for batch"}
`), 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"route", "--config", cfgPath, "--model", "gpt-4o", "--key", "app", "--tags", "pii"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"residency  MATCHED", "regions limited to [westeurope]",
		"us/m", "region eastus not allowed by rules residency", "eu/m", "unknown"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("route output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	run([]string{"route", "--config", cfgPath, "--model", "gpt-4o", "--key", "batch", "--images"}, &out, &errOut)
	if !strings.Contains(out.String(), `Refused by rule "no-images": no images for batch`) {
		t.Errorf("deny not explained:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"route", "--config", cfgPath, "--model", "claude", "--key", "batch"}, &out, &errOut); code != 1 ||
		!strings.Contains(out.String(), "may not use model") {
		t.Errorf("allowlist not explained (exit %d):\n%s", code, out.String())
	}
}

// An empty file fails validation with a problem that says so.
func TestValidateEmptyFile(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "--config", empty}, &out, &errOut); code != 1 {
		t.Fatalf("empty file: exit %d, stdout %q", code, out.String())
	}
	if !strings.Contains(errOut.String(), "the file is empty") || !strings.Contains(errOut.String(), "1 problem(s)") {
		t.Errorf("stderr %q", errOut.String())
	}
}

// validate never prints the passwords of the file's URLs: a URL it complains about is
// shown masked, and the others are not shown at all.
func TestValidateMasksURLPasswords(t *testing.T) {
	const secret = "pw-s3cret-9"
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte(`
providers:
  - {name: o, type: openai, api_key: k, base_url: "http://svc:`+secret+`@bad host/v1"}
  - {name: p, type: openai, api_key: k, base_url: "https://svc:`+secret+`@fine.example/v1"}
models:
  - {name: m, targets: [{provider: o, model: x}]}
state: {driver: redis, url: "memcached://:`+secret+`@cache:11211"}
tracing: {enabled: true, endpoint: "http://otel:`+secret+`@/v1/traces"}
`), 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "--config", file}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d", code)
	}
	got := errOut.String()
	for _, want := range []string{`providers[0].base_url: invalid URL "http://svc:xxxxx@bad host/v1"`, "state.url:", "tracing.endpoint:"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got+out.String(), secret) {
		t.Errorf("a password was printed:\n%s", got)
	}
}

// validate reads state.url with the parser the store uses: every form it accepts
// validates, and a malformed one is a problem that never shows its password.
func TestValidateStateURL(t *testing.T) {
	base := "providers: [{name: o, type: openai, api_key: k}]\nmodels: [{name: m, targets: [{provider: o, model: x}]}]\n"
	for url, ok := range map[string]bool{
		"redis://:pw@cache:6379/0":                                    true,
		"rediss-sentinel://:pw@s1:26379,s2:26379/mymaster?db=1":       true,
		"rediss-cluster://:pw@c1:7000,c2:7001,c3:7002?read_only=true": true,
		"redis-sentinel://:hunter2-pw@s1:26379/mymaster?bogus=1":      false,
		"redis-cluster://:hunter2-pw@c1:7000/3":                       false,
	} {
		file := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(file, []byte(base+"state: {driver: redis, url: \""+url+"\"}\n"), 0o600)
		var out, errOut bytes.Buffer
		code := run([]string{"validate", "--config", file}, &out, &errOut)
		if (code == 0) != ok {
			t.Errorf("%s: exit %d: %s", url, code, errOut.String())
		}
		if !ok && (!strings.Contains(errOut.String(), "state.url: ") || strings.Contains(errOut.String(), "hunter2")) {
			t.Errorf("%s: %s", url, errOut.String())
		}
	}
}
