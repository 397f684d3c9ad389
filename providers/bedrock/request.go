package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithydocument "github.com/aws/smithy-go/document"

	"github.com/switchyard/switchyard/providers"
)

// The Converse API: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
// Field names and shapes are the SDK's (service/bedrockruntime/types), which
// serializes them; this file decides only what each OpenAI field becomes.

// jsonObjectInstruction is appended to the system prompt for response_format
// json_object: Converse has no JSON mode, and OpenAI's own json_object mode also
// relies on the prompt describing the object it wants.
const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else: no prose before or after it, no Markdown code fences."

// converseRequest is one chat request in Converse terms.
type converseRequest struct {
	input *bedrockruntime.ConverseInput
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
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(model)}
	var err error
	var historyTools []string // tool names the conversation already used
	if in.System, in.Messages, historyTools, err = translateMessages(req.Messages); err != nil {
		return nil, err
	}
	in.InferenceConfig = inferenceConfig(req)

	out := &converseRequest{input: in}
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_object" {
		in.System = append(in.System, &types.SystemContentBlockMemberText{Value: jsonObjectInstruction})
	}
	var jsonSpec types.Tool
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" {
		if out.jsonTool, jsonSpec, err = responseFormatTool(rf.JSONSchema, req.Tools); err != nil {
			return nil, err
		}
	}
	if in.ToolConfig, err = toolConfig(req, historyTools, out.jsonTool, jsonSpec); err != nil {
		return nil, err
	}
	if req.ReasoningEffort != "" {
		effort, err := reasoningEffort(req.ReasoningEffort)
		if err != nil {
			return nil, err
		}
		if effort != "" {
			in.OutputConfig = &types.OutputConfig{Effort: aws.String(effort)}
		}
	}
	return out, nil
}

// streamInput is the same request for ConverseStream, whose input has the same
// members (its guardrail configuration type differs; it is never set here).
func streamInput(in *bedrockruntime.ConverseInput) *bedrockruntime.ConverseStreamInput {
	return &bedrockruntime.ConverseStreamInput{
		ModelId:         in.ModelId,
		Messages:        in.Messages,
		System:          in.System,
		InferenceConfig: in.InferenceConfig,
		ToolConfig:      in.ToolConfig,
		OutputConfig:    in.OutputConfig,
	}
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

// inferenceConfig maps the sampling parameters; nil when the request sets none, so
// that Bedrock applies the model's defaults.
func inferenceConfig(req *providers.ChatRequest) *types.InferenceConfiguration {
	var c types.InferenceConfiguration
	set := false
	if n := req.MaxOutputTokens(); n > 0 {
		c.MaxTokens = aws.Int32(int32(min(n, 1<<31-1)))
		set = true
	}
	if req.Temperature != nil {
		c.Temperature = aws.Float32(float32(*req.Temperature))
		set = true
	}
	if req.TopP != nil {
		c.TopP = aws.Float32(float32(*req.TopP))
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
func translateMessages(in []providers.Message) ([]types.SystemContentBlock, []types.Message, []string, error) {
	var system []types.SystemContentBlock
	msgs := make([]types.Message, 0, len(in))
	var used []string
	for i := range in {
		m := &in[i]
		var role types.ConversationRole
		var blocks []types.ContentBlock
		var err error
		switch m.Role {
		case "system", "developer":
			text, err := textOnly(m.Content, m.Role)
			if err != nil {
				return nil, nil, nil, err
			}
			if text != "" {
				system = append(system, &types.SystemContentBlockMemberText{Value: text})
			}
			continue
		case "user":
			role = types.ConversationRoleUser
			blocks, err = userBlocks(m.Content)
		case "assistant":
			role = types.ConversationRoleAssistant
			blocks, err = assistantBlocks(m)
			for _, c := range m.ToolCalls {
				if !slices.Contains(used, c.Function.Name) {
					used = append(used, c.Function.Name)
				}
			}
		case "tool":
			role = types.ConversationRoleUser
			var text string
			if text, err = textOnly(m.Content, "tool"); err == nil {
				blocks = []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
					ToolUseId: aws.String(m.ToolCallID),
					Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: text}},
				}}}
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
			msgs = append(msgs, types.Message{Role: role, Content: blocks})
		}
	}
	for i := range msgs {
		if msgs[i].Role == types.ConversationRoleUser {
			slices.SortStableFunc(msgs[i].Content, func(a, b types.ContentBlock) int {
				return toolResultRank(a) - toolResultRank(b)
			})
		}
	}
	return system, msgs, used, nil
}

func toolResultRank(b types.ContentBlock) int {
	if _, ok := b.(*types.ContentBlockMemberToolResult); ok {
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

func userBlocks(c providers.Content) ([]types.ContentBlock, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []types.ContentBlock{&types.ContentBlockMemberText{Value: c.Text}}, nil
	}
	blocks := make([]types.ContentBlock, 0, len(c.Parts))
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, &types.ContentBlockMemberText{Value: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, providers.InvalidRequest("messages", "An 'image_url' content part needs an 'image_url' object.")
			}
			img, err := providers.ParseImageURL(p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, &types.ContentBlockMemberImage{Value: types.ImageBlock{
				Format: imageFormat(img.MediaType),
				Source: &types.ImageSourceMemberBytes{Value: img.Data},
			}})
		default:
			return nil, providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported on the Bedrock backend.", p.Type))
		}
	}
	return blocks, nil
}

// imageFormat maps the media types ParseImageURL accepts to Converse's formats.
func imageFormat(mediaType string) types.ImageFormat {
	switch mediaType {
	case "image/jpeg":
		return types.ImageFormatJpeg
	case "image/gif":
		return types.ImageFormatGif
	case "image/webp":
		return types.ImageFormatWebp
	}
	return types.ImageFormatPng
}

// assistantBlocks keeps the text (or refusal) and turns tool calls into toolUse
// blocks with the same ids, so that the following tool results still match.
func assistantBlocks(m *providers.Message) ([]types.ContentBlock, error) {
	text, err := textOnly(m.Content, "assistant")
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = m.Refusal
	}
	blocks := make([]types.ContentBlock, 0, 1+len(m.ToolCalls))
	if text != "" {
		blocks = append(blocks, &types.ContentBlockMemberText{Value: text})
	}
	for _, c := range m.ToolCalls {
		input, err := jsonDocument(c.Function.Arguments, true)
		if err != nil {
			return nil, providers.InvalidRequest("messages", fmt.Sprintf("The arguments of tool call %q must be a JSON object: %v", c.ID, err))
		}
		blocks = append(blocks, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
			ToolUseId: aws.String(c.ID),
			Name:      aws.String(c.Function.Name),
			Input:     input,
		}})
	}
	return blocks, nil
}

// toolConfig maps tools and tool_choice.
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
func toolConfig(req *providers.ChatRequest, historyTools []string, jsonTool string, jsonSpec types.Tool) (*types.ToolConfiguration, error) {
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
		return &types.ToolConfiguration{Tools: []types.Tool{jsonSpec},
			ToolChoice: &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(jsonTool)}}}, nil
	}
	tools := make([]types.Tool, 0, len(req.Tools)+len(historyTools)+1)
	var names []string
	for i, t := range req.Tools {
		if t.Type != "function" && t.Type != "" {
			return nil, providers.Unsupported(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("Tools of type %q are not supported on the Bedrock backend: only function tools are.", t.Type))
		}
		schema := string(t.Function.Parameters)
		if schema == "" || schema == "null" {
			schema = `{"type":"object","properties":{}}`
		}
		doc, err := jsonDocument(schema, false)
		if err != nil {
			return nil, providers.InvalidRequest(fmt.Sprintf("tools[%d].function.parameters", i), "Function parameters must be a JSON Schema object.")
		}
		spec := types.ToolSpecification{Name: aws.String(t.Function.Name), InputSchema: &types.ToolInputSchemaMemberJson{Value: doc}}
		if t.Function.Description != "" {
			spec.Description = aws.String(t.Function.Description)
		}
		tools = append(tools, &types.ToolMemberToolSpec{Value: spec})
		names = append(names, t.Function.Name)
	}
	for _, name := range historyTools {
		if !slices.Contains(names, name) {
			tools = append(tools, &types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String(name),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})}}})
			names = append(names, name)
		}
	}
	cfg := &types.ToolConfiguration{Tools: tools}
	switch mode {
	case "none":
		if jsonTool != "" {
			// Forcing the synthetic tool both answers in JSON and keeps the
			// model from calling the client's tools.
			cfg.Tools = append(cfg.Tools, jsonSpec)
			cfg.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(jsonTool)}}
		}
	case "named":
		if !slices.Contains(names, req.ToolChoice.Function) {
			return nil, providers.InvalidRequest("tool_choice", fmt.Sprintf("Invalid value for 'tool_choice': no function named %q in 'tools'.", req.ToolChoice.Function))
		}
		cfg.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(req.ToolChoice.Function)}}
	case "required":
		if len(req.Tools) == 0 {
			return nil, providers.InvalidRequest("tool_choice", "'tool_choice' is 'required' but no 'tools' were given.")
		}
		cfg.ToolChoice = &types.ToolChoiceMemberAny{}
	case "auto":
		if jsonTool != "" {
			// The model either calls one of the client's tools or answers through
			// the synthetic tool, which is what the JSON format asks of a final answer.
			cfg.Tools = append(cfg.Tools, jsonSpec)
			if len(req.Tools) == 0 {
				cfg.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(jsonTool)}}
			} else {
				cfg.ToolChoice = &types.ToolChoiceMemberAny{}
			}
		}
	}
	if len(cfg.Tools) == 0 {
		return nil, nil
	}
	return cfg, nil
}

// responseFormatTool builds the synthetic tool for a json_schema response format.
// Converse has no JSON mode that every model honours (outputConfig.textFormat,
// Bedrock's native structured output, is limited to some newer models), but every
// model with forced tool use returns input that matches a tool's schema. So the
// schema becomes a tool named after it, the model is made to call it, and its input
// is returned as the message text with finish reason "stop", as OpenAI does.
func responseFormatTool(js *providers.JSONSchema, clientTools []providers.Tool) (string, types.Tool, error) {
	name, schema, desc := "json_response", `{"type":"object"}`, "Give the final answer as JSON matching this schema."
	if js != nil {
		if js.Name != "" {
			name = js.Name
		}
		if len(js.Schema) > 0 && string(js.Schema) != "null" {
			schema = string(js.Schema)
		}
		if js.Description != "" {
			desc = js.Description
		}
	}
	for slices.ContainsFunc(clientTools, func(t providers.Tool) bool { return t.Function.Name == name }) {
		name += "_response" // never shadow one of the client's own tools
	}
	doc, err := jsonDocument(schema, false)
	if err != nil {
		return "", nil, providers.InvalidRequest("response_format.json_schema.schema", "The response format schema must be a JSON Schema object.")
	}
	return name, &types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String(name),
		Description: aws.String(desc), InputSchema: &types.ToolInputSchemaMemberJson{Value: doc}}}, nil
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

// jsonDocument decodes a JSON object into a document the SDK serializes. Numbers
// stay exact: they are kept as their literal (smithy document.Number), which the
// SDK writes back verbatim. emptyIsObject lets "" stand for {} (tool calls without
// arguments).
func jsonDocument(s string, emptyIsObject bool) (document.Interface, error) {
	if emptyIsObject && len(bytes.TrimSpace([]byte(s))) == 0 {
		s = "{}"
	}
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return document.NewLazyDocument(exactNumbers(obj)), nil
}

func exactNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		return smithydocument.Number(t)
	case map[string]any:
		for k, e := range t {
			t[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = exactNumbers(e)
		}
	}
	return v
}
