package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/switchyard/switchyard/providers"
)

// The oracle of the request encoder: the struct-based translation this package
// sent before conversation.go wrote the body by hand. It decodes the whole body
// with encoding/json (providers.Request.Canonical), builds the Converse request
// as Go values and encodes it with encoding/json. The settings (inference, tools,
// reasoning) are built by the same functions as in production; what differs is
// how the messages are read and translated and how everything is encoded.
// TestRequestMatchesOracle and FuzzTranslateRequest hold the two to the same JSON.

// oracleBody is the Converse request body as the oracle encodes it.
type oracleBody struct {
	Messages []message     `json:"messages"`
	System   []systemBlock `json:"system,omitempty"`
	settings
}

// systemBlock is a SystemContentBlock union: text, or a cachePoint.
type systemBlock struct {
	Text       string           `json:"text,omitempty"`
	CachePoint *cachePointBlock `json:"cachePoint,omitempty"`
}

// oracleTranslate is the struct-based translation of r for model.
func oracleTranslate(r *providers.Request, model string) ([]byte, string, error) {
	// As r.Canonical() decodes, each time (Canonical keeps its result).
	req := &providers.ChatRequest{}
	if err := json.Unmarshal(r.Body, req); err != nil {
		return nil, "", providers.InvalidRequest("", "Invalid request: "+err.Error())
	}
	if err := checkUnsupported(req); err != nil {
		return nil, "", err
	}
	var in oracleBody
	var historyTools []string
	var err error
	if in.System, in.Messages, historyTools, err = oracleMessages(req.Messages); err != nil {
		return nil, "", err
	}
	in.InferenceConfig = translateInference(req)
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_object" {
		in.System = append(in.System, systemBlock{Text: jsonObjectInstruction})
	}
	var jsonTool string
	var jsonSpec tool
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" {
		if jsonTool, jsonSpec, err = responseFormatTool(rf.JSONSchema, req.Tools); err != nil {
			return nil, "", err
		}
	}
	if in.ToolConfig, err = translateTools(req, historyTools, jsonTool, jsonSpec); err != nil {
		return nil, "", err
	}
	if familyOf(model) != familyClaude {
		dropReasoning(in.Messages)
	}
	if err := applyReasoning(req, model, providers.UnsignedToolLoop(req.Messages), &in.settings); err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&in); err != nil {
		return nil, "", err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), jsonTool, nil
}

// oracleJSONObject is jsonObject as the oracle checked documents, with encoding/json.
func oracleJSONObject(b []byte, emptyIsObject bool) (json.RawMessage, error) {
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

// translateMessages splits the conversation into Converse's system blocks and
// messages. Converse requires user and assistant turns to alternate, starting with
// a user turn; OpenAI allows consecutive turns of one role and sends tool results
// as their own "tool" turns. So consecutive turns of one role merge into one
// message, and tool results become toolResult blocks of a user turn, placed before
// any other block of that turn (Anthropic models require tool results first).
// System and developer messages, wherever they appear, become system blocks in
// their order. It also returns the tool names the conversation's tool calls used.
func oracleMessages(in []providers.Message) ([]systemBlock, []message, []string, error) {
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
			if cachedParts(m.Content) {
				system = append(system, cachedSystem(m.Content)...)
				continue
			}
			text, err := oracleTextOnly(m.Content, m.Role)
			if err != nil {
				return nil, nil, nil, err
			}
			if text != "" {
				system = append(system, systemBlock{Text: text})
			}
			continue
		case "user":
			role = "user"
			blocks, err = oracleUserBlocks(m.Content)
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
			if text, err = oracleTextOnly(m.Content, "tool"); err == nil {
				blocks = []contentBlock{{ToolResult: &toolResultBlock{ToolUseID: m.ToolCallID,
					Content: []toolResultContent{{Text: text}}}}}
				blocks = oracleCachePoint(blocks, m.Content.LastCacheControl())
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

// oracleTextOnly returns the text of a message whose role carries only text.
func oracleTextOnly(c providers.Content, role string) (string, error) {
	for _, p := range c.Parts {
		if p.Type != "text" {
			return "", providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported in %s messages on the Bedrock backend.", p.Type, role))
		}
	}
	return c.AllText(), nil
}

func oracleUserBlocks(c providers.Content) ([]contentBlock, error) {
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
				blocks = oracleCachePoint(blocks, p.CacheControl)
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
			blocks = oracleCachePoint(blocks, p.CacheControl)
		default:
			return nil, providers.Unsupported("messages", fmt.Sprintf("Content parts of type %q are not supported on the Bedrock backend.", p.Type))
		}
	}
	return blocks, nil
}

// assistantBlocks keeps the text (or refusal) and turns tool calls into toolUse
// blocks with the same ids, so that the following tool results still match.
func assistantBlocks(m *providers.Message) ([]contentBlock, error) {
	text, err := oracleTextOnly(m.Content, "assistant")
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = m.Refusal
	}
	blocks := reasoningBlocks(m.ThinkingBlocks)
	if text != "" {
		blocks = append(blocks, contentBlock{Text: text})
		blocks = oracleCachePoint(blocks, m.Content.LastCacheControl())
	}
	for _, c := range m.ToolCalls {
		input, err := oracleJSONObject([]byte(c.Function.Arguments), true)
		if err != nil {
			return nil, providers.InvalidRequest("messages", fmt.Sprintf("The arguments of tool call %q must be a JSON object: %v", c.ID, err))
		}
		blocks = append(blocks, contentBlock{ToolUse: &toolUseBlock{ToolUseID: c.ID, Name: c.Function.Name, Input: input}})
	}
	return blocks, nil
}

// oracleCachePoint adds a cachePoint after blocks when cc is set.
func oracleCachePoint(blocks []contentBlock, cc *providers.CacheControl) []contentBlock {
	if cc == nil || len(blocks) == 0 {
		return blocks
	}
	return append(blocks, contentBlock{CachePoint: cachePoint(cc)})
}

// cachedParts reports whether content has a part with cache_control.
func cachedParts(c providers.Content) bool { return c.LastCacheControl() != nil }

// cachedSystem is a system message of text parts, each a system block, with a
// cachePoint after every part that asks for one.
func cachedSystem(c providers.Content) []systemBlock {
	var out []systemBlock
	for _, p := range c.Parts {
		if p.Type != "text" || p.Text == "" {
			continue
		}
		out = append(out, systemBlock{Text: p.Text})
		if p.CacheControl != nil {
			out = append(out, systemBlock{CachePoint: cachePoint(p.CacheControl)})
		}
	}
	return out
}

// reasoningBlocks are an assistant message's signed thinking blocks as Converse
// reasoningContent blocks, first in the turn.
func reasoningBlocks(in []providers.ThinkingBlock) []contentBlock {
	var out []contentBlock
	for _, b := range in {
		if !providers.SignedBlock(b) {
			continue
		}
		switch b.Type {
		case "thinking":
			out = append(out, contentBlock{ReasoningContent: &reasoningBlock{ReasoningText: &reasoningText{Text: b.Thinking, Signature: b.Signature}}})
		case "redacted_thinking":
			data, err := base64.StdEncoding.DecodeString(b.Data)
			if err != nil {
				data = []byte(b.Data)
			}
			out = append(out, contentBlock{ReasoningContent: &reasoningBlock{RedactedContent: data}})
		}
	}
	return out
}

// dropReasoning removes reasoningContent blocks from the history, for models of
// another family.
func dropReasoning(msgs []message) {
	for i := range msgs {
		if msgs[i].Role != "assistant" {
			continue
		}
		kept := msgs[i].Content[:0]
		for _, b := range msgs[i].Content {
			if b.ReasoningContent == nil {
				kept = append(kept, b)
			}
		}
		msgs[i].Content = kept
	}
}
