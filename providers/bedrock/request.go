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
	// body is the request body as sent, written in own's buffer when it is not
	// nil (body.go).
	body []byte
	own  *providers.Lease
	// sum is body's SHA-256, for the signature.
	sum [32]byte
	// jsonTool names the synthetic tool that carries a json_schema response (see
	// responseFormatTool); its input is returned as the message text. Empty when
	// the request has no json_schema response format.
	jsonTool string
}

// translateRequest turns a client's chat request into the Converse request for
// model (a model id, an inference profile id, or an ARN). The body is written
// into one buffer: the messages straight from the client's JSON (conversation.go),
// the rest from the request's other members, which encoding/json decodes as
// providers.Request.Canonical would (they are a few kilobytes: the settings and
// the tool definitions).
func translateRequest(r *providers.Request, model string) (*converseRequest, error) {
	req, err := headOf(r)
	if err != nil {
		return nil, err
	}
	if err := checkUnsupported(req); err != nil {
		return nil, err
	}
	n := len(r.Body) + len(r.Body)/8 + 1024
	own := providers.NewLease(n)
	var buf []byte
	if own != nil {
		buf = own.Buffer()
	} else {
		buf = make([]byte, 0, n)
	}
	c := conversation{keepReasoning: familyOf(model) == familyClaude, out: buf}
	out, err := c.translate(r, req, model)
	if err != nil {
		c.hash.wait()
		own.Release()
		return nil, err
	}
	if own != nil && !own.Owns(out.body) {
		own.Release() // the body grew out of the lent buffer
		own = nil
	}
	out.own = own
	return out, nil
}

// translate writes the Converse body after the messages were checked.
func (c *conversation) translate(r *providers.Request, req *providers.ChatRequest, model string) (*converseRequest, error) {
	c.out = append(c.out, `{"messages":`...)
	if err := c.writeMessages(r.Messages); err != nil {
		return nil, err
	}
	var s settings
	s.InferenceConfig = translateInference(req)
	var instruction string
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_object" {
		instruction = jsonObjectInstruction
	}
	c.writeSystem(instruction)
	out := &converseRequest{}
	var jsonSpec tool
	var err error
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" {
		if out.jsonTool, jsonSpec, err = responseFormatTool(rf.JSONSchema, req.Tools); err != nil {
			return nil, err
		}
	}
	if s.ToolConfig, err = translateTools(req, c.used, out.jsonTool, jsonSpec); err != nil {
		return nil, err
	}
	if err := applyReasoning(req, model, c.unsignedLoop, &s); err != nil {
		return nil, err
	}
	c.out = append(s.append(c.out), '}')
	out.body = c.out
	out.sum = c.hash.finish(c.out)
	return out, nil
}

// headOf decodes every member of the request but messages, as Canonical would:
// the tools by readTools, the others by encoding/json, from the body with its
// messages and tools arrays (which ParseChat found and checked: the messages are
// a slice of the body, each spelled once and plainly) replaced by empty ones.
func headOf(r *providers.Request) (*providers.ChatRequest, error) {
	body := r.Body
	at := cap(body) - cap(r.Messages)
	if len(r.Messages) == 0 || at < 0 || at+len(r.Messages) > len(body) || &body[at] != &r.Messages[0] {
		return nil, &providers.Error{Class: providers.ClassInternal, Message: "the request's messages are not part of its body"}
	}
	// The spans of the two arrays, in the order they come.
	cuts := [][2]int{{at, at + len(r.Messages)}}
	o, ok := newObject(body[skipSpace(body, 0):])
	if !ok {
		return nil, providers.InvalidRequest("", "The request body must be a JSON object.")
	}
	base := len(body) - len(o.b)
	var tools []byte
	for {
		name, i, err := o.member()
		if err != nil {
			return nil, providers.InvalidRequest("", "Invalid request: the body is not valid JSON.")
		}
		if name == nil {
			break
		}
		if base+i == at {
			o.skipTo(i + len(r.Messages))
			continue
		}
		end, ok := valueEnd(o.b, i)
		if !ok {
			return nil, providers.InvalidRequest("", "Invalid request: the body is not valid JSON.")
		}
		o.skipTo(end)
		if string(name) == "tools" {
			tools = o.b[i:end]
			cuts = append(cuts, [2]int{base + i, base + end})
		}
	}
	if len(cuts) == 2 && cuts[1][0] < cuts[0][0] {
		cuts[0], cuts[1] = cuts[1], cuts[0]
	}
	shell := make([]byte, 0, len(body)-len(r.Messages)-len(tools)+4)
	prev := 0
	for _, c := range cuts {
		shell = append(append(shell, body[prev:c[0]]...), "[]"...)
		prev = c[1]
	}
	shell = append(shell, body[prev:]...)
	var req providers.ChatRequest
	if err := json.Unmarshal(shell, &req); err != nil {
		return nil, providers.InvalidRequest("", "Invalid request: "+err.Error())
	}
	var err error
	if req.Tools, err = readTools(tools); err != nil {
		return nil, err
	}
	return &req, nil
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
		tools = append(tools, tool{ToolSpec: &toolSpec{Name: t.Function.Name, Description: t.Function.Description,
			InputSchema: inputSchema{JSON: doc}}})
		if cc := t.CacheControl; cc != nil {
			tools = append(tools, tool{CachePoint: cachePoint(cc)})
		}
		names = append(names, t.Function.Name)
	}
	for _, name := range historyTools {
		if !slices.Contains(names, name) {
			tools = append(tools, tool{ToolSpec: &toolSpec{Name: name, InputSchema: inputSchema{JSON: anyObjectSchema}}})
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
	return name, tool{ToolSpec: &toolSpec{Name: name, Description: desc, InputSchema: inputSchema{JSON: doc}}}, nil
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}
