package fakes_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The fakes are proven faithful by the official SDK: it must decode everything they
// send, exactly as it would from the real service.

func openAIClient(f *fakes.OpenAI, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(f.BaseURL()), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func TestOpenAIFakeWithSDK(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "oa", APIKey: "sk-test", Models: []string{"gpt-4o", "text-embedding-3-small"}})
	defer f.Close()
	c := openAIClient(f, "sk-test")
	ctx := context.Background()

	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "oa heard: hello there" || resp.Choices[0].FinishReason != "stop" ||
		resp.Usage.PromptTokens == 0 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Errorf("completion: %q %s %+v", got, resp.Choices[0].FinishReason, resp.Usage)
	}

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         "gpt-4o",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream this please")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "oa heard: stream this please" || acc.Usage.TotalTokens == 0 {
		t.Errorf("stream: %q usage %+v", got, acc.Usage)
	}

	tool := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}}})
	tools := []openai.ChatCompletionToolUnionParam{tool, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_time"})}
	stream = c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-4o", Tools: tools,
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris")},
	})
	acc = openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"query":"weather in Paris"}` ||
		calls[1].Function.Name != "get_time" || acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("parallel tool calls: %+v", calls)
	}

	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || len(emb.Data[1].Embedding) != 8 || float32(emb.Data[1].Embedding[0]) != fakes.Vector("b", 8)[0] {
		t.Errorf("embeddings: %+v", emb.Data)
	}

	models, err := c.Models.List(ctx)
	if err != nil || len(models.Data) != 2 {
		t.Errorf("models: %v %v", models, err)
	}
}

func TestOpenAIFakeErrorsWithSDK(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{APIKey: "sk-test", Models: []string{"gpt-4o"}, ContextWindow: 50})
	defer f.Close()
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	var apiErr *openai.Error

	wrong := openAIClient(f, "wrong")
	_, err := wrong.Chat.Completions.New(ctx, params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("bad key: %v", err)
	}
	c := openAIClient(f, "sk-test")
	f.Fail(fakes.Fault{Status: 429, RetryAfter: 3 * time.Second, Times: 1})
	_, err = c.Chat.Completions.New(ctx, params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("Retry-After") != "3" ||
		apiErr.Response.Header.Get("Retry-After-Ms") != "3000" {
		t.Errorf("429: %v", err)
	}
	long := params
	long.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(strings.Repeat("word ", 100))}
	_, err = c.Chat.Completions.New(ctx, long)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
		t.Errorf("context length: %v", err)
	}
	params.Model = "gpt-5"
	_, err = c.Chat.Completions.New(ctx, params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}

	// A stream cut before [DONE] ends without the SDK seeing a terminal event.
	f.Fail(fakes.Fault{CutAfter: 2, Times: 1})
	params.Model = "gpt-4o"
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	n := 0
	for stream.Next() {
		n++
	}
	if n != 2 {
		t.Errorf("cut stream delivered %d chunks, want 2", n)
	}
	if got := f.Served(); got < 1 {
		t.Errorf("served = %d", got)
	}
	if reqs := f.Requests(); reqs[len(reqs)-1].Header.Get("Authorization") != "Bearer sk-test" || reqs[len(reqs)-1].Method != http.MethodPost {
		t.Errorf("recorded request: %+v", reqs[len(reqs)-1])
	}
}

func TestFakeHangAndReset(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{})
	defer f.Close()
	c := openAIClient(f, "any")
	params := openai.ChatCompletionNewParams{Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}

	f.Fail(fakes.Fault{Hang: true, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Chat.Completions.New(ctx, params); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	f.Fail(fakes.Fault{Reset: true, Times: 1})
	if _, err := c.Chat.Completions.New(context.Background(), params); err == nil || !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("reset: %v", err)
	}
	if _, err := c.Chat.Completions.New(context.Background(), params); err != nil {
		t.Errorf("after faults: %v", err)
	}
}

// n > 1 gives n choices, streamed or not, each with its index; usage counts the
// completion tokens of all of them.
func TestOpenAIFakeSeveralChoices(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "oa"})
	defer f.Close()
	c := openAIClient(f, "any")
	params := openai.ChatCompletionNewParams{Model: "m", N: openai.Int(3),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two")}}
	resp, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 || resp.Usage.CompletionTokens != 3*4 {
		t.Fatalf("%d choices, usage %+v", len(resp.Choices), resp.Usage)
	}
	for i, ch := range resp.Choices {
		if ch.Index != int64(i) || ch.Message.Content != "oa heard: one two" {
			t.Errorf("choice %d: %s", i, ch.RawJSON())
		}
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("chunk rejected: %s", stream.Current().RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 3 || acc.Choices[2].Message.Content != "oa heard: one two" || acc.Usage.CompletionTokens != 3*4 {
		t.Errorf("streamed: %d choices, usage %+v", len(acc.Choices), acc.Usage)
	}
}
