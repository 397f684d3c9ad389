package fakes_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The official Go SDK (v2, API version 2026-10-21, Bearer auth) is the judge of the
// emulator's wire format: if it can create messages, stream tool use and read
// errors from the fake, the fake speaks Anthropic.

func anthropicClient(t *testing.T) (anthropic.Client, *fakes.Anthropic) {
	t.Helper()
	fake := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "claude", APIKey: "sk-ant-sdk"})
	t.Cleanup(fake.Close)
	client := anthropic.NewClient(option.WithBaseURL(fake.BaseURL()), option.WithAPIKey("sk-ant-sdk"), option.WithMaxRetries(0))
	return client, fake
}

func TestAnthropicSDKMessagesNew(t *testing.T) {
	client, fake := anthropicClient(t)
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 64,
		System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "claude heard: Hello" || msg.StopReason != anthropic.StopReasonEndTurn ||
		msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens != 3 || msg.Model != "claude-sonnet-4-5" {
		t.Fatalf("message %+v", msg)
	}
	if v := fake.Requests()[0].Header.Get("Anthropic-Version"); v == "" {
		t.Fatal("the SDK sent no anthropic-version")
	}
}

func TestAnthropicSDKStreamingToolUse(t *testing.T) {
	client, _ := anthropicClient(t)
	tools := []anthropic.ToolUnionParam{
		anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}}, "search"),
		anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{}, "clock"),
	}
	params := anthropic.MessageNewParams{
		Model:      "claude-sonnet-4-5",
		MaxTokens:  128,
		Tools:      tools,
		ToolChoice: anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}},
		Messages:   []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("cats"))},
	}
	stream := client.Messages.NewStreaming(context.Background(), params)
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 2 {
		t.Fatalf("message %+v", msg)
	}
	first := msg.Content[0].AsToolUse()
	if first.Name != "search" || string(first.Input) != `{"query":"cats"}` {
		t.Fatalf("tool use %+v input %s", first, first.Input)
	}
	// Answer both calls; the fake checks the ids as the API does.
	var results []anthropic.ContentBlockParamUnion
	for _, b := range msg.Content {
		results = append(results, anthropic.NewToolResultBlock(b.AsToolUse().ID, "done:"+b.AsToolUse().Name, false))
	}
	params.ToolChoice = anthropic.ToolChoiceUnionParam{}
	params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(results...))
	reply, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Content[0].Text != "Tool results: done:search; done:clock" {
		t.Fatalf("reply %+v", reply.Content)
	}
}

func TestAnthropicSDKErrors(t *testing.T) {
	client, fake := anthropicClient(t)
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}

	fake.Fail(fakes.Fault{Status: 529, Times: 1})
	_, err := client.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" || apiErr.RequestID == "" {
		t.Fatalf("overloaded: %v", err)
	}

	fake.Fail(fakes.Fault{Status: 529, CutAfter: 3, Times: 1})
	stream := client.Messages.NewStreaming(context.Background(), params)
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !errors.As(err, &apiErr) || apiErr.Type() != "overloaded_error" {
		t.Fatalf("overloaded mid-stream: %v", err)
	}

	bad := anthropic.NewClient(option.WithBaseURL(fake.BaseURL()), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
	_, err = bad.Messages.New(context.Background(), params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Type() != "authentication_error" {
		t.Fatalf("bad key: %v", err)
	}
}
