package anthropic

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/switchyard/switchyard/providers"
)

// The Messages API request, https://platform.claude.com/docs/en/api/messages (field
// names checked against the official SDK, github.com/anthropics/anthropic-sdk-go/v2
// v2.15.0, MessageNewParams).

// DefaultMaxTokens is sent when the client names no max_tokens: Anthropic requires
// one and OpenAI does not.
const DefaultMaxTokens = 4096

// jsonToolName is the tool forced in JSON object mode (see jsonObjectTool). A client
// tool of the same name is rejected rather than silently shadowed.
const jsonToolName = "json_response"

type messagesRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	// System is the prompt as a string, or as text blocks when a part carries
	// cache_control (see systemPrompt); nil when there is none.
	System        any           `json:"system,omitempty"`
	Messages      []message     `json:"messages"`
	Stream        bool          `json:"stream,omitempty"`
	Temperature   *float64      `json:"temperature,omitempty"`
	TopP          *float64      `json:"top_p,omitempty"`
	StopSequences []string      `json:"stop_sequences,omitempty"`
	Tools         []tool        `json:"tools,omitempty"`
	ToolChoice    *toolChoice   `json:"tool_choice,omitempty"`
	Metadata      *metadata     `json:"metadata,omitempty"`
	OutputConfig  *outputConfig `json:"output_config,omitempty"`
	// Thinking turns extended thinking on (thinking.go).
	Thinking *thinkingParam `json:"thinking,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is any request content block; the fields of each type are exclusive, so
// omitempty keeps each block to its own members. Empty text blocks are never built:
// Anthropic rejects them.
type block struct {
	Type string `json:"type"`
	// text
	Text string `json:"text,omitempty"`
	// image
	Source *imageSource `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string `json:"tool_use_id,omitempty"`
	Content   string `json:"content,omitempty"`
	// thinking (Thinking is always written, even empty) and redacted_thinking
	Thinking  *string `json:"thinking,omitempty"`
	Signature string  `json:"signature,omitempty"`
	Data      string  `json:"data,omitempty"`
	// CacheControl marks a prompt-cache breakpoint (cache.go).
	CacheControl *providers.CacheControl `json:"cache_control,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"` // base64
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	// Strict is Anthropic's strict tool use (schema-constrained input), the
	// counterpart of OpenAI's function.strict.
	Strict       bool                    `json:"strict,omitempty"`
	CacheControl *providers.CacheControl `json:"cache_control,omitempty"`
}

type toolChoice struct {
	Type                   string `json:"type"` // auto | any | tool | none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

type outputConfig struct {
	Format *outputFormat `json:"format,omitempty"`
	// Effort is low, medium, high, xhigh or max (thinking.go).
	Effort string `json:"effort,omitempty"`
}

type outputFormat struct {
	Type   string          `json:"type"` // json_schema
	Schema json.RawMessage `json:"schema"`
}

// translation is what the response and stream translators need to know about the
// request they answer.
type translation struct {
	// jsonTool: the answer arrives as the input of the forced json_response tool
	// and is handed to the client as text.
	jsonTool bool
	// hideReasoning leaves reasoning_content out (Call.HideReasoning).
	hideReasoning bool
}

// requestOptions are the provider settings that shape a request.
type requestOptions struct {
	maxTokens int
	// noSampling: the API version takes no temperature or top_p (2026-10-21 and
	// later).
	noSampling bool
}

var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// translateRequest builds the Messages API body of a canonical chat request.
// Decisions, each from the docs named beside it:
//   - system and developer messages are joined with "\n" into the top-level system
//     prompt, as Anthropic's own OpenAI compatibility layer does
//     (https://platform.claude.com/docs/en/api/openai-sdk);
//   - consecutive turns of one role are merged, tool results first in their user
//     turn (the API requires tool_result blocks to open the message after tool_use);
//   - temperature above 1 is capped at 1 (Anthropic's range is 0..1; the
//     compatibility layer caps the same way); with API version 2026-10-21, which
//     removed temperature and top_p, both are left out;
//   - n > 1, logprobs and top_logprobs cannot be honoured: 400. presence and
//     frequency penalties, seed, logit_bias, reasoning_effort and OpenAI's metadata
//     are ignored, as the compatibility layer ignores them;
//   - response_format json_schema → output_config.format (structured outputs, GA
//     without a beta header); json_object has no structured-outputs form (its
//     schemas need closed objects), so it forces a json_response tool whose input
//     becomes the text (the docs' "JSON via tool use" pattern).
func translateRequest(c *providers.ChatRequest, model string, stream bool, opts requestOptions) ([]byte, translation, error) {
	var tr translation
	if c.N != nil && *c.N > 1 {
		return nil, tr, providers.Unsupported("n", "This backend (Anthropic) returns one choice per request: 'n' must be 1.")
	}
	if c.Logprobs != nil && *c.Logprobs {
		return nil, tr, providers.Unsupported("logprobs", "This backend (Anthropic) does not return log probabilities.")
	}
	if c.TopLogprobs != nil && *c.TopLogprobs > 0 {
		return nil, tr, providers.Unsupported("top_logprobs", "This backend (Anthropic) does not return log probabilities.")
	}
	req := messagesRequest{Model: model, MaxTokens: c.MaxOutputTokens(), Stream: stream, StopSequences: c.Stop}
	if req.MaxTokens <= 0 {
		req.MaxTokens = opts.maxTokens
	}
	if !opts.noSampling {
		req.TopP = c.TopP
		if t := c.Temperature; t != nil {
			v := min(*t, 1)
			req.Temperature = &v
		}
	}
	if c.User != "" {
		req.Metadata = &metadata{UserID: c.User}
	}
	system, msgs, err := translateMessages(c.Messages)
	if err != nil {
		return nil, tr, err
	}
	req.System, req.Messages = system, msgs
	if c.MaxOutputTokens() <= 0 && c.ReasoningEffort != "" && c.ReasoningEffort != "none" {
		req.MaxTokens = max(req.MaxTokens, providers.ThinkingMaxTokens)
	}
	if req.Tools, err = translateTools(c.Tools); err != nil {
		return nil, tr, err
	}
	if req.ToolChoice, err = translateToolChoice(c.ToolChoice, c.ParallelToolCalls, len(req.Tools) > 0); err != nil {
		return nil, tr, err
	}
	if rf := c.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_schema":
			if rf.JSONSchema == nil || len(bytes.TrimSpace(rf.JSONSchema.Schema)) == 0 {
				return nil, tr, providers.InvalidRequest("response_format", "Missing required parameter: 'response_format.json_schema.schema'.")
			}
			req.OutputConfig = &outputConfig{Format: &outputFormat{Type: "json_schema", Schema: rf.JSONSchema.Schema}}
		case "json_object":
			tr.jsonTool = jsonObjectTool(&req)
		default:
			return nil, tr, providers.InvalidRequest("response_format", "Invalid value for 'response_format.type': "+strconv.Quote(rf.Type)+".")
		}
	}
	if err := applyThinking(c, &req, tr.jsonTool); err != nil {
		return nil, tr, err
	}
	body, err := json.Marshal(&req)
	if err != nil {
		// Only client JSON kept raw (schemas) can fail here; it was valid when decoded.
		return nil, tr, providers.InvalidRequest("", "Invalid request: "+err.Error())
	}
	return body, tr, nil
}

// jsonObjectTool adds the json_response tool for JSON object mode and reports
// whether the answer will arrive through it. With client tools the model may still
// call them: auto becomes any (call a client tool, or answer through
// json_response); none forces json_response. Required and named choices answer
// with client tool calls, so JSON mode does not apply to them.
func jsonObjectTool(req *messagesRequest) bool {
	tc := req.ToolChoice
	if tc != nil && (tc.Type == "any" || tc.Type == "tool") {
		return false
	}
	req.Tools = append(req.Tools, tool{
		Name:        jsonToolName,
		Description: "Respond to the user with a JSON object. Always use this tool for the final answer.",
		InputSchema: json.RawMessage(`{"type":"object"}`),
	})
	switch {
	case len(req.Tools) == 1 || (tc != nil && tc.Type == "none"):
		req.ToolChoice = &toolChoice{Type: "tool", Name: jsonToolName}
	default:
		choice := &toolChoice{Type: "any"}
		if tc != nil {
			choice.DisableParallelToolUse = tc.DisableParallelToolUse
		}
		req.ToolChoice = choice
	}
	return true
}

// translateMessages returns the system prompt and the alternating turns.
func translateMessages(msgs []providers.Message) (any, []message, error) {
	var system []block
	var out []message
	appendTurn := func(role string, blocks []block) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, message{Role: role, Content: blocks})
	}
	for i, m := range msgs {
		param := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case "system", "developer":
			system = append(system, systemBlocks(m.Content)...)
		case "user":
			blocks, err := userBlocks(m.Content, param)
			if err != nil {
				return "", nil, err
			}
			appendTurn("user", blocks)
		case "tool":
			if m.ToolCallID == "" {
				return "", nil, providers.InvalidRequest(param+".tool_call_id", "Missing required parameter: '"+param+".tool_call_id'.")
			}
			appendTurn("user", []block{{Type: "tool_result", ToolUseID: toolID(m.ToolCallID), Content: m.Content.AllText(),
				CacheControl: m.Content.LastCacheControl()}})
		case "assistant":
			blocks, err := assistantBlocks(m, param)
			if err != nil {
				return "", nil, err
			}
			appendTurn("assistant", blocks)
		case "function":
			return "", nil, providers.Unsupported(param+".role", "The deprecated 'function' role is not supported by this backend (Anthropic): use tools and 'tool' messages.")
		default:
			return "", nil, providers.InvalidRequest(param+".role", "Invalid value for '"+param+".role': "+strconv.Quote(m.Role)+".")
		}
	}
	for i := range out {
		if out[i].Role == "user" {
			// tool_result blocks must open the turn that follows tool_use.
			slices.SortStableFunc(out[i].Content, func(a, b block) int {
				return cmp.Compare(rank(a), rank(b))
			})
		}
	}
	return systemPrompt(system), out, nil
}

func rank(b block) int {
	if b.Type == "tool_result" {
		return 0
	}
	return 1
}

func userBlocks(c providers.Content, param string) ([]block, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: c.Text}}, nil
	}
	out := make([]block, 0, len(c.Parts))
	for j, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, providers.InvalidRequest(fmt.Sprintf("%s.content[%d].image_url", param, j), "Missing required parameter: 'image_url'.")
			}
			img, err := providers.ParseImageURL(p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			out = append(out, block{Type: "image", Source: &imageSource{Type: "base64", MediaType: img.MediaType, Data: img.Base64},
				CacheControl: p.CacheControl})
		default:
			return nil, providers.Unsupported(fmt.Sprintf("%s.content[%d].type", param, j),
				"Content parts of type "+strconv.Quote(p.Type)+" are not supported by this backend (Anthropic): use text and image_url.")
		}
	}
	return out, nil
}

func assistantBlocks(m providers.Message, param string) ([]block, error) {
	out := thinkingBlocks(m.ThinkingBlocks)
	if text := m.Content.AllText(); text != "" {
		out = append(out, block{Type: "text", Text: text, CacheControl: m.Content.LastCacheControl()})
	}
	for j, call := range m.ToolCalls {
		p := fmt.Sprintf("%s.tool_calls[%d]", param, j)
		if call.Type != "" && call.Type != "function" {
			return nil, providers.Unsupported(p+".type", "Only function tool calls are supported by this backend (Anthropic).")
		}
		input, err := toolInput(call.Function.Arguments, p+".function.arguments")
		if err != nil {
			return nil, err
		}
		out = append(out, block{Type: "tool_use", ID: toolID(call.ID), Name: call.Function.Name, Input: input})
	}
	return out, nil
}

// toolInput turns OpenAI's arguments string into Anthropic's input object.
func toolInput(args, param string) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace([]byte(args))
	if len(trimmed) == 0 {
		return json.RawMessage("{}"), nil
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, providers.InvalidRequest(param, "Invalid '"+param+"': the arguments of a tool call must be a JSON object, as this backend (Anthropic) takes them as the tool's input.")
	}
	return trimmed, nil
}

// toolID makes a tool call id acceptable to Anthropic, which requires
// ^[a-zA-Z0-9_-]+$ (a 400 "String should match pattern" otherwise). Ids minted by
// other providers may hold other characters; the same mapping applies to tool_use
// and tool_result, so pairs stay matched, and a hash of the original keeps two ids
// that differ only in such characters apart.
func toolID(id string) string {
	valid := id != ""
	for i := 0; i < len(id) && valid; i++ {
		valid = isIDByte(id[i])
	}
	if valid {
		return id
	}
	b := make([]byte, 0, len(id)+9)
	for i := 0; i < len(id); i++ {
		if isIDByte(id[i]) {
			b = append(b, id[i])
		} else {
			b = append(b, '_')
		}
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return string(b) + "_" + strconv.FormatUint(uint64(h.Sum32()), 16)
}

func isIDByte(c byte) bool {
	return c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func translateTools(tools []providers.Tool) ([]tool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]tool, 0, len(tools)+1)
	for i, t := range tools {
		param := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "function" {
			return nil, providers.Unsupported(param+".type", "Only function tools are supported by this backend (Anthropic).")
		}
		if t.Function.Name == jsonToolName {
			return nil, providers.Unsupported(param+".function.name", "The tool name "+strconv.Quote(jsonToolName)+" is reserved by the gateway for JSON mode on this backend (Anthropic).")
		}
		schema := t.Function.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || bytes.Equal(bytes.TrimSpace(schema), []byte("null")) {
			schema = emptyObjectSchema
		}
		out = append(out, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema,
			Strict: t.Function.Strict != nil && *t.Function.Strict, CacheControl: t.CacheControl})
	}
	return out, nil
}

// translateToolChoice maps OpenAI's tool_choice and parallel_tool_calls:
// auto → auto, none → none, required → any, a named function → tool; and
// parallel_tool_calls: false → disable_parallel_tool_use (which "none" does not take).
func translateToolChoice(tc *providers.ToolChoice, parallel *bool, hasTools bool) (*toolChoice, error) {
	if !hasTools {
		return nil, nil // OpenAI ignores tool_choice without tools; Anthropic would not
	}
	disable := parallel != nil && !*parallel
	if tc == nil {
		if disable {
			return &toolChoice{Type: "auto", DisableParallelToolUse: true}, nil
		}
		return nil, nil
	}
	if tc.Function != "" {
		return &toolChoice{Type: "tool", Name: tc.Function, DisableParallelToolUse: disable}, nil
	}
	switch tc.Mode {
	case "auto", "":
		return &toolChoice{Type: "auto", DisableParallelToolUse: disable}, nil
	case "required":
		return &toolChoice{Type: "any", DisableParallelToolUse: disable}, nil
	case "none":
		return &toolChoice{Type: "none"}, nil
	}
	return nil, providers.InvalidRequest("tool_choice", "Invalid value for 'tool_choice': "+strconv.Quote(tc.Mode)+".")
}
