package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/proxy"
)

// env is a running proxy in front of emulated clouds, driven as a user would drive it.
type env struct {
	t      *testing.T
	srv    *proxy.Server
	base   string // http://127.0.0.1:PORT/v1
	admin  string // http://127.0.0.1:PORT
	openai *fakes.OpenAI
	azure  *fakes.Azure
	// clouds are extra OpenAI-compatible fakes by name; {{NAME}} in the YAML is the
	// base URL of clouds[NAME].
	clouds map[string]*fakes.OpenAI
	// configPath is the configuration file, rewritten by reload tests.
	configPath string
	repl       *strings.Replacer
	logs       *observer.ObservedLogs
	stop       context.CancelFunc
	done       chan error

	stopOnce sync.Once
	stopErr  error
}

const clientKey = "sk-client-abc"

// baseConfig has one alias over Azure and OpenAI. {{OPENAI}} and {{AZURE}} are the
// fakes' URLs.
const baseConfig = `
drain_delay: 0s
shutdown_grace: 10s
keys:
  - {name: app, key: ` + clientKey + `, team: search}
  - {name: limited, key: sk-limited, team: other, models: ["claude-*"]}
providers:
  - {name: azure-eastus, type: azure, base_url: "{{AZURE}}", api_key: az-upstream-key, api_version: "2024-10-21"}
  - {name: openai, type: openai, base_url: "{{OPENAI}}", api_key: sk-upstream-openai}
models:
  - name: gpt-4o
    targets:
      - {provider: openai, model: gpt-4o-2024}
  - name: gpt-4o-azure
    targets:
      - {provider: azure-eastus, model: gpt-4o-prod}
  - name: claude-sonnet
    targets:
      - {provider: openai, model: claude-via-openai}
  - name: embed
    targets:
      - {provider: openai, model: text-embedding-3-small}
resilience:
  timeouts: {first_byte: 10s, total: 60s}
`

func newEnv(t *testing.T, yaml string, clouds ...string) *env {
	t.Helper()
	return newEnvWith(t, yaml, nil, clouds...)
}

// newEnvWith lets a test adjust the proxy's options (a span exporter).
func newEnvWith(t *testing.T, yaml string, adjust func(*proxy.Options), clouds ...string) *env {
	t.Helper()
	e := &env{t: t,
		openai: fakes.NewOpenAI(fakes.OpenAIOptions{Name: "openai", APIKey: "sk-upstream-openai"}),
		azure:  fakes.NewAzure(fakes.AzureOptions{Name: "azure", APIKey: "az-upstream-key"}),
		clouds: map[string]*fakes.OpenAI{},
	}
	t.Cleanup(e.openai.Close)
	t.Cleanup(e.azure.Close)
	repl := []string{"{{OPENAI}}", e.openai.BaseURL(), "{{AZURE}}", e.azure.Endpoint()}
	for _, name := range clouds {
		f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: name})
		t.Cleanup(f.Close)
		e.clouds[name] = f
		repl = append(repl, "{{"+name+"}}", f.BaseURL())
	}
	e.repl = strings.NewReplacer(append(repl, "{{STATE}}", filepath.Join(t.TempDir(), "state.db"))...)
	e.configPath = filepath.Join(t.TempDir(), "switchyard.yaml")
	e.writeConfig(yaml)
	cfg, err := config.Load(e.configPath)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e.logs = logs
	opts := proxy.Options{Config: cfg, Logger: zap.New(core), Version: "test", ConfigPath: e.configPath,
		Load: func() (*config.Config, error) { return config.Load(e.configPath) }}
	if adjust != nil {
		adjust(&opts)
	}
	srv, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	api, _ := net.Listen("tcp", "127.0.0.1:0")
	admin, _ := net.Listen("tcp", "127.0.0.1:0")
	e.base = "http://" + api.Addr().String() + "/v1"
	e.admin = "http://" + admin.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- srv.Serve(ctx, api, admin) }()
	t.Cleanup(func() { e.shutdown() })
	return e
}

// writeConfig fills in the fakes' URLs and writes the configuration file; without a
// state section, state goes to the test's temporary directory.
func (e *env) writeConfig(yaml string) {
	e.t.Helper()
	yaml = e.repl.Replace(yaml)
	if !strings.Contains(yaml, "\nstate:") {
		yaml += "\n" + e.repl.Replace("state: {path: {{STATE}}}") + "\n"
	}
	if err := os.WriteFile(e.configPath, []byte(yaml), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// shutdown stops the proxy (as SIGTERM would) and returns Serve's error.
func (e *env) shutdown() error {
	e.stopOnce.Do(func() {
		e.stop()
		select {
		case e.stopErr = <-e.done:
		case <-time.After(30 * time.Second):
			e.t.Error("proxy did not stop")
		}
	})
	return e.stopErr
}

// client is an official SDK client pointed at the proxy, as a user would configure it.
func (e *env) client(key string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(e.base), option.WithAPIKey(key),
		option.WithMaxRetries(0)}, opts...)...)
}

// post sends a raw request and returns the response with its body read.
func (e *env) post(path, key string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		b, _ = json.Marshal(v)
	}
	req, _ := http.NewRequest(http.MethodPost, e.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// eventually waits until cond holds. The watchdog tells what never happens from a
// slow machine: it is a minute, far beyond any step of these tests, and times nothing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for watchdog := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(watchdog) {
			t.Fatalf("%s: not after a minute", what)
		}
	}
}

func userMsg(s string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(s)}
}

// errorCode decodes an OpenAI-shaped error body.
func errorCode(t *testing.T, body []byte) (typ, code, msg string) {
	t.Helper()
	var doc struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	if doc.Error.Code != nil {
		code = *doc.Error.Code
	}
	return doc.Error.Type, code, doc.Error.Message
}

// watch reloads the proxy when its configuration file changes, as serve does.
func (e *env) watch() error {
	return config.Watch(e.configPath, func() { _ = e.srv.Reload() })
}
