package fakes_test

import (
	"context"
	"errors"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

func TestAzureFakeWithSDK(t *testing.T) {
	f := fakes.NewAzure(fakes.AzureOptions{Name: "az", APIKey: "az-key", Deployments: []string{"gpt-4o-prod"}, APIVersions: []string{"2024-10-21"}})
	defer f.Close()
	c := openai.NewClient(azure.WithEndpoint(f.Endpoint(), "2024-10-21"), azure.WithAPIKey("az-key"),
		azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-prod", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi azure")}}

	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "az heard: hi azure" || resp.Model != "gpt-4o-prod" {
		t.Errorf("completion: %+v", resp)
	}
	rec := f.Requests()[0]
	if rec.Path != "/openai/deployments/gpt-4o-prod/chat/completions" || rec.Query != "api-version=2024-10-21" || rec.Header.Get("Api-Key") != "az-key" {
		t.Errorf("wire: %s?%s key=%q", rec.Path, rec.Query, rec.Header.Get("Api-Key"))
	}

	// Azure streams begin with a chunk of prompt_filter_results and empty choices.
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	first := true
	for stream.Next() {
		ch := stream.Current()
		if first && len(ch.Choices) != 0 {
			t.Errorf("first Azure chunk has choices: %s", ch.RawJSON())
		}
		first = false
		acc.AddChunk(ch)
	}
	if stream.Err() != nil || acc.Choices[0].Message.Content != "az heard: hi azure" {
		t.Errorf("stream: %v %q", stream.Err(), acc.Choices[0].Message.Content)
	}

	var apiErr *openai.Error
	params.Model = "missing"
	if _, err := c.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "DeploymentNotFound" {
		t.Errorf("missing deployment: %v", err)
	}
	f.Fail(fakes.Fault{Status: 400, Code: "content_filter", Message: "The response was filtered", Times: 1})
	params.Model = "gpt-4o-prod"
	if _, err := c.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.Code != "content_filter" {
		t.Errorf("content filter: %v", err)
	}
	bad := openai.NewClient(azure.WithEndpoint(f.Endpoint(), "2024-10-21"), azure.WithAPIKey("nope"), azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
	if _, err := bad.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("bad key: %v", err)
	}
}

func TestAzureFakeV1Path(t *testing.T) {
	f := fakes.NewAzure(fakes.AzureOptions{APIKey: "az-key", Deployments: []string{"dep"}})
	defer f.Close()
	c := openai.NewClient(option.WithBaseURL(f.Endpoint()+"/openai/v1/"), option.WithHeader("api-key", "az-key"), option.WithMaxRetries(0))
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "dep",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("v1")}})
	if err != nil || resp.Choices[0].Message.Content != "azure heard: v1" {
		t.Fatalf("%v %+v", err, resp)
	}
	if rec := f.Requests()[0]; rec.Path != "/openai/v1/chat/completions" || rec.Query != "" {
		t.Errorf("v1 wire: %s?%s", rec.Path, rec.Query)
	}
}
