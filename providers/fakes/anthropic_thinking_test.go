package fakes_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The official SDK drives a three-turn tool loop with extended thinking, as its
// docs show it: each assistant turn goes back with msg.ToParam(), thinking block
// and signature included. The fake refuses the loop sent back without its
// thinking block or with an altered signature, as Anthropic does.
func TestAnthropicSDKThinkingToolLoop(t *testing.T) {
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 4000,
		Thinking:  anthropic.ThinkingConfigParamOfEnabled(2000),
		Tools: []anthropic.ToolUnionParam{
			anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}}, "search"),
		},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("cats"))},
	}
	// Turn 1 calls the tool (tool_choice any is refused with thinking, so the
	// emulated model is told to), turn 2 answers from its result.
	fake := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "claude"})
	t.Cleanup(fake.Close)
	fake.Respond(func(p *fakes.Prompt) fakes.Reply {
		if last := p.Turns[len(p.Turns)-1]; last.Role == "tool" {
			return fakes.Reply{Content: "found: " + last.Text}
		}
		return fakes.Reply{ToolCalls: []fakes.ToolCall{{ID: "toolu_1", Name: "search", Arguments: `{"query":"cats"}`}}}
	})
	client := anthropic.NewClient(option.WithBaseURL(fake.BaseURL()), option.WithAPIKey("k"), option.WithMaxRetries(0))
	stream := client.Messages.NewStreaming(ctx, params)
	var first anthropic.Message
	for stream.Next() {
		if err := first.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(first.Content) != 2 || first.Content[0].Type != "thinking" || first.Content[0].Signature == "" || first.Content[1].Type != "tool_use" {
		t.Fatalf("turn 1: %+v", first.Content)
	}
	result := anthropic.NewUserMessage(anthropic.NewToolResultBlock(first.Content[1].ID, "a cat", false))

	// Turn 2: the assistant turn as the SDK gives it back.
	params.Messages = append(params.Messages, first.ToParam(), result)
	second, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if second.Content[0].Type != "thinking" || second.Content[len(second.Content)-1].Text != "found: a cat" {
		t.Fatalf("turn 2: %+v", second.Content)
	}

	// Turn 3 continues the conversation: the earlier thinking goes back too.
	params.Messages = append(params.Messages, second.ToParam(), anthropic.NewUserMessage(anthropic.NewTextBlock("thanks")))
	if _, err := client.Messages.New(ctx, params); err != nil {
		t.Fatal(err)
	}

	var apiErr *anthropic.Error
	// The loop sent back without its thinking block.
	stripped := first.ToParam()
	stripped.OfAssistant.Content = stripped.OfAssistant.Content[1:]
	params.Messages = []anthropic.MessageParam{params.Messages[0], stripped, result}
	_, err = client.Messages.New(ctx, params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "must start with a thinking block") {
		t.Fatalf("missing thinking block: %v", err)
	}
	// The loop sent back with its thinking altered.
	altered := first.ToParam()
	altered.OfAssistant.Content[0] = anthropic.NewThinkingBlock(first.Content[0].Signature, first.Content[0].Thinking+" (edited)")
	params.Messages = []anthropic.MessageParam{params.Messages[0], altered, result}
	_, err = client.Messages.New(ctx, params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "Invalid `signature`") {
		t.Fatalf("altered signature: %v", err)
	}
}

// cache_control breakpoints: the first request writes the prefix, the second
// reads it, and input_tokens counts neither, as Anthropic reports them.
func TestAnthropicSDKPromptCache(t *testing.T) {
	client, _ := anthropicClient(t)
	long := strings.Repeat("The contract says many things. ", 200) // ~1500 emulated tokens
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		System:   []anthropic.TextBlockParam{{Text: long, CacheControl: anthropic.NewCacheControlEphemeralParam()}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("clause 4?"))},
	}
	first, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	second, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	w, r := first.Usage, second.Usage
	if w.CacheCreationInputTokens < 1024 || w.CacheReadInputTokens != 0 ||
		r.CacheReadInputTokens != w.CacheCreationInputTokens || r.CacheCreationInputTokens != 0 ||
		w.InputTokens+w.CacheCreationInputTokens != r.InputTokens+r.CacheReadInputTokens {
		t.Fatalf("write %+v then read %+v", w, r)
	}
}
