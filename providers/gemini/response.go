package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// generateContent → OpenAI chat.completion. Finish reasons
// (https://ai.google.dev/api/generate-content#FinishReason): STOP is "stop", or
// "tool_calls" when the candidate calls functions (Gemini says STOP for both);
// MAX_TOKENS is "length"; the safety family (SAFETY, RECITATION, BLOCKLIST,
// PROHIBITED_CONTENT, SPII and the IMAGE_ variants) is "content_filter"; anything
// else (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...) ends the answer as "stop".
// A prompt blocked before generation (promptFeedback.blockReason, no candidates)
// is a content-filter error, not an empty answer.

// translateResponse turns a generateContent body into a chat completion.
func translateResponse(body []byte, model string, created int64) (*providers.Response, error) {
	var g generateResponse
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: http.StatusOK, Err: err,
			Message: "Gemini sent an unreadable response"}
	}
	if len(g.Candidates) == 0 {
		if e := blockedError(g.PromptFeedback); e != nil {
			return nil, e
		}
		return nil, &providers.Error{Class: providers.ClassDecode, Status: http.StatusOK,
			Message: "Gemini sent a response without candidates"}
	}
	if g.ModelVersion != "" {
		model = g.ModelVersion
	}
	out := &providers.ChatResponse{ID: completionID(g.ResponseID), Object: "chat.completion", Created: created,
		Model: model, Choices: make([]providers.Choice, 0, len(g.Candidates))}
	for i := range g.Candidates {
		out.Choices = append(out.Choices, translateCandidate(&g.Candidates[i], g.ResponseID))
	}
	usage := translateUsage(g.UsageMetadata)
	out.Usage = &usage
	data, err := providers.EncodeCompletion(out)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassLocal, Err: err, Message: "encoding the translated response failed"}
	}
	return &providers.Response{Body: data, Usage: usage, Model: model}, nil
}

func translateCandidate(c *candidate, responseID string) providers.Choice {
	msg := providers.Message{Role: "assistant"}
	var text, thoughts strings.Builder
	for i := range c.Content.Parts {
		p := &c.Content.Parts[i]
		switch {
		case p.Thought:
			// A thought summary, sent when includeThoughts was asked for.
			thoughts.WriteString(p.Text)
		case p.FunctionCall != nil:
			args := argsString(p.FunctionCall.Args)
			msg.ToolCalls = append(msg.ToolCalls, providers.ToolCall{
				ID: toolCallID(responseID, len(msg.ToolCalls), p.FunctionCall, args, p.ThoughtSignature), Type: "function",
				Function: providers.FunctionCall{Name: p.FunctionCall.Name, Arguments: args},
			})
		default:
			text.WriteString(p.Text)
			if p.ThoughtSignature != "" {
				msg.ThinkingBlocks = append(msg.ThinkingBlocks, textSignatureBlock(p.ThoughtSignature))
			}
		}
	}
	switch {
	case text.Len() > 0:
		msg.Content = providers.TextContent(text.String())
	case len(msg.ToolCalls) > 0:
		msg.Content = providers.Content{Null: true}
	}
	msg.ReasoningContent = thoughts.String()
	return providers.Choice{Index: c.Index, Message: msg, FinishReason: finishReason(c.FinishReason, len(msg.ToolCalls) > 0)}
}

// argsString is an OpenAI arguments string: the args object, compacted (so that a
// streamed and a buffered answer say the same), or {} when absent.
func argsString(args json.RawMessage) string {
	if len(args) == 0 || string(args) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	b.Grow(len(args))
	if json.Compact(&b, args) != nil {
		return string(args) // unreachable: Unmarshal validated it
	}
	return b.String()
}

func finishReason(reason string, toolCalls bool) string {
	switch reason {
	case "MAX_TOKENS":
		return providers.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return providers.FinishContentFilter
	}
	if toolCalls {
		return providers.FinishToolCalls
	}
	return providers.FinishStop
}

// translateUsage maps usageMetadata to OpenAI usage: thoughts are completion
// tokens (and reasoning tokens), tool-use prompt tokens are prompt tokens, cached
// content tokens are cached prompt tokens.
func translateUsage(m *usageMetadata) providers.Usage {
	if m == nil {
		return providers.Usage{PromptTokensDetails: &providers.PromptTokensDetails{}}
	}
	u := providers.Usage{
		PromptTokens:        m.PromptTokenCount + m.ToolUsePromptTokenCount,
		CompletionTokens:    m.CandidatesTokenCount + m.ThoughtsTokenCount,
		PromptTokensDetails: &providers.PromptTokensDetails{CachedTokens: m.CachedContentTokenCount},
	}
	u.TotalTokens = max(m.TotalTokenCount, u.PromptTokens+u.CompletionTokens)
	if m.ThoughtsTokenCount > 0 {
		u.CompletionTokensDetails = &providers.CompletionTokensDetails{ReasoningTokens: m.ThoughtsTokenCount}
	}
	return u
}

// blockedError is the error of a prompt Gemini refused to answer, nil if it was not.
func blockedError(f *promptFeedback) *providers.Error {
	if f == nil || f.BlockReason == "" {
		return nil
	}
	msg := "Gemini blocked the prompt (blockReason " + f.BlockReason + ")."
	if f.BlockReasonMessage != "" {
		msg += " " + f.BlockReasonMessage
	}
	return &providers.Error{Class: providers.ClassContentFilter, Status: http.StatusBadRequest,
		Type: "invalid_request_error", Code: "content_filter", Message: msg}
}

func completionID(responseID string) string {
	if responseID == "" {
		return providers.NewID("chatcmpl-")
	}
	return "chatcmpl-" + responseID
}
