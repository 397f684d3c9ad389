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
listen: %s
admin_listen: %s
drain_delay: 0s
shutdown_grace: 5s
keys:
  - {name: demo, key: ` + demoKey + `, team: demo}
providers:
  - {name: azure-eastus, type: azure, base_url: %s, api_key: demo-azure-key, api_version: "2024-10-21", region: eastus}
  - {name: openai, type: openai, base_url: %s, api_key: demo-openai-key}
models:
  - name: gpt-4o
    targets:
      - {provider: azure-eastus, model: gpt-4o-prod, weight: 3}
      - {provider: openai, model: gpt-4o, weight: 1}
  - name: text-embedding-3-small
    targets:
      - {provider: openai, model: text-embedding-3-small}
resilience:
  breaker: {consecutive_failures: 3, open_timeout: 5s}
  timeouts: {first_byte: 5s, total: 30s}
log: {level: %s, format: console}
`

type demoClouds struct {
	azure  *fakes.Azure
	openai *fakes.OpenAI
}

func (c *demoClouds) Close() {
	c.azure.Close()
	c.openai.Close()
}

func demo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "API address")
	adminListen := fs.String("admin-listen", "127.0.0.1:9090", "admin address")
	exit := fs.Bool("exit", false, "exit after the sample requests instead of serving until Ctrl-C")
	verbose := fs.Bool("verbose", false, "show the access log")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	clouds := &demoClouds{
		azure:  fakes.NewAzure(fakes.AzureOptions{Name: "azure-eastus", APIKey: "demo-azure-key"}),
		openai: fakes.NewOpenAI(fakes.OpenAIOptions{Name: "openai", APIKey: "demo-openai-key"}),
	}
	defer clouds.Close()
	clouds.azure.SetChunkDelay(20 * time.Millisecond)
	clouds.openai.SetChunkDelay(20 * time.Millisecond)

	level := "warn"
	if *verbose {
		level = "info"
	}
	text := fmt.Sprintf(demoConfig, *listen, *adminListen, clouds.azure.Endpoint(), clouds.openai.BaseURL(), level)
	cfg, err := config.Parse([]byte(text), os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "demo config: %v\n", err)
		return 1
	}
	log, err := telemetry.NewLogger(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
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
	fmt.Fprintf(stdout, "Switchyard demo: emulated Azure OpenAI and OpenAI on loopback, the proxy on %s\n\n", base)
	if err := runSamples(stdout, base); err != nil {
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

  curl http://%s/admin/targets      # breakers, cooldowns, latencies
  curl http://%s/metrics            # Prometheus metrics

Ctrl-C to stop.
`, base, demoKey, admin.Addr(), admin.Addr())
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
		{"chat", "/chat/completions", chatBody("What is Switchyard?", false), false},
		{"chat", "/chat/completions", chatBody("And how does failover work?", false), false},
		{"chat", "/chat/completions", chatBody("Tell me about weights.", false), false},
		{"chat (stream)", "/chat/completions", chatBody("Stream me a sentence, please.", true), true},
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

func chatBody(prompt string, stream bool) map[string]any {
	return map[string]any{"model": "gpt-4o", "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": prompt}}}
}

func post(client *http.Client, url string, body map[string]any, stream bool) (*http.Response, string, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+demoKey)
	req.Header.Set("Content-Type", "application/json")
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
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, "", err
	}
	switch {
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
