package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// knownMembers are the top-level members Request declares.
var knownMembers = map[string]bool{
	"model": true, "max_tokens": true, "messages": true, "system": true, "stream": true,
	"stop_sequences": true, "temperature": true, "top_p": true, "top_k": true, "tools": true,
	"tool_choice": true, "metadata": true, "thinking": true, "output_config": true,
	"service_tier": true, "inference_geo": true, "cache_control": true, "speed": true,
	"diagnostics": true, "container": true, "mcp_servers": true, "context_management": true,
}

// ParseRequest decodes a Messages request (POST /v1/messages) and checks what
// every target needs: a model, max_tokens, messages with user and assistant
// roles. The error is a 400 invalid_request_error naming the member.
func ParseRequest(body []byte) (*Request, error) {
	r, err := parse(body)
	if err != nil {
		return nil, err
	}
	switch {
	case r.MaxTokens == nil:
		return nil, invalid("max_tokens: Field required")
	case *r.MaxTokens < 1:
		return nil, invalid("max_tokens: Input should be greater than or equal to 1")
	}
	return r, nil
}

func parse(body []byte) (*Request, error) {
	r, err := decode(body)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Model == "":
		return nil, invalid("model: Field required")
	case r.Messages == nil:
		return nil, invalid("messages: Field required")
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			return nil, invalid("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
	}
	return r, nil
}

// decodeMessage is a decode error as a client may read it.
func decodeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field + ": Input should be a valid " + te.Type.String() + ", not a JSON " + te.Value
	}
	return err.Error()
}

// Canonical translates the request into the canonical chat request, for targets
// that do not speak Messages. A member that changes what the model is asked and
// that the canonical request cannot carry is a 400 naming it, never dropped:
//
//   - system (a string, or text blocks whose cache_control is kept on the parts)
//     becomes the first system message;
//   - user content: text, images (base64 → data: URL; url → the URL: a target
//     that does not fetch URLs refuses it), plain-text documents (as text);
//     tool_result blocks become tool messages before the turn's other content,
//     their text (string or text blocks) as content; is_error: true prefixes it
//     with "Error: ", the one way to tell a model that its tool failed in
//     OpenAI's format. PDF and file documents, images inside tool results,
//     search results and server tool results are refused;
//   - assistant content: text, tool_use (input as the arguments JSON), thinking
//     and redacted_thinking blocks kept with their signatures in ThinkingBlocks;
//   - tools: client tools (input_schema as parameters, strict, cache_control);
//     server tools (web search, bash, text editor, computer, ...) are refused;
//   - tool_choice: auto → auto, any → required, tool → the named function,
//     none → none; disable_parallel_tool_use → parallel_tool_calls: false;
//   - max_tokens → max_completion_tokens (what OpenAI's reasoning models take),
//     stop_sequences → stop, temperature and top_p as they are,
//     metadata.user_id → user;
//   - top_k has no canonical form: it is carried by native targets only
//     (Anthropic, Claude on Bedrock and on Vertex AI), refused here;
//   - thinking enabled → reasoning_effort by budget_tokens (up to 4096: low, up
//     to 16384: medium, more: high; Claude Code's "think" / "think hard" /
//     "ultrathink" are 4000 / 10000 / 31999), adaptive → medium;
//     output_config.effort (low, medium, high; max → high) wins over it;
//     output_config.format json_schema → response_format json_schema;
//   - stream: true asks for stream usage (include_usage), which the final
//     message_delta reports;
//   - hints (cache_control at the top level, service_tier, inference_geo,
//     speed, diagnostics) are left out: targets without Anthropic's prompt cache
//     cache by themselves;
//   - container, mcp_servers, context_management and unknown members are
//     refused: they need Anthropic's platform.
func (r *Request) Canonical() (*providers.ChatRequest, error) {
	c := &providers.ChatRequest{Model: r.Model, Stream: r.Stream, Temperature: r.Temperature, TopP: r.TopP,
		Stop: providers.Stop(r.StopSequences)}
	if r.Stream {
		c.StreamOptions = &providers.StreamOptions{IncludeUsage: true}
	}
	if r.MaxTokens != nil {
		n := *r.MaxTokens
		c.MaxCompletionTokens = &n
	}
	if err := r.refuseUncarried(); err != nil {
		return nil, err
	}
	if r.Metadata != nil && r.Metadata.UserID != "" {
		c.User = r.Metadata.UserID
	}
	c.ReasoningEffort = r.effort()
	if oc := r.OutputConfig; oc != nil && oc.Format != nil {
		if oc.Format.Type != "json_schema" || len(bytes.TrimSpace(oc.Format.Schema)) == 0 {
			return nil, invalid("output_config.format: only {\"type\":\"json_schema\",\"schema\":{...}} can be served by this target")
		}
		strict := true
		c.ResponseFormat = &providers.ResponseFormat{Type: "json_schema",
			JSONSchema: &providers.JSONSchema{Name: "response", Schema: oc.Format.Schema, Strict: &strict}}
	}
	if r.System != nil {
		msg, err := systemMessage(*r.System, "system")
		if err != nil {
			return nil, err
		}
		if msg != nil {
			c.Messages = append(c.Messages, *msg)
		}
	}
	for i, m := range r.Messages {
		msgs, err := translateMessage(m, i)
		if err != nil {
			return nil, err
		}
		c.Messages = append(c.Messages, msgs...)
	}
	tools, err := translateTools(r.Tools)
	if err != nil {
		return nil, err
	}
	c.Tools = tools
	if tc := r.ToolChoice; tc != nil && (len(tools) > 0 || tc.Type == "any" || tc.Type == "tool") {
		// Without tools, auto and none say nothing (and OpenAI refuses a
		// tool_choice without tools); any and tool cannot be honoured.
		if len(tools) == 0 {
			return nil, invalid("tool_choice: %q requires tools", tc.Type)
		}
		if err := translateToolChoice(c, tc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// refuseUncarried refuses what only native targets can serve.
func (r *Request) refuseUncarried() error {
	if len(r.Unknown) > 0 {
		return invalid("%s: this member cannot be served by the target chosen for this request (only targets that speak the Messages API natively take unknown members)", r.Unknown[0])
	}
	for _, m := range []struct {
		name string
		set  bool
	}{
		{"top_k", r.TopK != nil},
		{"container", len(r.Container) > 0 && string(r.Container) != "null"},
		{"mcp_servers", len(r.MCPServers) > 0 && string(r.MCPServers) != "null"},
		{"context_management", len(r.ContextManagement) > 0 && string(r.ContextManagement) != "null"},
	} {
		if m.set {
			return invalid("%s: not supported by the target chosen for this request; only targets that speak the Messages API natively (Anthropic, Claude on Bedrock or Vertex AI) take it", m.name)
		}
	}
	return nil
}

// effort maps thinking and output_config.effort to reasoning_effort.
func (r *Request) effort() string {
	if oc := r.OutputConfig; oc != nil && oc.Effort != "" {
		switch oc.Effort {
		case "max":
			return "high"
		default:
			return oc.Effort
		}
	}
	th := r.Thinking
	if th == nil {
		return ""
	}
	switch th.Type {
	case "enabled":
		switch {
		case th.BudgetTokens <= 4096:
			return "low"
		case th.BudgetTokens <= 16384:
			return "medium"
		}
		return "high"
	case "adaptive":
		return "medium"
	}
	return ""
}

// systemMessage is a system prompt (or a system-role message) as a system
// message; nil when empty.
func systemMessage(c Content, path string) (*providers.Message, error) {
	if !c.IsBlocks {
		if c.Text == "" {
			return nil, nil
		}
		return &providers.Message{Role: "system", Content: providers.TextContent(c.Text)}, nil
	}
	parts := make([]providers.ContentPart, 0, len(c.Blocks))
	for j, b := range c.Blocks {
		if b.Type != "text" {
			return nil, invalid("%s.%d.type: system prompts are text blocks; got %q", path, j, b.Type)
		}
		parts = append(parts, providers.ContentPart{Type: "text", Text: b.Text, CacheControl: cacheControl(b.CacheControl)})
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return &providers.Message{Role: "system", Content: providers.Content{Parts: parts, IsParts: true}}, nil
}

func cacheControl(cc *CacheControl) *providers.CacheControl {
	if cc == nil {
		return nil
	}
	return &providers.CacheControl{Type: cc.Type, TTL: cc.TTL}
}

func translateMessage(m MessageParam, i int) ([]providers.Message, error) {
	path := "messages." + strconv.Itoa(i) + ".content"
	switch m.Role {
	case "system":
		msg, err := systemMessage(m.Content, path)
		if err != nil || msg == nil {
			return nil, err
		}
		return []providers.Message{*msg}, nil
	case "assistant":
		msg, err := assistantMessage(m.Content, path)
		if err != nil {
			return nil, err
		}
		return []providers.Message{msg}, nil
	}
	return userMessages(m.Content, path)
}

// userMessages is a user turn: its tool results as tool messages first (OpenAI
// wants them right after the assistant's tool calls), then its other content.
func userMessages(c Content, path string) ([]providers.Message, error) {
	if !c.IsBlocks {
		return []providers.Message{{Role: "user", Content: providers.TextContent(c.Text)}}, nil
	}
	var out []providers.Message
	var parts []providers.ContentPart
	for j, b := range c.Blocks {
		bp := path + "." + strconv.Itoa(j)
		switch b.Type {
		case "text":
			parts = append(parts, providers.ContentPart{Type: "text", Text: b.Text, CacheControl: cacheControl(b.CacheControl)})
		case "image":
			part, err := imagePart(b, bp)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		case "document":
			if b.Source == nil || b.Source.Type != "text" {
				return nil, invalid("%s.source: only plain-text documents can be served by the target chosen for this request", bp)
			}
			parts = append(parts, providers.ContentPart{Type: "text", Text: b.Source.Data, CacheControl: cacheControl(b.CacheControl)})
		case "tool_result":
			msg, err := toolMessage(b, bp)
			if err != nil {
				return nil, err
			}
			out = append(out, msg)
		default:
			return nil, invalid("%s.type: %q blocks cannot be served by the target chosen for this request", bp, b.Type)
		}
	}
	if len(parts) > 0 {
		out = append(out, providers.Message{Role: "user", Content: providers.Content{Parts: parts, IsParts: true}})
	}
	return out, nil
}

func imagePart(b Block, path string) (providers.ContentPart, error) {
	s := b.Source
	if s == nil {
		return providers.ContentPart{}, invalid("%s.source: Field required", path)
	}
	var url string
	switch s.Type {
	case "base64":
		if s.MediaType == "" || s.Data == "" {
			return providers.ContentPart{}, invalid("%s.source: media_type and data are required", path)
		}
		url = "data:" + s.MediaType + ";base64," + s.Data
	case "url":
		if s.URL == "" {
			return providers.ContentPart{}, invalid("%s.source.url: Field required", path)
		}
		url = s.URL
	default:
		return providers.ContentPart{}, invalid("%s.source.type: %q image sources cannot be served by the target chosen for this request (use base64 or url)", path, s.Type)
	}
	return providers.ContentPart{Type: "image_url", ImageURL: &providers.ImageURL{URL: url}, CacheControl: cacheControl(b.CacheControl)}, nil
}

// toolMessage is a tool_result as a tool message.
func toolMessage(b Block, path string) (providers.Message, error) {
	if b.ToolUseID == "" {
		return providers.Message{}, invalid("%s.tool_use_id: Field required", path)
	}
	var text strings.Builder
	if b.IsError != nil && *b.IsError {
		text.WriteString("Error: ")
	}
	if c := b.Content; c != nil {
		if !c.IsBlocks {
			text.WriteString(c.Text)
		}
		for k, rb := range c.Blocks {
			switch rb.Type {
			case "text":
				if k > 0 {
					text.WriteByte('\n')
				}
				text.WriteString(rb.Text)
			default:
				return providers.Message{}, invalid("%s.content.%d.type: %q blocks inside a tool_result cannot be served by the target chosen for this request (text only)", path, k, rb.Type)
			}
		}
	}
	msg := providers.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: providers.TextContent(text.String())}
	if cc := cacheControl(b.CacheControl); cc != nil {
		msg.Content = providers.Content{IsParts: true, Parts: []providers.ContentPart{{Type: "text", Text: text.String(), CacheControl: cc}}}
	}
	return msg, nil
}

func assistantMessage(c Content, path string) (providers.Message, error) {
	msg := providers.Message{Role: "assistant"}
	if !c.IsBlocks {
		msg.Content = providers.TextContent(c.Text)
		return msg, nil
	}
	var parts []providers.ContentPart
	cached := false
	for j, b := range c.Blocks {
		bp := path + "." + strconv.Itoa(j)
		switch b.Type {
		case "text":
			parts = append(parts, providers.ContentPart{Type: "text", Text: b.Text, CacheControl: cacheControl(b.CacheControl)})
			cached = cached || b.CacheControl != nil
		case "tool_use":
			args, err := toolArguments(b.Input, bp)
			if err != nil {
				return msg, err
			}
			if b.ID == "" || b.Name == "" {
				return msg, invalid("%s: tool_use blocks need an id and a name", bp)
			}
			msg.ToolCalls = append(msg.ToolCalls, providers.ToolCall{ID: b.ID, Type: "function",
				Function: providers.FunctionCall{Name: b.Name, Arguments: args}})
		case "thinking":
			msg.ThinkingBlocks = append(msg.ThinkingBlocks, providers.ThinkingBlock{Type: "thinking", Thinking: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			msg.ThinkingBlocks = append(msg.ThinkingBlocks, providers.ThinkingBlock{Type: "redacted_thinking", Data: b.Data})
		default:
			return msg, invalid("%s.type: %q blocks cannot be served by the target chosen for this request", bp, b.Type)
		}
	}
	switch {
	case cached:
		msg.Content = providers.Content{Parts: parts, IsParts: true}
	case len(parts) > 0:
		var text strings.Builder
		for _, p := range parts {
			text.WriteString(p.Text)
		}
		msg.Content = providers.TextContent(text.String())
	default:
		msg.Content = providers.Content{Null: true}
	}
	return msg, nil
}

// toolArguments is a tool_use input as OpenAI's arguments string: the object as
// the client wrote it, compacted.
func toolArguments(input json.RawMessage, path string) (string, error) {
	in := bytes.TrimSpace(input)
	if len(in) == 0 {
		return "{}", nil
	}
	if in[0] != '{' {
		return "", invalid("%s.input: Input should be a valid dictionary", path)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, in); err != nil {
		return "", invalid("%s.input: Input should be a valid dictionary", path)
	}
	return b.String(), nil
}

func translateTools(tools []Tool) ([]providers.Tool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]providers.Tool, 0, len(tools))
	for i, t := range tools {
		if t.Type != "" && t.Type != "custom" {
			return nil, invalid("tools.%d.type: server tools (%q) can be served only by targets that speak the Messages API natively", i, t.Type)
		}
		if t.Name == "" {
			return nil, invalid("tools.%d.name: Field required", i)
		}
		schema := t.InputSchema
		if len(bytes.TrimSpace(schema)) == 0 || string(bytes.TrimSpace(schema)) == "null" {
			return nil, invalid("tools.%d.input_schema: Field required", i)
		}
		out = append(out, providers.Tool{Type: "function", CacheControl: cacheControl(t.CacheControl),
			Function: providers.Function{Name: t.Name, Description: t.Description, Parameters: schema, Strict: t.Strict}})
	}
	return out, nil
}

func translateToolChoice(c *providers.ChatRequest, tc *ToolChoice) error {
	switch tc.Type {
	case "auto":
		c.ToolChoice = &providers.ToolChoice{Mode: "auto"}
	case "any":
		c.ToolChoice = &providers.ToolChoice{Mode: "required"}
	case "tool":
		if tc.Name == "" {
			return invalid("tool_choice.name: Field required")
		}
		c.ToolChoice = &providers.ToolChoice{Function: tc.Name}
	case "none":
		c.ToolChoice = &providers.ToolChoice{Mode: "none"}
		return nil
	default:
		return invalid("tool_choice.type: Input tag %q found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", tc.Type)
	}
	if tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse {
		no := false
		c.ParallelToolCalls = &no
	}
	return nil
}
