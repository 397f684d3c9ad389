package fakes_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The official SDK reads the fake's reasoningContent blocks (reasoningText with a
// signature) and sends them back in a tool loop; the fake refuses the loop
// without them or with the text altered, relaying Claude's errors as Bedrock does.
func TestBedrockFakeThinkingToolLoopWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	f.Respond(func(p *fakes.Prompt) fakes.Reply {
		if last := p.Turns[len(p.Turns)-1]; last.Role == "tool" {
			return fakes.Reply{Content: "found: " + last.Text}
		}
		return fakes.Reply{ToolCalls: []fakes.ToolCall{{ID: "tooluse_1", Name: "search", Arguments: `{"query":"cats"}`}}}
	})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	schema := document.NewLazyDocument(map[string]any{"type": "object"})
	in := &bedrockruntime.ConverseInput{
		ModelId:                      aws.String(brModel),
		Messages:                     userText("cats"),
		InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4000)},
		AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2000}}),
		ToolConfig: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
			Name: aws.String("search"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}}}},
	}
	out, err := c.Converse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	msg := out.Output.(*types.ConverseOutputMemberMessage).Value
	rc, ok := msg.Content[0].(*types.ContentBlockMemberReasoningContent)
	if !ok {
		t.Fatalf("first block %T", msg.Content[0])
	}
	rt := rc.Value.(*types.ReasoningContentBlockMemberReasoningText).Value
	use := msg.Content[1].(*types.ContentBlockMemberToolUse).Value
	if aws.ToString(rt.Signature) != fakes.ClaudeSignature(aws.ToString(rt.Text)) {
		t.Fatalf("reasoning %+v", rt)
	}
	result := types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
		ToolUseId: use.ToolUseId, Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "a cat"}}}}}}

	in.Messages = append(userText("cats"), msg, result)
	out, err = c.Converse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	last := out.Output.(*types.ConverseOutputMemberMessage).Value.Content
	if text, ok := last[len(last)-1].(*types.ContentBlockMemberText); !ok || text.Value != "found: a cat" {
		t.Fatalf("turn 2: %+v", last)
	}

	var apiErr smithy.APIError
	stripped := types.Message{Role: types.ConversationRoleAssistant, Content: msg.Content[1:]}
	in.Messages = append(userText("cats"), stripped, result)
	_, err = c.Converse(context.Background(), in)
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" || !strings.Contains(apiErr.ErrorMessage(), "must start with a thinking block") {
		t.Fatalf("missing reasoning: %v", err)
	}
	altered := types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{
		&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: types.ReasoningTextBlock{
			Text: aws.String(aws.ToString(rt.Text) + "!"), Signature: rt.Signature}}},
		msg.Content[1]}}
	in.Messages = append(userText("cats"), altered, result)
	_, err = c.Converse(context.Background(), in)
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.ErrorMessage(), "Invalid `signature`") {
		t.Fatalf("altered reasoning: %v", err)
	}
}

// cachePoint blocks: the first call writes the prefix, the second reads it.
func TestBedrockFakePromptCacheWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	in := &bedrockruntime.ConverseInput{
		ModelId:  aws.String(brModel),
		Messages: userText("clause 4?"),
		System: []types.SystemContentBlock{
			&types.SystemContentBlockMemberText{Value: strings.Repeat("The contract says many things. ", 200)},
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}},
		},
	}
	first, err := c.Converse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Converse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	w, r := first.Usage, second.Usage
	if aws.ToInt32(w.CacheWriteInputTokens) < 1024 || aws.ToInt32(r.CacheReadInputTokens) != aws.ToInt32(w.CacheWriteInputTokens) ||
		aws.ToInt32(r.CacheWriteInputTokens) != 0 || aws.ToInt32(w.TotalTokens) != aws.ToInt32(r.TotalTokens) {
		t.Fatalf("write %+v then read %+v", w, r)
	}
}
