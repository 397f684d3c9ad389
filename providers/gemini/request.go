package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// Canonical (OpenAI Chat Completions) → generateContent. Decisions, with sources
// (API reference: https://ai.google.dev/api/generate-content):
//   - system and developer messages become systemInstruction, in order;
//   - roles are "user" and "model"; consecutive turns of one role are merged, since
//     Gemini expects them to alternate; tool results are "user" turns of
//     functionResponse parts;
//   - tool results are matched by function name (recovered from the assistant tool
//     call with the same id), never by id: Gemini 2.x knows no call ids, and
//     Vertex AI rejected them on some models. functionResponse.response must be a
//     JSON object: an object result goes as is, anything else (OpenAI's usual
//     plain-text result) as {"output": ...}, the member the API reads as the
//     function's output ("Use "output" key to specify function output ... If
//     "output" and "error" keys are not specified, then whole "response" is
//     treated as function output": FunctionResponse.response, also in
//     google.golang.org/genai);
//   - tools send the client's JSON Schema unchanged as parametersJsonSchema
//     (FunctionDeclaration, Gemini API and Vertex AI), not as "parameters", whose
//     OpenAPI subset would need a lossy conversion (no $ref, anyOf limits, ...);
//   - json_schema uses responseJsonSchema for the same reason; json_object only
//     sets responseMimeType application/json;
//   - n > 1 becomes candidateCount for non-streamed requests; streamed, it is
//     unsupported (the stream translator speaks for choice 0 only);
//   - reasoning_effort becomes thinkingConfig (thinking.go);
//   - logprobs, top_logprobs, logit_bias and parallel_tool_calls=false have no
//     faithful translation and are refused with a 400 rather than silently ignored. user and metadata carry no generation
//     semantics and are dropped.

// translateRequest builds the generateContent body of a chat request.
func translateRequest(c *providers.ChatRequest, stream bool) (*generateRequest, error) {
	if err := checkUnsupported(c, stream); err != nil {
		return nil, err
	}
	g := &generateRequest{Contents: make([]content, 0, len(c.Messages))}
	if err := translateMessages(g, c.Messages); err != nil {
		return nil, err
	}
	if len(g.Contents) == 0 {
		return nil, providers.InvalidRequest("messages", "Gemini needs at least one user or assistant message besides system messages.")
	}
	if err := translateTools(g, c); err != nil {
		return nil, err
	}
	cfg, err := translateConfig(c)
	if err != nil {
		return nil, err
	}
	g.GenerationConfig = cfg
	return g, nil
}

// encodeRequest is the generateContent JSON of a call to model; hide is
// Call.HideReasoning.
func encodeRequest(r *providers.Request, model string, hide, stream bool) ([]byte, error) {
	c, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	g, err := translateRequest(c, stream)
	if err != nil {
		return nil, err
	}
	if err := applyThinking(g, c, model, hide); err != nil {
		return nil, err
	}
	body, err := json.Marshal(g)
	if err != nil {
		// Only client JSON (schemas, arguments) is embedded raw, and it was
		// validated; a failure here is a bug, not the caller's fault.
		return nil, &providers.Error{Class: providers.ClassLocal, Err: err, Message: "encoding the Gemini request failed"}
	}
	return body, nil
}

func checkUnsupported(c *providers.ChatRequest, stream bool) error {
	switch {
	case c.N != nil && *c.N > 1 && stream:
		return providers.Unsupported("n", "Gemini streams one candidate per request: 'n' greater than 1 is supported only without streaming.")
	case c.Logprobs != nil && *c.Logprobs, c.TopLogprobs != nil:
		return providers.Unsupported("logprobs", "'logprobs' and 'top_logprobs' are not supported by the Gemini backend.")
	case len(c.LogitBias) > 0:
		return providers.Unsupported("logit_bias", "'logit_bias' is not supported by the Gemini backend.")
	case c.ParallelToolCalls != nil && !*c.ParallelToolCalls:
		return providers.Unsupported("parallel_tool_calls", "Gemini cannot be told to avoid parallel function calls: 'parallel_tool_calls': false is not supported.")
	case c.Seed != nil && (*c.Seed > math.MaxInt32 || *c.Seed < math.MinInt32):
		return providers.InvalidRequest("seed", "Gemini takes a 32-bit 'seed'.")
	}
	return nil
}

// translateMessages fills systemInstruction and contents.
func translateMessages(g *generateRequest, msgs []providers.Message) error {
	var names map[string]string // tool call id → function name
	var system []part
	for i, m := range msgs {
		switch m.Role {
		case "system", "developer":
			if m.Content.IsParts {
				for _, p := range m.Content.Parts {
					if p.Type != "text" {
						return providers.Unsupported(fmt.Sprintf("messages[%d].content", i), "System messages may contain only text parts.")
					}
				}
			}
			if text := m.Content.AllText(); text != "" {
				system = append(system, part{Text: text})
			}
		case "user":
			parts, err := userParts(m.Content, i)
			if err != nil {
				return err
			}
			appendTurn(g, "user", parts...)
		case "assistant":
			if len(m.ToolCalls) > 0 && names == nil {
				names = make(map[string]string, len(m.ToolCalls))
			}
			parts, err := assistantParts(m, i, names)
			if err != nil {
				return err
			}
			appendTurn(g, "model", parts...)
		case "tool":
			name, ok := names[m.ToolCallID]
			if !ok {
				return providers.InvalidRequest(fmt.Sprintf("messages[%d].tool_call_id", i),
					fmt.Sprintf("Tool message tool_call_id %q does not match any tool call of an earlier assistant message.", m.ToolCallID))
			}
			appendTurn(g, "user", part{FunctionResponse: &functionResponse{Name: name, Response: toolResult(m.Content.AllText())}})
		default:
			return providers.InvalidRequest(fmt.Sprintf("messages[%d].role", i),
				fmt.Sprintf("Invalid value for 'role': %q. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.", m.Role))
		}
	}
	if len(system) > 0 {
		g.SystemInstruction = &content{Parts: system}
	}
	signModelTurns(g.Contents)
	return nil
}

// appendTurn adds parts to the last turn when it has the same role, else starts one.
func appendTurn(g *generateRequest, role string, parts ...part) {
	if len(parts) == 0 {
		return // Gemini rejects a turn without parts
	}
	if n := len(g.Contents); n > 0 && g.Contents[n-1].Role == role {
		g.Contents[n-1].Parts = append(g.Contents[n-1].Parts, parts...)
		return
	}
	g.Contents = append(g.Contents, content{Role: role, Parts: parts})
}

func userParts(c providers.Content, i int) ([]part, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []part{{Text: c.Text}}, nil
	}
	parts := make([]part, 0, len(c.Parts))
	for j, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, providers.InvalidRequest(fmt.Sprintf("messages[%d].content[%d].image_url", i, j), "Missing required parameter: 'image_url'.")
			}
			img, err := providers.ParseImageURL(p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{InlineData: &blob{MimeType: img.MediaType, Data: img.Base64}})
		default:
			return nil, providers.Unsupported(fmt.Sprintf("messages[%d].content[%d].type", i, j),
				fmt.Sprintf("Content parts of type %q are not supported by the Gemini backend.", p.Type))
		}
	}
	return parts, nil
}

// assistantParts turns an assistant message into model parts: its text, then one
// functionCall part per tool call, with the thought signature its id carries.
func assistantParts(m providers.Message, i int, names map[string]string) ([]part, error) {
	parts := make([]part, 0, 1+len(m.ToolCalls))
	if text := m.Content.AllText(); text != "" {
		parts = append(parts, part{Text: text, ThoughtSignature: textSignature(m.ThinkingBlocks)})
	}
	for j, tc := range m.ToolCalls {
		args, err := toolArgs(tc.Function.Arguments)
		if err != nil {
			return nil, providers.InvalidRequest(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j),
				"Tool call arguments must be a JSON object.")
		}
		if tc.Function.Name == "" {
			return nil, providers.InvalidRequest(fmt.Sprintf("messages[%d].tool_calls[%d].function.name", i, j), "Missing required parameter: 'name'.")
		}
		names[tc.ID] = tc.Function.Name
		parts = append(parts, part{
			FunctionCall:     &functionCall{Name: tc.Function.Name, Args: args},
			ThoughtSignature: signatureOf(tc.ID),
		})
	}
	return parts, nil
}

var emptyObject = json.RawMessage("{}")

// toolArgs returns the JSON object of an OpenAI arguments string ("" means {}).
func toolArgs(s string) (json.RawMessage, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return emptyObject, nil
	}
	if s[0] != '{' || !json.Valid([]byte(s)) {
		return nil, fmt.Errorf("arguments are not a JSON object")
	}
	return json.RawMessage(s), nil
}

// toolResult is a functionResponse.response: the result when it is a JSON object,
// else {"output": <the result as JSON, or as a string when it is not JSON>}.
func toolResult(s string) json.RawMessage {
	trimmed := strings.TrimSpace(s)
	if trimmed != "" && json.Valid([]byte(trimmed)) {
		if trimmed[0] == '{' {
			return json.RawMessage(trimmed)
		}
		return json.RawMessage(`{"output":` + trimmed + `}`)
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, `{"output":`...)
	b = providers.AppendJSONString(b, s)
	return append(b, '}')
}

// signModelTurns gives the first function call of every model turn that has no
// thought signature the skip value, so that Gemini 3 accepts history it did not
// write (a conversation begun on another provider, or a client that rebuilt ids).
func signModelTurns(contents []content) {
	for i := range contents {
		c := &contents[i]
		if c.Role != "model" {
			continue
		}
		first := -1
		signed := false
		for j := range c.Parts {
			if c.Parts[j].FunctionCall == nil {
				continue
			}
			if first < 0 {
				first = j
			}
			if c.Parts[j].ThoughtSignature != "" {
				signed = true
			}
		}
		if first >= 0 && !signed {
			c.Parts[first].ThoughtSignature = skipSignature
		}
	}
}

func translateTools(g *generateRequest, c *providers.ChatRequest) error {
	if len(c.Tools) == 0 {
		return nil
	}
	decls := make([]functionDeclaration, 0, len(c.Tools))
	for i, t := range c.Tools {
		if t.Type != "function" {
			return providers.Unsupported(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("Tools of type %q are not supported by the Gemini backend.", t.Type))
		}
		if t.Function.Name == "" {
			return providers.InvalidRequest(fmt.Sprintf("tools[%d].function.name", i), "Missing required parameter: 'tools[].function.name'.")
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
			d.ParametersJSONSchema = json.RawMessage(p)
		}
		decls = append(decls, d)
	}
	g.Tools = []tool{{FunctionDeclarations: decls}}
	if tc := c.ToolChoice; tc != nil {
		fc := functionCallingConfig{}
		switch {
		case tc.Function != "":
			fc.Mode = "ANY"
			fc.AllowedFunctionNames = []string{tc.Function}
		case tc.Mode == "auto":
			fc.Mode = "AUTO"
		case tc.Mode == "none":
			fc.Mode = "NONE"
		case tc.Mode == "required":
			fc.Mode = "ANY"
		default:
			return providers.InvalidRequest("tool_choice", fmt.Sprintf("Invalid value for 'tool_choice': %q.", tc.Mode))
		}
		g.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
	}
	return nil
}

func translateConfig(c *providers.ChatRequest) (*generationConfig, error) {
	cfg := generationConfig{
		StopSequences:    c.Stop,
		MaxOutputTokens:  c.MaxOutputTokens(),
		Temperature:      c.Temperature,
		TopP:             c.TopP,
		Seed:             c.Seed,
		PresencePenalty:  c.PresencePenalty,
		FrequencyPenalty: c.FrequencyPenalty,
	}
	if c.N != nil && *c.N > 1 {
		cfg.CandidateCount = *c.N
	}
	if rf := c.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text":
		case "json_object":
			cfg.ResponseMimeType = "application/json"
		case "json_schema":
			cfg.ResponseMimeType = "application/json"
			if rf.JSONSchema != nil {
				if s := bytes.TrimSpace(rf.JSONSchema.Schema); len(s) > 0 && !bytes.Equal(s, []byte("null")) {
					cfg.ResponseJSONSchema = json.RawMessage(s)
				}
			}
		default:
			return nil, providers.InvalidRequest("response_format.type", fmt.Sprintf("Invalid value for 'response_format.type': %q.", rf.Type))
		}
	}
	if cfg.isZero() {
		return nil, nil
	}
	return &cfg, nil
}

func (g *generationConfig) isZero() bool {
	return len(g.StopSequences) == 0 && g.ResponseMimeType == "" && g.ResponseJSONSchema == nil &&
		g.CandidateCount == 0 && g.MaxOutputTokens == 0 && g.Temperature == nil && g.TopP == nil &&
		g.Seed == nil && g.PresencePenalty == nil && g.FrequencyPenalty == nil && g.ThinkingConfig == nil
}
