package responses

import (
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// ToChat builds the canonical chat request for req on top of chain (the stored
// earlier turns, oldest first, as Fit left them): the request's instructions as a
// system message, every earlier turn's input and output items in order, then the
// new input. Instructions of earlier turns are not repeated: the API reference says
// they are not carried over with previous_response_id.
//
// Function calls become assistant tool_calls (consecutive calls, and calls that
// follow an assistant message, share one assistant message, the shape every chat
// backend expects), function call outputs become tool messages. As OpenAI does, a
// function call output must answer a call made earlier in the conversation, and
// every call must be answered before the conversation goes on.
func ToChat(chain []*Stored, req *CreateRequest) (*providers.ChatRequest, error) {
	c := &providers.ChatRequest{
		Model:               req.Model,
		Temperature:         req.Temperature,
		TopP:                req.TopP,
		MaxCompletionTokens: req.MaxOutputTokens,
		ParallelToolCalls:   req.ParallelToolCalls,
		ReasoningEffort:     deref(req.ReasoningEffort),
		User:                deref(req.User),
	}
	if req.Stream {
		// The Responses stream ends with usage, so it is always asked for.
		c.Stream = true
		c.StreamOptions = &providers.StreamOptions{IncludeUsage: true}
	}
	n := len(req.Input) + 1
	for _, s := range chain {
		n += len(s.Input) + len(s.Response.Output)
	}
	conv := converter{msgs: make([]providers.Message, 0, n), check: true}
	if req.Instructions != nil && *req.Instructions != "" {
		conv.msgs = append(conv.msgs, providers.Message{Role: "system", Content: providers.TextContent(*req.Instructions)})
	}
	for _, s := range chain {
		if err := conv.add(s.Input, ""); err != nil {
			return nil, err
		}
		if err := conv.add(s.Response.Output, ""); err != nil {
			return nil, err
		}
	}
	if err := conv.add(req.Input, "input"); err != nil {
		return nil, err
	}
	if err := conv.finish(); err != nil {
		return nil, err
	}
	c.Messages = conv.msgs
	c.Tools = chatTools(req.Tools)
	if tc := req.ToolChoice; tc != nil {
		c.ToolChoice = &providers.ToolChoice{Mode: tc.Mode, Function: tc.Function}
	}
	c.ResponseFormat = chatFormat(req.Text)
	return c, nil
}

// converter turns items into chat messages. With check set it enforces the pairing
// of calls and outputs; Fit converts turns one by one for estimates, without it.
type converter struct {
	msgs  []providers.Message
	check bool
	// pending are the calls not answered yet, in order; known is every call seen.
	pending []string
	known   map[string]bool
	// mergeable is set while the last message is an assistant message that tool
	// calls may join.
	mergeable bool
	// reasoning is the reasoning item waiting for the assistant message it
	// belongs to (the next one).
	reasoning *Item
}

// add converts items; param names the request member they come from ("input"), or
// is empty for stored turns.
func (c *converter) add(items []Item, param string) error {
	for i := range items {
		it := &items[i]
		switch it.Type {
		case ItemMessage:
			if err := c.unanswered(param); err != nil {
				return err
			}
			m := chatMessage(it)
			if it.Role == "assistant" {
				c.attachReasoning(&m)
			}
			c.msgs = append(c.msgs, m)
			c.mergeable = it.Role == "assistant"
		case ItemReasoning:
			c.reasoning = it
			c.mergeable = false
		case ItemFunctionCall:
			c.call(it)
		case ItemFunctionCallOutput:
			if err := c.output(it, param); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *converter) call(it *Item) {
	tc := providers.ToolCall{ID: it.CallID, Type: "function",
		Function: providers.FunctionCall{Name: it.Name, Arguments: it.Arguments}}
	if c.mergeable && len(c.msgs) > 0 {
		last := &c.msgs[len(c.msgs)-1]
		last.ToolCalls = append(last.ToolCalls, tc)
	} else {
		m := providers.Message{Role: "assistant", Content: providers.Content{Null: true},
			ToolCalls: []providers.ToolCall{tc}}
		c.attachReasoning(&m)
		c.msgs = append(c.msgs, m)
		c.mergeable = true
	}
	if c.check {
		if c.known == nil {
			c.known = map[string]bool{}
		}
		c.known[it.CallID] = true
		c.pending = append(c.pending, it.CallID)
	}
}

func (c *converter) output(it *Item, param string) error {
	if c.check {
		if !c.known[it.CallID] {
			return invalid(param, "No tool call found for function call output with call_id %s.", it.CallID)
		}
		for j, id := range c.pending {
			if id == it.CallID {
				c.pending = append(c.pending[:j], c.pending[j+1:]...)
				break
			}
		}
	}
	c.msgs = append(c.msgs, providers.Message{Role: "tool", ToolCallID: it.CallID,
		Content: providers.TextContent(it.Output.AllText())})
	c.mergeable = false
	return nil
}

// unanswered fails when calls are still open as the conversation moves on: chat
// backends refuse an assistant tool call without its tool message.
func (c *converter) unanswered(param string) error {
	if !c.check || len(c.pending) == 0 {
		return nil
	}
	if param == "" {
		param = "input"
	}
	return invalid(param, "No tool output found for function call %s.", c.pending[0])
}

func (c *converter) finish() error { return c.unanswered("input") }

// attachReasoning gives an assistant message the reasoning item before it: its
// text as reasoning_content, its thinking blocks (from encrypted_content) as
// thinking_blocks, which the provider sends back to a cloud of the same family
// and leaves out for any other.
func (c *converter) attachReasoning(m *providers.Message) {
	r := c.reasoning
	if r == nil {
		return
	}
	c.reasoning = nil
	m.ReasoningContent = summaryText(r)
	if blocks, ok := decodeThinking(r.Encrypted); ok {
		m.ThinkingBlocks = blocks
	}
}

// chatMessage converts a message item. Text-only content becomes a plain string
// when it is one part, the form every backend takes; images become image_url parts.
// Assistant refusals go to the message's refusal.
func chatMessage(it *Item) providers.Message {
	m := providers.Message{Role: it.Role}
	if it.Role == "assistant" {
		var text, refusal strings.Builder
		for _, p := range it.Content {
			if p.Type == PartRefusal {
				refusal.WriteString(p.Text)
			} else {
				text.WriteString(p.Text)
			}
		}
		m.Content = providers.TextContent(text.String())
		m.Refusal = refusal.String()
		return m
	}
	if len(it.Content) == 1 && it.Content[0].Type != PartInputImage {
		m.Content = providers.TextContent(it.Content[0].Text)
		return m
	}
	parts := make([]providers.ContentPart, 0, len(it.Content))
	for _, p := range it.Content {
		if p.Type == PartInputImage {
			parts = append(parts, providers.ContentPart{Type: "image_url",
				ImageURL: &providers.ImageURL{URL: p.ImageURL, Detail: p.Detail}})
		} else {
			parts = append(parts, providers.ContentPart{Type: "text", Text: p.Text})
		}
	}
	m.Content = providers.Content{Parts: parts, IsParts: true}
	return m
}

func chatTools(tools []FunctionTool) []providers.Tool {
	if len(tools) == 0 {
		return nil
	}
	out := make([]providers.Tool, len(tools))
	for i, t := range tools {
		out[i] = providers.Tool{Type: "function", Function: providers.Function{
			Name: t.Name, Description: deref(t.Description), Parameters: t.Parameters, Strict: t.Strict}}
	}
	return out
}

// chatFormat maps text.format to response_format; plain text needs none.
func chatFormat(t *TextConfig) *providers.ResponseFormat {
	if t == nil {
		return nil
	}
	switch f := t.Format; f.Type {
	case "json_object":
		return &providers.ResponseFormat{Type: "json_object"}
	case "json_schema":
		return &providers.ResponseFormat{Type: "json_schema", JSONSchema: &providers.JSONSchema{
			Name: f.Name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}}
	}
	return nil
}
