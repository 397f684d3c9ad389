package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/keyring"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/proxy"
)

// cliServer runs a Switchyard with an admin token and one file key, and returns
// its API and admin base URLs.
func cliServer(t *testing.T) (api, admin string) {
	t.Helper()
	cloud := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "cloud"})
	t.Cleanup(cloud.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	yaml := `drain_delay: 0s
admin_token: adm-cli-token
keys:
  - {name: file-app, key: sk-file-app, team: search}
providers:
  - {name: cloud, type: openai, base_url: "` + cloud.BaseURL() + `"}
pricing:
  - {provider: cloud, model: "*", input: 2, output: 8}
models:
  - {name: gpt-4o, targets: [{provider: cloud, model: m}]}
  - {name: claude-sonnet, targets: [{provider: cloud, model: c}]}
state: {path: "` + filepath.Join(dir, "state.db") + `"}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := proxy.New(proxy.Options{Config: cfg, ConfigPath: path, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	apiL, _ := net.Listen("tcp", "127.0.0.1:0")
	adminL, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, apiL, adminL) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + apiL.Addr().String() + "/v1", "http://" + adminL.Addr().String()
}

// cli runs `switchyard ARGS...` and returns its exit code, stdout and stderr.
func cli(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestKeysCLIAgainstARealServer(t *testing.T) {
	api, admin := cliServer(t)
	t.Setenv(adminURLEnv, admin)

	// Without the token the CLI says where it comes from; with a wrong one the
	// server refuses.
	t.Setenv(adminTokenEnv, "")
	if code, _, stderr := cli("keys", "list"); code != 1 || !strings.Contains(stderr, adminTokenEnv) {
		t.Fatalf("no token: %d %s", code, stderr)
	}
	t.Setenv(adminTokenEnv, "wrong")
	if code, _, stderr := cli("keys", "list"); code != 1 || !strings.Contains(stderr, "401 invalid_admin_token") {
		t.Fatalf("wrong token: %d %s", code, stderr)
	}
	t.Setenv(adminTokenEnv, "adm-cli-token")

	code, stdout, stderr := cli("teams", "create", "growth", "--budget", "10", "--period", "daily", "--rpm", "100")
	if code != 0 || !strings.Contains(stdout, "$10 daily") || !strings.Contains(stdout, "rpm 100") {
		t.Fatalf("teams create: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli("keys", "create", "ci-bot", "--team", "growth", "--models", "claude-*",
		"--rpm", "60", "--budget", "5", "--metadata", "owner=ci", "--metadata", "ticket=OPS-1")
	secret := regexp.MustCompile(`(?m)^key:\s+(sk-sy-\S+)$`).FindStringSubmatch(stdout)
	if code != 0 || secret == nil || !strings.Contains(stderr, "shown this once") || !strings.Contains(stdout, "owner=\"ci\"") {
		t.Fatalf("keys create: %d\n%s%s", code, stdout, stderr)
	}

	// The key works through the SDK, on exactly the models it allows.
	client := openai.NewClient(option.WithBaseURL(api), option.WithAPIKey(secret[1]), option.WithMaxRetries(0))
	models, err := client.Models.List(context.Background())
	if err != nil || len(models.Data) != 1 || models.Data[0].ID != "claude-sonnet" {
		t.Fatalf("models: %+v %v", models, err)
	}
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude-sonnet",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatal(err)
	}

	// list: a table with the file's key, read-only, and the new one by prefix.
	code, stdout, _ = cli("keys", "list")
	if code != 0 || !regexp.MustCompile(`(?m)^file-app\s+config\s+active\s+search\s+-`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^ci-bot\s+runtime\s+active\s+growth\s+sk-sy-\S{6}…\s+claude-\*\s+rpm 60\s+\$5 monthly`).MatchString(stdout) ||
		strings.Contains(stdout, secret[1]) {
		t.Fatalf("keys list: %d\n%s", code, stdout)
	}
	// show: spend and rate-limit usage, and --json is the API's object.
	code, stdout, _ = cli("keys", "show", "ci-bot")
	if code != 0 || !regexp.MustCompile(`spend:\s+\$0\.0\d+ of \$5 \(monthly \d{4}-\d{2}\)`).MatchString(stdout) {
		t.Fatalf("keys show: %d\n%s", code, stdout)
	}
	code, stdout, _ = cli("keys", "show", "ci-bot", "--json")
	var shown keyring.Key
	if code != 0 || json.Unmarshal([]byte(stdout), &shown) != nil || shown.Spend == nil || shown.Spend.USD <= 0 ||
		shown.Team != "growth" || shown.Secret != "" {
		t.Fatalf("keys show --json: %d\n%s", code, stdout)
	}

	// update merges with what is there: --tpm keeps the rpm.
	code, stdout, stderr = cli("keys", "update", "ci-bot", "--tpm", "5000", "--models", "gpt-4o,claude-*")
	if code != 0 || !strings.Contains(stdout, "rpm 60, tpm 5000") || !strings.Contains(stdout, "gpt-4o, claude-*") {
		t.Fatalf("keys update: %d\n%s%s", code, stdout, stderr)
	}
	// A stale --version is refused by the server.
	if code, _, stderr := cli("keys", "update", "ci-bot", "--rpm", "1", "--version", "1"); code != 1 || !strings.Contains(stderr, "version_conflict") {
		t.Fatalf("stale version: %d %s", code, stderr)
	}
	// A file key is read-only, and the error names the file.
	if code, _, stderr := cli("keys", "rotate", "file-app"); code != 1 || !strings.Contains(stderr, "switchyard.yaml") {
		t.Fatalf("rotate a file key: %d %s", code, stderr)
	}

	// rotate: a new secret; with --grace the old one still works.
	code, stdout, _ = cli("keys", "rotate", "ci-bot", "--grace", "1h", "--json")
	var rotated keyring.Key
	if code != 0 || json.Unmarshal([]byte(stdout), &rotated) != nil || rotated.Secret == "" || len(rotated.Retired) != 1 {
		t.Fatalf("keys rotate: %d\n%s", code, stdout)
	}
	for _, key := range []string{secret[1], rotated.Secret} {
		c := openai.NewClient(option.WithBaseURL(api), option.WithAPIKey(key), option.WithMaxRetries(0))
		if _, err := c.Models.List(context.Background()); err != nil {
			t.Fatalf("after rotation with grace: %v", err)
		}
	}

	// revoke: refused from then on; the team can then be deleted.
	if code, stdout, _ := cli("keys", "revoke", "ci-bot"); code != 0 || stdout != "revoked ci-bot\n" {
		t.Fatalf("keys revoke: %d %s", code, stdout)
	}
	c := openai.NewClient(option.WithBaseURL(api), option.WithAPIKey(rotated.Secret), option.WithMaxRetries(0))
	var apiErr *openai.Error
	if _, err := c.Models.List(context.Background()); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("revoked key: %v", err)
	}
	code, stdout, _ = cli("teams", "list")
	if code != 0 || !regexp.MustCompile(`(?m)^growth\s+runtime\s+active\s+rpm 100\s+\$10 daily`).MatchString(stdout) {
		t.Fatalf("teams list: %d\n%s", code, stdout)
	}
	if code, stdout, stderr := cli("teams", "delete", "growth"); code != 0 || stdout != "deleted growth\n" {
		t.Fatalf("teams delete: %d %s %s", code, stdout, stderr)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{{"keys"}, {"keys", "frobnicate"}, {"keys", "show"}, {"keys", "create", "x", "--period", "daily"},
		{"teams", "update", "nope", "extra"}} {
		if code, _, _ := cli(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
