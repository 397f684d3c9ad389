package responses

import (
	"time"

	"github.com/switchyard/switchyard/providers"
)

// FromChat completes base (the turn's in_progress Response) with a chat completion:
// the model's reasoning as a reasoning item first (reasoning.go), the assistant
// message as a message output item (text as output_text, a refusal as a refusal
// part), each tool call as its own function_call item after it, the usage
// in Responses terms, and the status from the finish reason. Only the first choice
// is read: the Responses API has no n.
func FromChat(resp *providers.ChatResponse, base *Response) *Response {
	r := *base
	r.Output = []Item{}
	finish := providers.FinishStop
	if len(resp.Choices) > 0 {
		ch := &resp.Choices[0]
		finish = ch.FinishReason
		r.Output = outputItems(&ch.Message, finish, base)
	}
	r.complete(finish, usageFromChat(resp.Usage), time.Now())
	return &r
}

func outputItems(m *providers.Message, finish string, base *Response) []Item {
	status := StatusCompleted
	if finish == providers.FinishLength || finish == providers.FinishContentFilter {
		status = StatusIncomplete
	}
	out := make([]Item, 0, 2+len(m.ToolCalls))
	if it, ok := reasoningItem(m, base, status); ok {
		out = append(out, it)
	}
	text := m.Content.AllText()
	if text != "" || m.Refusal != "" || len(m.ToolCalls) == 0 {
		msg := Item{Type: ItemMessage, ID: newItemID(prefixMessage, base.ID), Status: status, Role: "assistant"}
		if text != "" || m.Refusal == "" {
			msg.Content = append(msg.Content, Part{Type: PartOutputText, Text: text})
		}
		if m.Refusal != "" {
			msg.Content = append(msg.Content, Part{Type: PartRefusal, Text: m.Refusal})
		}
		out = append(out, msg)
	}
	for _, tc := range m.ToolCalls {
		callID := tc.ID
		if callID == "" {
			callID = newID(prefixCallID)
		}
		out = append(out, Item{Type: ItemFunctionCall, ID: newItemID(prefixCall, base.ID), Status: status,
			CallID: callID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return out
}
