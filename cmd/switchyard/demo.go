package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/proxy"
	"github.com/switchyard/switchyard/telemetry"
)

const demoKey = "sk-switchyard-demo"

// demoConfig is the embedded default: two emulated clouds behind one alias.
const demoConfig = `
listen: "{{listen}}"
admin_listen: "{{admin}}"
drain_delay: 0s
state: {path: "{{state}}"}
shutdown_grace: 5s
keys:
  - {name: demo, key: ` + demoKey + `, team: demo}
providers:
  - {name: azure-eastus, type: azure, base_url: "{{azure}}", api_key: demo-azure-key, api_version: "2024-10-21", region: eastus}
  - {name: openai, type: openai, base_url: "{{openai}}", api_key: demo-openai-key}
  - {name: bedrock-use1, type: bedrock, region: us-east-1, base_url: "{{bedrock}}",
     aws_access_key_id: AKIDSWITCHYARDDEMO, aws_secret_access_key: demo-aws-secret}
  - {name: anthropic, type: anthropic, base_url: "{{anthropic}}", api_key: demo-anthropic-key}
  - {name: gemini, type: gemini, base_url: "{{gemini}}", api_key: demo-gemini-key}
models:
  - name: gpt-4o
    targets:
      - {provider: azure-eastus, model: gpt-4o-prod, weight: 3}
      - {provider: openai, model: gpt-4o, weight: 1}
      - {provider: bedrock-use1, model: us.anthropic.claude-sonnet-4-20250514-v1:0, priority: 1}
  - name: claude-sonnet
    targets:
      - {provider: anthropic, model: claude-sonnet-4-20250514}
      - {provider: bedrock-use1, model: us.anthropic.claude-sonnet-4-20250514-v1:0, priority: 1}
  - name: claude                  # Anthropic SDK and Claude Code clients: native on Bedrock and Anthropic
    targets:
      - {provider: bedrock-use1, model: us.anthropic.claude-sonnet-4-20250514-v1:0}
      - {provider: anthropic, model: claude-sonnet-4-20250514, priority: 1}
      - {provider: openai, model: gpt-4o, priority: 2}            # translated
  - name: gemini-flash
    targets:
      - {provider: gemini, model: gemini-2.5-flash}
  - name: text-embedding-3-small
    targets:
      - {provider: openai, model: text-embedding-3-small}
  - name: agent
    targets:
      - {provider: azure-eastus, model: gpt-4o-prod}
      - {provider: bedrock-use1, model: us.anthropic.claude-sonnet-4-20250514-v1:0, priority: 1}
      - {provider: anthropic, model: claude-sonnet-4-20250514, priority: 2}
resilience:
  breaker: {consecutive_failures: 3, open_timeout: 2s}
  timeouts: {first_byte: 5s, total: 30s}
log: {level: {{level}}, format: console}
`

// demoClouds are the emulated clouds of the demo, one per wire format.
type demoClouds struct {
	azure     *fakes.Azure
	openai    *fakes.OpenAI
	bedrock   *fakes.Bedrock
	anthropic *fakes.Anthropic
	gemini    *fakes.Gemini
}

func startClouds() *demoClouds {
	c := &demoClouds{
		azure:  fakes.NewAzure(fakes.AzureOptions{Name: "azure-eastus", APIKey: "demo-azure-key"}),
		openai: fakes.NewOpenAI(fakes.OpenAIOptions{Name: "openai", APIKey: "demo-openai-key"}),
		bedrock: fakes.NewBedrock(fakes.BedrockOptions{Name: "bedrock-use1", Region: "us-east-1",
			AccessKeyID: "AKIDSWITCHYARDDEMO", SecretAccessKey: "demo-aws-secret"}),
		anthropic: fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "demo-anthropic-key"}),
		gemini:    fakes.NewGemini(fakes.GeminiOptions{Name: "gemini", APIKey: "demo-gemini-key"}),
	}
	// Streams arrive token by token, as from a real model.
	for _, b := range []*fakes.Backend{c.azure.Backend, c.openai.Backend, c.bedrock.Backend, c.anthropic.Backend, c.gemini.Backend} {
		b.SetChunkDelay(20 * time.Millisecond)
	}
	return c
}

func (c *demoClouds) Close() {
	c.azure.Close()
	c.openai.Close()
	c.bedrock.Close()
	c.anthropic.Close()
	c.gemini.Close()
}

func (c *demoClouds) config(listen, admin, level, stateDir string) string {
	return strings.NewReplacer("{{listen}}", listen, "{{admin}}", admin, "{{level}}", level,
		"{{state}}", filepath.Join(stateDir, "switchyard.db"),
		"{{azure}}", c.azure.Endpoint(), "{{openai}}", c.openai.BaseURL(), "{{bedrock}}", c.bedrock.Endpoint(),
		"{{anthropic}}", c.anthropic.BaseURL(), "{{gemini}}", c.gemini.BaseURL()).Replace(demoConfig)
}

func demo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "API address")
	adminListen := fs.String("admin-listen", "127.0.0.1:9090", "admin address")
	exit := fs.Bool("exit", false, "exit after the sample requests instead of serving until Ctrl-C")
	verbose := fs.Bool("verbose", false, "show the access log")
	scene := fs.Duration("outage", 9*time.Second, "length of the outage scene (0 skips it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	clouds := startClouds()
	defer clouds.Close()

	level := "warn"
	if *verbose {
		level = "info"
	}
	// The demo's state (budgets, conversations) lives in a temporary directory.
	stateDir, err := os.MkdirTemp("", "switchyard-demo-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(stateDir)
	cfg, err := config.Parse([]byte(clouds.config(*listen, *adminListen, level, stateDir)), os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "demo config: %v\n", err)
		return 1
	}
	log, stopLog, err := telemetry.NewLogger(cfg.Log.Level, cfg.Log.Format, cfg.Log.FlushInterval)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer stopLog()
	srv, err := proxy.New(proxy.Options{Config: cfg, Logger: log, Version: version()})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	api, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v (is something else on %s? try --listen 127.0.0.1:0)\n", err, cfg.Listen)
		return 1
	}
	admin, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		api.Close()
		fmt.Fprintf(stderr, "demo: %v (try --admin-listen 127.0.0.1:0)\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, api, admin) }()

	base := "http://" + api.Addr().String() + "/v1"
	fmt.Fprintf(stdout, "Switchyard demo: emulated Azure OpenAI, OpenAI, AWS Bedrock, Anthropic and Gemini on loopback;\nthe proxy on %s\n\n", base)
	err = runSamples(stdout, base)
	if err == nil {
		err = runAgent(stdout, base, clouds)
	}
	if err == nil && *scene > 0 {
		err = runOutage(stdout, base, "http://"+admin.Addr().String(), clouds, *scene)
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		stop()
		<-done
		return 1
	}
	if *exit {
		stop()
		<-done
		return 0
	}
	fmt.Fprintf(stdout, `
The proxy keeps serving. Try it:

  curl %s/chat/completions -H "Authorization: Bearer %s" \
    -H "Content-Type: application/json" \
    -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}' -i

  ANTHROPIC_BASE_URL=http://%s ANTHROPIC_AUTH_TOKEN=%s claude   # Claude Code, model: claude

  curl http://%s/admin/targets      # breakers, cooldowns, latencies
  curl http://%s/metrics            # Prometheus metrics

Ctrl-C to stop.
`, base, demoKey, api.Addr(), demoKey, admin.Addr(), admin.Addr())
	if err := <-done; err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// runSamples sends a few requests through the proxy as any client would, and prints
// who served each and how long it took.
func runSamples(stdout io.Writer, base string) error {
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tREQUEST\tSERVED BY\tUPSTREAM MODEL\tATTEMPTS\tLATENCY\tREPLY")
	samples := []struct {
		name, path string
		body       map[string]any
		stream     bool
	}{
		{"claude (Anthropic SDK)", "/messages", messagesBody("claude", "Hello from an Anthropic SDK!"), false},
		{"gpt-4o", "/chat/completions", chatBody("gpt-4o", "What is Switchyard?", false), false},
		{"gpt-4o", "/chat/completions", chatBody("gpt-4o", "And how does failover work?", false), false},
		{"gpt-4o (stream)", "/chat/completions", chatBody("gpt-4o", "Stream me a sentence, please.", true), true},
		{"claude-sonnet", "/chat/completions", chatBody("claude-sonnet", "Hello from an OpenAI SDK!", false), false},
		{"claude-sonnet (stream)", "/chat/completions", chatBody("claude-sonnet", "Translated stream, please.", true), true},
		{"gemini-flash (stream)", "/chat/completions", chatBody("gemini-flash", "Gemini, stream this.", true), true},
		{"embeddings", "/embeddings", map[string]any{"model": "text-embedding-3-small", "input": "hello"}, false},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for i, s := range samples {
		start := time.Now()
		resp, reply, err := post(client, base+s.path, s.body, s.stream)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, s.name, resp.Header.Get("X-Switchyard-Provider"),
			resp.Header.Get("X-Switchyard-Model"), resp.Header.Get("X-Switchyard-Attempts"),
			time.Since(start).Round(time.Millisecond), reply)
	}
	return tw.Flush()
}

// messagesBody is an Anthropic Messages request, as the Anthropic SDKs and Claude
// Code send one.
func messagesBody(model, prompt string) map[string]any {
	return map[string]any{"model": model, "max_tokens": 256,
		"system":   []any{map[string]any{"type": "text", "text": "Be brief.", "cache_control": map[string]any{"type": "ephemeral"}}},
		"messages": []any{map[string]any{"role": "user", "content": prompt}}}
}

func chatBody(model, prompt string, stream bool) map[string]any {
	return map[string]any{"model": model, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": prompt}}}
}

func post(client *http.Client, url string, body map[string]any, stream bool) (*http.Response, string, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if strings.HasSuffix(url, "/messages") {
		// The Anthropic SDKs' headers: the key as x-api-key, the API version.
		req.Header.Set("X-Api-Key", demoKey)
		req.Header.Set("Anthropic-Version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer "+demoKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return nil, "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	if stream {
		return resp, readStreamText(resp.Body), nil
	}
	var doc struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Content []struct { // an Anthropic message
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, "", err
	}
	switch {
	case len(doc.Content) > 0:
		return resp, doc.Content[0].Text, nil
	case len(doc.Choices) > 0:
		return resp, doc.Choices[0].Message.Content, nil
	case len(doc.Data) > 0:
		return resp, fmt.Sprintf("vector of %d dimensions", len(doc.Data[0].Embedding)), nil
	}
	return resp, "", nil
}

func readStreamText(r io.Reader) string {
	var text strings.Builder
	chunks := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			text.WriteString(c.Choices[0].Delta.Content)
			chunks++
		}
	}
	return fmt.Sprintf("%s [%d chunks]", text.String(), chunks)
}
