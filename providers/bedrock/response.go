package bedrock

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/switchyard/switchyard/providers"
)

// translateResponse turns a Converse answer into an OpenAI chat.completion. Text
// blocks are concatenated; toolUse blocks become tool calls with their ids and
// their input as a JSON string, except the synthetic json_schema tool, whose input
// is the answer's text. Reasoning, citation and other blocks have no place in a
// chat.completion and are left out.
func translateResponse(out *bedrockruntime.ConverseOutput, model, jsonTool, id string, created int64) (*providers.Response, error) {
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return nil, &providers.Error{Class: providers.ClassInternal, Message: "Bedrock answered without a message"}
	}
	var text strings.Builder
	var calls []providers.ToolCall
	for _, b := range msg.Value.Content {
		switch v := b.(type) {
		case *types.ContentBlockMemberText:
			text.WriteString(v.Value)
		case *types.ContentBlockMemberToolUse:
			args, err := toolInput(v.Value.Input)
			if err != nil {
				return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "Bedrock sent unreadable tool input"}
			}
			name := aws.ToString(v.Value.Name)
			if jsonTool != "" && name == jsonTool {
				text.WriteString(args)
				continue
			}
			calls = append(calls, providers.ToolCall{ID: aws.ToString(v.Value.ToolUseId), Type: "function",
				Function: providers.FunctionCall{Name: name, Arguments: args}})
		}
	}
	finish, err := finishReason(out.StopReason, len(calls) > 0)
	if err != nil {
		return nil, err
	}
	usage := usageOf(out.Usage)
	message := providers.Message{Role: "assistant", Content: providers.TextContent(text.String()), ToolCalls: calls}
	if text.Len() == 0 && len(calls) > 0 {
		message.Content = providers.Content{Null: true} // OpenAI sends null content with tool calls
	}
	body, err := providers.EncodeCompletion(&providers.ChatResponse{
		ID: id, Created: created, Model: model,
		Choices: []providers.Choice{{Index: 0, Message: message, FinishReason: finish}},
		Usage:   &usage,
	})
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "encoding the translated response"}
	}
	return &providers.Response{Body: body, Usage: usage, Model: model}, nil
}

// finishReason maps Converse's stopReason (types.StopReason) to OpenAI's.
// tool_use without a real tool call is the synthetic json_schema tool: a final
// answer, so "stop". malformed_model_output and malformed_tool_use say the model
// failed to produce a usable answer: an upstream failure another target may not
// have, not a finish reason.
func finishReason(r types.StopReason, toolCalls bool) (string, error) {
	switch r {
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return providers.FinishLength, nil
	case types.StopReasonToolUse:
		if toolCalls {
			return providers.FinishToolCalls, nil
		}
		return providers.FinishStop, nil
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return providers.FinishContentFilter, nil
	case types.StopReasonMalformedModelOutput, types.StopReasonMalformedToolUse:
		return "", &providers.Error{Class: providers.ClassUnavailable, Code: string(r),
			Message: "Bedrock stopped the answer: " + string(r)}
	}
	return providers.FinishStop, nil // end_turn, stop_sequence, and reasons added later
}

// usageOf maps Bedrock's token counts. Bedrock's inputTokens excludes the tokens
// read from and written to the prompt cache (its totalTokens includes them:
// inputTokens 4 + cacheReadInputTokens 1490 + outputTokens 832 = totalTokens 2326
// in a recorded metadata event, cline/cline#4683), whereas OpenAI's prompt_tokens
// includes cached tokens. So prompt_tokens is the sum of all three, and
// cached_tokens the cache reads.
func usageOf(u *types.TokenUsage) providers.Usage {
	prompt, completion, cached := usageCounts(u)
	return providers.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion,
		PromptTokensDetails: &providers.PromptTokensDetails{CachedTokens: cached}}
}

func usageCounts(u *types.TokenUsage) (prompt, completion, cached int) {
	if u == nil {
		return 0, 0, 0
	}
	cached = int(aws.ToInt32(u.CacheReadInputTokens))
	prompt = int(aws.ToInt32(u.InputTokens)) + cached + int(aws.ToInt32(u.CacheWriteInputTokens))
	return prompt, int(aws.ToInt32(u.OutputTokens)), cached
}

// toolInput encodes a tool's input as the JSON string OpenAI puts in arguments,
// without encoding/json's HTML escaping (the model wrote "<", not "\u003c").
func toolInput(d document.Interface) (string, error) {
	if d == nil {
		return "{}", nil
	}
	v, ok := d.(interface{ Value() any })
	if !ok {
		b, err := d.MarshalSmithyDocument()
		return string(b), err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.Value()); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
