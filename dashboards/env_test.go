package dashboards_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/proxy"
)

// fleet is a proxy in front of emulated clouds, as an operator would run it.
type fleet struct {
	base  string // http://127.0.0.1:PORT/v1
	admin string // 127.0.0.1:PORT, serving /metrics

	azure     *fakes.Azure
	anthropic *fakes.Anthropic
	// openai fakes by provider name: openai, openai-eu (rate limited), vllm (no
	// price), broken (always 500).
	openai map[string]*fakes.OpenAI
}

// Client keys: search has no limits, ads has a budget one or two requests exhaust,
// batch may send 2 requests per minute.
const (
	searchKey = "sk-search"
	adsKey    = "sk-ads"
	batchKey  = "sk-batch"
)

// fleetConfig uses keys[].budget, keys[].limits, models[].cache and pricing: as
// DESIGN.md specifies them. {{name}} is the base URL of the fake of that name.
const fleetConfig = `
drain_delay: 0s
shutdown_grace: 5s
keys:
  - {name: search-app, key: ` + searchKey + `, team: search}
  - {name: ads-app, key: ` + adsKey + `, team: ads, budget: {usd: 0.001, period: daily}}
  - {name: batch-job, key: ` + batchKey + `, team: batch, limits: {rpm: 2, tpm: 1000000}}
providers:
  - {name: azure-eastus, type: azure, base_url: "{{azure}}", api_key: az-key, api_version: "2024-10-21"}
  - {name: anthropic, type: anthropic, base_url: "{{anthropic}}", api_key: sk-ant}
  - {name: openai, type: openai, base_url: "{{openai}}", api_key: sk-openai}
  - {name: openai-eu, type: openai, base_url: "{{openai-eu}}", api_key: sk-openai-eu}
  - {name: vllm, type: openai, base_url: "{{vllm}}"}
  - {name: broken, type: openai, base_url: "{{broken}}"}
models:
  - name: gpt-4o
    targets:
      - {provider: openai-eu, model: gpt-4o}
      - {provider: azure-eastus, model: gpt-4o-prod, priority: 1}
  - name: claude-sonnet
    targets:
      - {provider: anthropic, model: claude-sonnet-4-20250514}
  - name: gpt-4o-mini
    cache: {enabled: true}
    targets:
      - {provider: openai, model: gpt-4o-mini}
  - name: embed
    targets:
      - {provider: openai, model: text-embedding-3-small}
  - name: llama
    targets:
      - {provider: vllm, model: llama-3.1-8b-instruct}
  - name: legacy
    targets:
      - {provider: broken, model: legacy-model}
resilience:
  max_attempts: 3
  breaker: {consecutive_failures: 3, open_timeout: 5m}
  timeouts: {first_byte: 5s, total: 20s}
  retry: {base_delay: 5ms, max_delay: 20ms}
pricing:
  - {provider: openai-eu, model: gpt-4o, input: 2.50, cached_input: 1.25, output: 10.00}
  - {provider: azure-eastus, model: gpt-4o-prod, input: 2.50, cached_input: 1.25, output: 10.00}
  - {provider: anthropic, model: claude-sonnet-4-20250514, input: 3.00, cached_input: 0.30, output: 15.00}
  - {provider: openai, model: gpt-4o-mini, input: 0.15, cached_input: 0.075, output: 0.60}
  - {provider: openai, model: text-embedding-3-small, input: 0.02, output: 0}
`

func startFleet(t *testing.T) *fleet {
	t.Helper()
	f := &fleet{
		azure:     fakes.NewAzure(fakes.AzureOptions{Name: "azure", APIKey: "az-key"}),
		anthropic: fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "sk-ant"}),
		openai:    map[string]*fakes.OpenAI{},
	}
	t.Cleanup(f.azure.Close)
	t.Cleanup(f.anthropic.Close)
	repl := []string{"{{azure}}", f.azure.Endpoint(), "{{anthropic}}", f.anthropic.BaseURL()}
	for _, name := range []string{"openai", "openai-eu", "vllm", "broken"} {
		o := fakes.NewOpenAI(fakes.OpenAIOptions{Name: name})
		t.Cleanup(o.Close)
		f.openai[name] = o
		repl = append(repl, "{{"+name+"}}", o.BaseURL())
	}
	// Streams take a little time per token, as real ones do.
	f.azure.SetChunkDelay(2 * time.Millisecond)
	f.anthropic.SetChunkDelay(2 * time.Millisecond)

	// Each run starts from an empty store of its own, not from what an earlier run spent.
	yaml := strings.NewReplacer(repl...).Replace(fleetConfig) +
		fmt.Sprintf("state: {path: %q}\n", filepath.Join(t.TempDir(), "state.db"))
	cfg, err := config.Parse([]byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	// Budget periods and rate-limit windows run on a stopped clock: the ads key stays
	// over its daily budget and the batch key over its rpm for the whole test, even
	// across midnight or the turn of a minute.
	noon := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	srv, err := proxy.New(proxy.Options{Config: cfg, Version: "dashboards-test", Clock: func() time.Time { return noon }})
	if err != nil {
		t.Fatal(err)
	}
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.base = "http://" + api.Addr().String() + "/v1"
	f.admin = admin.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, api, admin) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("proxy stopped with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop")
		}
	})
	return f
}

// client is an official SDK client with a Switchyard key, as an application has.
func (f *fleet) client(key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(f.base), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// metrics is the admin /metrics page as Prometheus scrapes it.
func (f *fleet) metrics(t *testing.T) []byte {
	t.Helper()
	resp, err := http.Get("http://" + f.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return b
}
