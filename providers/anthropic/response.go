package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// messageResponse is a Messages API response (type "message"). Only the members the
// translation needs are decoded; server tool blocks have no place in a
// chat.completion and are skipped. Thinking blocks become reasoning_content and
// thinking_blocks (thinking.go).
type messageResponse struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Model      string          `json:"model"`
	Content    []responseBlock `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      usage           `json:"usage"`
}

type responseBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
	// thinking and redacted_thinking
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
	Data      string `json:"data"`
}

// usage is Anthropic's token count. input_tokens excludes the prompt tokens read
// from or written to the prompt cache, which are counted apart
// (https://platform.claude.com/docs/en/build-with-claude/prompt-caching).
type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// canonical is the usage in OpenAI terms: every prompt token, cached or not, is a
// prompt token, and cache reads are the cached ones.
func (u usage) canonical() providers.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	return providers.Usage{
		PromptTokens:     prompt,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      prompt + u.OutputTokens,
		PromptTokensDetails: &providers.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens,
			CacheWriteTokens: u.CacheCreationInputTokens},
	}
}

// finishReason maps a stop_reason (https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons):
// end_turn and stop_sequence → stop; max_tokens and model_context_window_exceeded
// (output cut by the context window) → length; tool_use → tool_calls; refusal →
// content_filter. pause_turn only follows server tools, which this provider never
// offers; it and any future reason end the turn as stop.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return providers.FinishLength
	case "tool_use":
		return providers.FinishToolCalls
	case "refusal":
		return providers.FinishContentFilter
	}
	return providers.FinishStop
}

var errNotMessage = errors.New(`response is not a "message" object`)

// translateResponse turns a Messages API response into an OpenAI chat.completion.
func translateResponse(body []byte, tr translation) (*providers.Response, error) {
	var m messageResponse
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m.Type != "message" {
		return nil, errNotMessage
	}
	var text, reasoning strings.Builder
	var calls []providers.ToolCall
	var thinking []providers.ThinkingBlock
	for _, b := range m.Content {
		switch b.Type {
		case "thinking":
			reasoning.WriteString(b.Thinking)
			thinking = append(thinking, providers.ThinkingBlock{Type: "thinking", Thinking: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			thinking = append(thinking, providers.ThinkingBlock{Type: "redacted_thinking", Data: b.Data})
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := string(b.Input)
			if len(b.Input) == 0 {
				args = "{}"
			}
			if tr.jsonTool && b.Name == jsonToolName {
				text.WriteString(args)
				continue
			}
			calls = append(calls, providers.ToolCall{ID: b.ID, Type: "function",
				Function: providers.FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	finish := finishReason(m.StopReason)
	if finish == providers.FinishToolCalls && len(calls) == 0 {
		finish = providers.FinishStop // only the json_response tool answered
	}
	msg := providers.Message{Role: "assistant", Content: providers.TextContent(text.String()), ToolCalls: calls,
		ThinkingBlocks: thinking}
	if !tr.hideReasoning {
		msg.ReasoningContent = reasoning.String()
	}
	if text.Len() == 0 && len(calls) > 0 {
		msg.Content = providers.Content{Null: true}
	}
	u := m.Usage.canonical()
	out, err := providers.EncodeCompletion(&providers.ChatResponse{
		ID:      m.ID,
		Created: time.Now().Unix(),
		Model:   m.Model,
		Choices: []providers.Choice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:   &u,
	})
	if err != nil {
		return nil, err
	}
	return &providers.Response{Body: out, Usage: u, Model: m.Model}, nil
}
