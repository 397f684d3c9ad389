package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/switchyard/switchyard/providers"
)

// The Converse API: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
// The wire types are in wire.go; this file decides what each OpenAI field becomes.

// jsonObjectInstruction is appended to the system prompt for response_format
// json_object: Converse has no JSON mode, and OpenAI's own json_object mode also
// relies on the prompt describing the object it wants.
const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else: no prose before or after it, no Markdown code fences."

// converseRequest is one chat request in Converse terms.
type converseRequest struct {
	body converseBody
	// jsonTool names the synthetic tool that carries a json_schema response (see
	// responseFormatTool); its input is returned as the message text. Empty when
	// the request has no json_schema response format.
	jsonTool string
}

// translateRequest turns a canonical chat request into a Converse request for model
// (a model id, an inference profile id, or an ARN).
func translateRequest(req *providers.ChatRequest, model string) (*converseRequest, error) {
	if err := checkUnsupported(req); err != nil {
		return nil, err
	}
	out := &converseRequest{}
	in := &out.body
	var err error
	var historyTools []string // tool names the conversation already used
	if in.System, in.Messages, historyTools, err = translateMessages(req.Messages); err != nil {
		return nil, err
	}
	in.InferenceConfig = translateInference(req)
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_object" {
		in.System = append(in.System, systemBlock{Text: jsonObjectInstruction})
	}
	var jsonSpec tool
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" {
		if out.jsonTool, jsonSpec, err = responseFormatTool(rf.JSONSchema, req.Tools); err != nil {
			return nil, err
		}
	}
	if in.ToolConfig, err = translateTools(req, historyTools, out.jsonTool, jsonSpec); err != nil {
		return nil, err
	}
	if req.ReasoningEffort != "" {
		effort, err := reasoningEffort(req.ReasoningEffort)
		if err != nil {
			return nil, err
		}
		if effort != "" {
			in.OutputConfig = &outputConfig{Effort: effort}
		}
	}
	return out, nil
}

// encode is the request body as sent. Schemas and tool inputs are the client's
// JSON as written (compacted, without HTML escaping), so numbers stay exact.
func (c *converseRequest) encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c.body); err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "encoding the Converse request"}
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// checkUnsupported rejects parameters Converse cannot honour, rather than
// silently answering something the client did not ask for. seed,
// parallel_tool_calls, user, metadata and store are hints Bedrock has no field for
// and are ignored.
func checkUnsupported(req *providers.ChatRequest) error {
	switch {
	case req.N != nil && *req.N > 1:
		return providers.Unsupported("n", "Bedrock returns one choice per request: 'n' must be 1 on this backend.")
	case req.Logprobs != nil && *req.Logprobs:
		return providers.Unsupported("logprobs", "Bedrock's Converse API does not return log probabilities: 'logprobs' is not supported on this backend.")
	case req.TopLogprobs != nil && *req.TopLogprobs > 0:
		return providers.Unsupported("top_logprobs", "Bedrock's Converse API does not return log probabilities: 'top_logprobs' is not supported on this backend.")
	case len(req.LogitBias) > 0:
		return providers.Unsupported("logit_bias", "'logit_bias' is not supported on the Bedrock backend.")
	case req.PresencePenalty != nil && *req.PresencePenalty != 0:
		return providers.Unsupported("presence_penalty", "'presence_penalty' is not supported on the Bedrock backend (Converse has no penalty parameters).")
	case req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0:
		return providers.Unsupported("frequency_penalty", "'frequency_penalty' is not supported on the Bedrock backend (Converse has no penalty parameters).")
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text", "json_object", "json_schema":
		default:
			return providers.InvalidRequest("response_format", fmt.Sprintf("Invalid value for 'response_format.type': %q.", rf.Type))
		}
	}
	return nil
}

// translateInference maps the sampling parameters; nil when the request sets
// none, so that Bedrock applies the model's defaults.
func translateInference(req *providers.ChatRequest) *inferenceConfig {
	var c inferenceConfig
	set := false
	if n := req.MaxOutputTokens(); n > 0 {
		n = min(n, 1<<31-1) // maxTokens is a 32-bit integer
		c.MaxTokens = &n
		set = true
	}
	if req.Temperature != nil {
		c.Temperature = req.Temperature
		set = true
	}
	if req.TopP != nil {
		c.TopP = req.TopP
		set = true
	}
	if len(req.Stop) > 0 {
		c.StopSequences = req.Stop
		set = true
	}
	if !set {
		return nil
	}
	return &c
}

// translateMessages splits the conversation into Converse's system blocks and
// messages. Converse requires user and assistant turns to alternate, starting with
// a user turn; OpenAI allows consecutive turns of one role and sends tool results
// as their own "tool" turns. So consecutive turns of one role merge into one
// message, and tool results become toolResult blocks of a user turn, placed before
// any other block of that turn (Anthropic models require tool results first).
// System and developer messages, wherever they appear, become system blocks in
// their order. It also returns the tool names the conversation's tool calls used.
func translateMessages(in []providers.Message) ([]systemBlock, []message, []string, error) {
	var system []systemBlock
	msgs := make([]message, 0, len(in))
	var used []string
	for i := range in {
		m := &in[i]
		var role string
		var blocks []contentBlock
		var err error
		switch m.Role {
		case "system", "developer":
			text, err := textOnly(m.Content, m.Role)
			if err != nil {
				return nil, nil, nil, err
			}
			if text != "" {
				system = append(system, systemBlock{Text: text})
			}
			continue
		case "user":
			role = "user"
			blocks, err = userBlocks(m.Content)
		case "assistant":
			role = "assistant"
			blocks, err = assistantBlocks(m)
			for _, c := range m.ToolCalls {
				if !slices.Contains(used, c.Function.Name) {
					used = append(used, c.Function.Name)
				}
			}
		case "tool":
			role = "user"
			var text string
			if text, err = textOnly(m.Content, "tool"); err == nil {
				blocks = []contentBlock{{ToolResult: &toolResultBlock{ToolUseID: m.ToolCallID,
					Content: []toolResultContent{{Text: text}}}}}
			}
		case "function":
			return nil, nil, nil, providers.Unsupported("messages", "The deprecated 'function' role is not supported on the Bedrock backend: use tool calls and 'tool' messages.")
		default:
			return nil, nil, nil, providers.InvalidRequest("messages", fmt.Sprintf("Invalid value for 'messages[%d].role': %q.", i, m.Role))
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if len(blocks) == 0 {
			continue // Converse rejects blank text blocks; an empty turn adds nothing
		}
		if n := len(msgs); n > 0 && msgs[n-1].Role == role {
			msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
		} else {
			msgs = append(msgs, message{Role: role, Content: blocks})
		}
	}
	for i := range msgs {
		if msgs[i].Role == "user" {
			slices.SortStableFunc(msgs[i].Content, func(a, b contentBlock) int {
				return toolResultRank(a) - toolResultRank(b)
			})
		}
	}
	return system, msgs, used, nil
}

func toolResultRank(b contentBlock) int {
	if b.ToolResult != nil {
		return 0
	}
	return 1
}

// textOnly returns the text of a message whose role carries only text.
func textOnly(c providers.Content, role string) (string, error) {
	for _, p := range c.Parts {
		if p.Type != "text" {
			return "", providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported in %s messages on the Bedrock backend.", p.Type, role))
		}
	}
	return c.AllText(), nil
}

func userBlocks(c providers.Content) ([]contentBlock, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []contentBlock{{Text: c.Text}}, nil
	}
	blocks := make([]contentBlock, 0, len(c.Parts))
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, contentBlock{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, providers.InvalidRequest("messages", "An 'image_url' content part needs an 'image_url' object.")
			}
			img, err := providers.ParseImageURL(p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, contentBlock{Image: &imageBlock{Format: imageFormat(img.MediaType),
				Source: imageSource{Bytes: img.Data}}})
		default:
			return nil, providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported on the Bedrock backend.", p.Type))
		}
	}
	return blocks, nil
}

// imageFormat maps the media types ParseImageURL accepts to Converse's formats
// (API_runtime_ImageBlock.html: png, jpeg, gif, webp).
func imageFormat(mediaType string) string {
	switch mediaType {
	case "image/jpeg":
		return "jpeg"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return "png"
}

// assistantBlocks keeps the text (or refusal) and turns tool calls into toolUse
// blocks with the same ids, so that the following tool results still match.
func assistantBlocks(m *providers.Message) ([]contentBlock, error) {
	text, err := textOnly(m.Content, "assistant")
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = m.Refusal
	}
	blocks := make([]contentBlock, 0, 1+len(m.ToolCalls))
	if text != "" {
		blocks = append(blocks, contentBlock{Text: text})
	}
	for _, c := range m.ToolCalls {
		input, err := jsonObject([]byte(c.Function.Arguments), true)
		if err != nil {
			return nil, providers.InvalidRequest("messages", fmt.Sprintf("The arguments of tool call %q must be a JSON object: %v", c.ID, err))
		}
		blocks = append(blocks, contentBlock{ToolUse: &toolUseBlock{ToolUseID: c.ID, Name: c.Function.Name, Input: input}})
	}
	return blocks, nil
}

// translateTools maps tools and tool_choice.
//
//   - auto (or absent): the tools, with no toolChoice (Converse's default is auto,
//     and some models reject an explicit toolChoice).
//   - required: toolChoice any; named: toolChoice tool. Bedrock documents both for
//     Anthropic Claude 3+, Mistral Large and Amazon Nova only; other models answer
//     a ValidationException.
//   - none: Converse has no "none". The tools are left out, which forbids calls,
//     unless the conversation already holds toolUse/toolResult blocks: Bedrock
//     then requires a toolConfig ("The toolConfig field must be defined when using
//     toolUse and toolResult content blocks"), so the tools are sent without a
//     toolChoice and the model may still call one. With a json_schema response
//     format, the synthetic tool is forced instead, which does forbid the others.
//
// When the conversation used tools the request no longer lists, each gets a
// permissive placeholder spec, for the same reason. A json_schema response format
// adds its synthetic tool (see responseFormatTool): forced when the request has
// no tools, offered beside them with toolChoice any when it has (the model then
// calls a tool or gives its final answer through the synthetic one). OpenAI's
// "strict" flag is not forwarded: Converse's strict tool use is limited to some
// models, and the schema is sent either way.
func translateTools(req *providers.ChatRequest, historyTools []string, jsonTool string, jsonSpec tool) (*toolConfig, error) {
	mode := "auto"
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Function != "":
			mode = "named"
		case tc.Mode == "none", tc.Mode == "auto", tc.Mode == "required":
			mode = tc.Mode
		case tc.Mode != "":
			return nil, providers.InvalidRequest("tool_choice", fmt.Sprintf("Invalid value for 'tool_choice': %q.", tc.Mode))
		}
	}
	if mode == "none" && len(historyTools) == 0 {
		if jsonTool == "" {
			return nil, nil
		}
		return &toolConfig{Tools: []tool{jsonSpec}, ToolChoice: forceTool(jsonTool)}, nil
	}
	tools := make([]tool, 0, len(req.Tools)+len(historyTools)+1)
	var names []string
	for i, t := range req.Tools {
		if t.Type != "function" && t.Type != "" {
			return nil, providers.Unsupported(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("Tools of type %q are not supported on the Bedrock backend: only function tools are.", t.Type))
		}
		schema := []byte(t.Function.Parameters)
		if isNull(schema) {
			schema = emptySchema
		}
		doc, err := jsonObject(schema, false)
		if err != nil {
			return nil, providers.InvalidRequest(fmt.Sprintf("tools[%d].function.parameters", i), "Function parameters must be a JSON Schema object.")
		}
		tools = append(tools, tool{ToolSpec: toolSpec{Name: t.Function.Name, Description: t.Function.Description,
			InputSchema: inputSchema{JSON: doc}}})
		names = append(names, t.Function.Name)
	}
	for _, name := range historyTools {
		if !slices.Contains(names, name) {
			tools = append(tools, tool{ToolSpec: toolSpec{Name: name, InputSchema: inputSchema{JSON: anyObjectSchema}}})
			names = append(names, name)
		}
	}
	cfg := &toolConfig{Tools: tools}
	switch mode {
	case "none":
		if jsonTool != "" {
			// Forcing the synthetic tool both answers in JSON and keeps the
			// model from calling the client's tools.
			cfg.Tools = append(cfg.Tools, jsonSpec)
			cfg.ToolChoice = forceTool(jsonTool)
		}
	case "named":
		if !slices.Contains(names, req.ToolChoice.Function) {
			return nil, providers.InvalidRequest("tool_choice", fmt.Sprintf("Invalid value for 'tool_choice': no function named %q in 'tools'.", req.ToolChoice.Function))
		}
		cfg.ToolChoice = forceTool(req.ToolChoice.Function)
	case "required":
		if len(req.Tools) == 0 {
			return nil, providers.InvalidRequest("tool_choice", "'tool_choice' is 'required' but no 'tools' were given.")
		}
		cfg.ToolChoice = &toolChoice{Any: &struct{}{}}
	case "auto":
		if jsonTool != "" {
			// The model either calls one of the client's tools or answers through
			// the synthetic tool, which is what the JSON format asks of a final answer.
			cfg.Tools = append(cfg.Tools, jsonSpec)
			if len(req.Tools) == 0 {
				cfg.ToolChoice = forceTool(jsonTool)
			} else {
				cfg.ToolChoice = &toolChoice{Any: &struct{}{}}
			}
		}
	}
	if len(cfg.Tools) == 0 {
		return nil, nil
	}
	return cfg, nil
}

func forceTool(name string) *toolChoice { return &toolChoice{Tool: &specificTool{Name: name}} }

var (
	// emptySchema stands for a function declared without parameters.
	emptySchema = []byte(`{"type":"object","properties":{}}`)
	// anyObjectSchema is the permissive spec of a tool only the history names.
	anyObjectSchema = json.RawMessage(`{"type":"object"}`)
)

// responseFormatTool builds the synthetic tool for a json_schema response format.
// Converse has no JSON mode that every model honours (outputConfig.textFormat,
// Bedrock's native structured output, is limited to some newer models), but every
// model with forced tool use returns input that matches a tool's schema. So the
// schema becomes a tool named after it, the model is made to call it, and its input
// is returned as the message text with finish reason "stop", as OpenAI does.
func responseFormatTool(js *providers.JSONSchema, clientTools []providers.Tool) (string, tool, error) {
	name, schema, desc := "json_response", []byte(anyObjectSchema), "Give the final answer as JSON matching this schema."
	if js != nil {
		if js.Name != "" {
			name = js.Name
		}
		if !isNull(js.Schema) {
			schema = js.Schema
		}
		if js.Description != "" {
			desc = js.Description
		}
	}
	for slices.ContainsFunc(clientTools, func(t providers.Tool) bool { return t.Function.Name == name }) {
		name += "_response" // never shadow one of the client's own tools
	}
	doc, err := jsonObject(schema, false)
	if err != nil {
		return "", tool{}, providers.InvalidRequest("response_format.json_schema.schema", "The response format schema must be a JSON Schema object.")
	}
	return name, tool{ToolSpec: toolSpec{Name: name, Description: desc, InputSchema: inputSchema{JSON: doc}}}, nil
}

// reasoningEffort maps OpenAI's reasoning_effort to outputConfig.effort (low,
// medium, high, xhigh, max). Bedrock documents the field for models with
// adjustable effort; others answer a ValidationException.
func reasoningEffort(e string) (string, error) {
	switch e {
	case "none":
		return "", nil
	case "minimal":
		return "low", nil
	case "low", "medium", "high", "xhigh":
		return e, nil
	}
	return "", providers.InvalidRequest("reasoning_effort", fmt.Sprintf("Invalid value for 'reasoning_effort': %q.", e))
}

// jsonObject checks that b holds one JSON object and returns it, to be sent as
// written: a Converse document (tool input, input schema) must be an object, and
// passing the bytes through keeps every number exact. emptyIsObject lets blank
// input stand for {} (tool calls without arguments).
func jsonObject(b []byte, emptyIsObject bool) (json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 && emptyIsObject {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("not valid JSON")
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	return b, nil
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}
