package bedrock

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// translateResponse turns a Converse response body into an OpenAI chat.completion.
// Text blocks are concatenated; toolUse blocks become tool calls with their ids and
// their input as a JSON string, except the synthetic json_schema tool, whose input
// is the answer's text. Reasoning blocks become reasoning_content and (signed)
// thinking_blocks; citation and other blocks have no place in a chat.completion
// and are left out.
func translateResponse(raw []byte, model, jsonTool, id string, created int64) (*providers.Response, error) {
	return translateAnswer(raw, model, answerOptions{jsonTool: jsonTool}, id, created)
}

// answerOptions shape a translated answer.
type answerOptions struct {
	jsonTool      string
	hideReasoning bool // Call.HideReasoning
}

func translateAnswer(raw []byte, model string, opts answerOptions, id string, created int64) (*providers.Response, error) {
	jsonTool := opts.jsonTool
	var out converseResponse
	if err := decodeConverse(raw, &out); err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Err: err, Message: "Bedrock sent an unreadable Converse response"}
	}
	msg := out.Output.Message
	if msg == nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Message: "Bedrock answered without a message"}
	}
	var text []byte
	var calls []providers.ToolCall
	var r reasoningOut
	for i := range msg.Content {
		b := &msg.Content[i]
		switch {
		case b.ReasoningContent != nil:
			tb, t, signed := thinkingOf(b.ReasoningContent)
			if !opts.hideReasoning {
				r.text += t
			}
			if signed {
				r.blocks = append(r.blocks, tb)
			}
		case b.ToolUse != nil:
			args, err := toolInput(b.ToolUse.Input)
			if err != nil {
				return nil, &providers.Error{Class: providers.ClassDecode, Err: err, Message: "Bedrock sent unreadable tool input"}
			}
			if jsonTool != "" && b.ToolUse.Name == jsonTool {
				text = append(text, args...)
				continue
			}
			calls = append(calls, providers.ToolCall{ID: b.ToolUse.ToolUseID, Function: providers.FunctionCall{
				Name: b.ToolUse.Name, Arguments: string(args)}})
		default:
			text = append(text, b.Text...) // "" for blocks of other kinds
		}
	}
	finish, err := finishReason(out.StopReason, len(calls) > 0)
	if err != nil {
		return nil, err
	}
	usage := usageOf(out.Usage)
	body := appendCompletion(make([]byte, 0, 256+len(text)+len(r.text)), id, model, created, text, calls, r, finish, usage)
	return &providers.Response{Body: body, Usage: usage, Model: model}, nil
}

// appendCompletion writes the chat.completion by hand, as providers.StreamEncoder
// writes chunks: the same document EncodeCompletion would make, without its
// reflection (about 3 µs and 7 allocations a response, measured). Content is null
// when there are tool calls and no text, as OpenAI sends it.
func appendCompletion(b []byte, id, model string, created int64, text []byte, calls []providers.ToolCall, r reasoningOut, finish string, u providers.Usage) []byte {
	b = append(b, `{"id":`...)
	b = providers.AppendJSONString(b, id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = providers.AppendJSONString(b, model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if len(text) == 0 && len(calls) > 0 {
		b = append(b, "null"...)
	} else {
		b = providers.AppendJSONString(b, jsonstr.View(text))
	}
	if len(calls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, c := range calls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = providers.AppendJSONString(b, c.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = providers.AppendJSONString(b, c.Function.Name)
			b = append(b, `,"arguments":`...)
			b = providers.AppendJSONString(b, c.Function.Arguments)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if r.text != "" {
		b = append(b, `,"reasoning_content":`...)
		b = providers.AppendJSONString(b, r.text)
	}
	if len(r.blocks) > 0 {
		b = append(b, `,"thinking_blocks":[`...)
		for i, tb := range r.blocks {
			if i > 0 {
				b = append(b, ',')
			}
			b = providers.AppendThinkingBlock(b, tb)
		}
		b = append(b, ']')
	}
	b = append(b, `},"finish_reason":`...)
	b = providers.AppendJSONString(b, finish)
	b = append(b, `}],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
	b = providers.AppendUsageDetails(b, u)
	return append(b, "}}"...)
}

// reasoningOut is an answer's reasoning: its text and its signed blocks.
type reasoningOut struct {
	text   string
	blocks []providers.ThinkingBlock
}

// finishReason maps Converse's stopReason (API_runtime_Converse.html, "stopReason")
// to OpenAI's. tool_use without a real tool call is the synthetic json_schema
// tool: a final answer, so "stop". malformed_model_output and malformed_tool_use
// say the model failed to produce a usable answer: an upstream failure another
// target may not have, not a finish reason.
func finishReason(r string, toolCalls bool) (string, error) {
	switch r {
	case "max_tokens", "model_context_window_exceeded":
		return providers.FinishLength, nil
	case "tool_use":
		if toolCalls {
			return providers.FinishToolCalls, nil
		}
		return providers.FinishStop, nil
	case "guardrail_intervened", "content_filtered":
		return providers.FinishContentFilter, nil
	case "malformed_model_output", "malformed_tool_use":
		return "", &providers.Error{Class: providers.ClassUnavailable, Code: r,
			Message: "Bedrock stopped the answer: " + r}
	}
	return providers.FinishStop, nil // end_turn, stop_sequence, and reasons added later
}

// usageOf maps Bedrock's token counts. Bedrock's inputTokens excludes the tokens
// read from and written to the prompt cache (its totalTokens includes them:
// inputTokens 4 + cacheReadInputTokens 1490 + outputTokens 832 = totalTokens 2326
// in a recorded metadata event, cline/cline#4683), whereas OpenAI's prompt_tokens
// includes cached tokens. So prompt_tokens is the sum of all three, and
// cached_tokens the cache reads; the cache writes are kept apart
// (cache_write_tokens), which a Messages client reads as
// cache_creation_input_tokens.
func usageOf(u *tokenUsage) providers.Usage {
	prompt, completion, details := usageCounts(u)
	return providers.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion,
		PromptTokensDetails: &details}
}

func usageCounts(u *tokenUsage) (prompt, completion int, details providers.PromptTokensDetails) {
	if u == nil {
		return 0, 0, details
	}
	details = providers.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheWriteInputTokens}
	return u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens, u.OutputTokens, details
}

// toolInput is a tool's input as the JSON OpenAI puts in arguments: the model's
// JSON as written (its member order and number literals), compacted.
func toolInput(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return []byte("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
