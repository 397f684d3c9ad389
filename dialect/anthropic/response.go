package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// ResponseOptions name an answer.
type ResponseOptions struct {
	// ID is the message id; empty makes a new "msg_…" one.
	ID string
	// Model is the model the client named (the alias), which the answer repeats.
	Model string
}

// FromChat translates a canonical answer (a chat.completion from a target that
// does not speak Messages) into a Message JSON document:
//
//   - content: the thinking blocks first (ThinkingBlocks with their signatures;
//     a bare reasoning_content becomes one thinking block with an empty
//     signature), then the text (a refusal's text included), then one tool_use
//     block per tool call, its input the arguments parsed as a JSON object;
//   - stop_reason: stop → end_turn, length → max_tokens, tool_calls (or any
//     answer with tool calls) → tool_use, content_filter → refusal, Anthropic's
//     own stop reason for a declined answer; stop_sequence is null: OpenAI's
//     finish_reason does not say whether a stop sequence ended the text;
//   - usage: input_tokens = prompt − cached − cache write,
//     cache_read_input_tokens = cached, cache_creation_input_tokens = cache
//     write, output_tokens = completion.
//
// An answer that is not a chat.completion, or whose tool arguments are not a
// JSON object, is a decode error (the target failed, not the client).
func FromChat(resp *providers.Response, opts ResponseOptions) ([]byte, error) {
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, decodeError(err)
	}
	if len(doc.Choices) == 0 {
		return nil, decodeError(errors.New("chat.completion without choices"))
	}
	ch := doc.Choices[0]
	m := Message{ID: opts.ID, Type: "message", Role: "assistant", Model: opts.Model, Content: []ContentBlock{},
		Usage: usageOf(resp.Usage)}
	if m.ID == "" {
		m.ID = providers.NewID("msg_")
	}
	msg := ch.Message
	for _, tb := range msg.ThinkingBlocks {
		m.Content = append(m.Content, thinkingBlock(tb))
	}
	if len(msg.ThinkingBlocks) == 0 && msg.ReasoningContent != "" {
		m.Content = append(m.Content, thinkingBlock(providers.ThinkingBlock{Type: "thinking", Thinking: msg.ReasoningContent}))
	}
	text := msg.Content.AllText()
	if msg.Refusal != "" {
		text += msg.Refusal
	}
	if text != "" {
		m.Content = append(m.Content, ContentBlock{Type: "text", Text: &text})
	}
	for i, tc := range msg.ToolCalls {
		input, err := toolInput(tc.Function.Arguments)
		if err != nil {
			return nil, err
		}
		id := tc.ID
		if id == "" {
			id = toolID(m.ID, i)
		}
		m.Content = append(m.Content, ContentBlock{Type: "tool_use", ID: id, Name: tc.Function.Name, Input: input})
	}
	m.StopReason = stopReason(ch.FinishReason, len(msg.ToolCalls) > 0)
	if msg.Refusal != "" && len(msg.ToolCalls) == 0 {
		m.StopReason = StopRefusal
	}
	return json.Marshal(&m)
}

func thinkingBlock(tb providers.ThinkingBlock) ContentBlock {
	if tb.Type == "redacted_thinking" {
		return ContentBlock{Type: "redacted_thinking", Data: tb.Data}
	}
	thinking, sig := tb.Thinking, tb.Signature
	return ContentBlock{Type: "thinking", Thinking: &thinking, Signature: &sig}
}

// toolInput parses OpenAI's arguments string into Anthropic's input object.
func toolInput(args string) (json.RawMessage, error) {
	in := bytes.TrimSpace([]byte(args))
	if len(in) == 0 {
		return json.RawMessage("{}"), nil
	}
	if in[0] != '{' || !json.Valid(in) {
		return nil, decodeError(errors.New("tool call arguments are not a JSON object"))
	}
	return in, nil
}

// stopReason maps a finish reason; an answer with tool calls stopped for them.
func stopReason(finish string, toolCalls bool) string {
	if toolCalls {
		return StopToolUse
	}
	switch finish {
	case providers.FinishLength:
		return StopMaxTokens
	case providers.FinishToolCalls, "function_call":
		return StopToolUse
	case providers.FinishContentFilter:
		return StopRefusal
	}
	return StopEndTurn
}

// usageOf is canonical usage in Anthropic's terms.
func usageOf(u providers.Usage) Usage {
	cached, written := 0, 0
	if d := u.PromptTokensDetails; d != nil {
		cached, written = d.CachedTokens, d.CacheWriteTokens
	}
	return Usage{InputTokens: max(u.PromptTokens-cached-written, 0), CacheReadInputTokens: cached,
		CacheCreationInputTokens: written, OutputTokens: u.CompletionTokens}
}

func decodeError(err error) *providers.Error {
	return &providers.Error{Class: providers.ClassDecode, Err: err, Message: "upstream sent an answer that cannot be translated: " + err.Error()}
}

// toolID names a tool call the target left unnamed, after the message and its
// place, so that the same answer always gets the same ids.
func toolID(messageID string, i int) string {
	return "toolu_" + strings.TrimPrefix(messageID, "msg_") + "_" + strconv.Itoa(i)
}
