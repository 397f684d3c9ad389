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
