package proxy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The Anthropic dialect through the server: the official SDK against one alias
// served natively by Anthropic and another translated to an OpenAI-compatible
// target. (The conformance suite covers every backend and scenario.)
func TestAnthropicDialectSmoke(t *testing.T) {
	ant := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "sk-ant-upstream"})
	t.Cleanup(ant.Close)
	yaml := `
drain_delay: 0s
keys:
  - {name: app, key: ` + clientKey + `, team: search}
providers:
  - {name: openai, type: openai, base_url: "{{OPENAI}}", api_key: sk-upstream-openai}
  - {name: anthropic, type: anthropic, base_url: "` + ant.BaseURL() + `", api_key: sk-ant-upstream}
models:
  - name: claude
    targets: [{provider: anthropic, model: claude-sonnet-4-5}]
  - name: gpt
    targets: [{provider: openai, model: gpt-4o-2024}]
resilience:
  timeouts: {first_byte: 20s, total: 60s}
`
	e := newEnv(t, yaml)
	root := strings.TrimSuffix(e.base, "/v1")
	client := anthropic.NewClient(aoption.WithBaseURL(root), aoption.WithAPIKey(clientKey), aoption.WithMaxRetries(0))
	ctx := context.Background()
	for _, model := range []string{"claude", "gpt"} {
		msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))}})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "hello there") || msg.StopReason != "end_turn" {
			t.Errorf("%s: %+v", model, msg)
		}
		stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream please"))}})
		var acc anthropic.Message
		for stream.Next() {
			if err := acc.Accumulate(stream.Current()); err != nil {
				t.Fatalf("%s: accumulate: %v", model, err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("%s stream: %v", model, err)
		}
		if len(acc.Content) == 0 || !strings.Contains(acc.Content[0].Text, "stream please") || acc.Usage.OutputTokens == 0 {
			t.Errorf("%s stream: %+v", model, acc)
		}
		n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: anthropic.Model(model),
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))}})
		if err != nil || n.InputTokens <= 0 {
			t.Errorf("%s count_tokens: %v %+v", model, err, n)
		}
	}
	_, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "nope", MaxTokens: 5,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}})
	var apiErr *anthropic.Error
	if err == nil || !asAnthropic(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("unknown model: %v", err)
	}
	page, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil || len(page.Data) != 2 {
		t.Errorf("models: %v %+v", err, page)
	}
	for _, rec := range ant.Requests() {
		if rec.Header.Get("X-Api-Key") != "sk-ant-upstream" {
			t.Errorf("upstream key: %q", rec.Header.Get("X-Api-Key"))
		}
	}
}

func asAnthropic(err error, target **anthropic.Error) bool {
	e, ok := err.(*anthropic.Error)
	if ok {
		*target = e
	}
	return ok
}
