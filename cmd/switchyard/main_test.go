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
		"embeddings", "azure-eastus goes down", "azure-eastus is back", "client-visible errors: 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
