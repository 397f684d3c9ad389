package anthropic

import (
	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// EstimateInputTokens estimates the input tokens of a Messages or count_tokens
// body locally, for count_tokens on targets whose cloud has no counting
// endpoint (everything but Anthropic, Claude on Bedrock and Claude on Vertex
// AI), for budgets and rate limits, and for message_start's input_tokens on
// translated streams. It never fails, whatever the body holds. The request is
// rewritten as OpenAI-shaped messages (system, each turn's text, tool calls'
// names and inputs, tool results' text, thinking text; an image or a non-text
// document counts as one image) plus the tools' definitions as one more
// message, and measured by policy.EstimatePromptTokens. The rewriting copies the
// body's strings as they are, without decoding them: it costs what the OpenAI
// dialect's estimate costs. Claude's tokenizer is not public: the estimate
// follows OpenAI's, and the docs say so (an exact count needs a target that
// counts).
func EstimateInputTokens(body []byte) int {
	var system, messages, tools []byte
	_ = jsonfield.Each(body, func(k, v []byte) bool {
		switch string(k) {
		case "system":
			system = v
		case "messages":
			messages = v
		case "tools":
			tools = v
		}
		return true
	})
	out := make([]byte, 0, len(body)+256) // the body's strings, and a little structure
	out = append(out, '[')
	n := 0
	message := func(role []byte, content func([]byte) []byte) {
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, `{"role":`...)
		out = append(out, role...)
		out = append(out, `,"content":`...)
		start := len(out)
		out = content(append(out, '['))
		if len(out) == start+1 {
			out = append(out[:start], "null"...)
		} else {
			out = append(out, ']')
		}
		out = append(out, '}')
	}
	if system != nil && !isNull(system) {
		message([]byte(`"system"`), func(b []byte) []byte { return appendParts(b, system, 0) })
	}
	_ = jsonfield.EachElement(messages, func(m []byte) bool {
		var role, content []byte
		if jsonfield.Each(m, func(k, v []byte) bool {
			switch string(k) {
			case "role":
				role = v
			case "content":
				content = v
			}
			return true
		}) == nil {
			if role == nil {
				role = []byte(`""`)
			}
			message(role, func(b []byte) []byte { return appendParts(b, content, 0) })
		}
		return true
	})
	if hasElements(tools) {
		message([]byte(`"system"`), func(b []byte) []byte {
			b = append(b, `{"type":"text","text":`...)
			b = providers.AppendJSONString(b, jsonstr.View(tools))
			return append(b, '}')
		})
	}
	return policy.EstimatePromptTokens(append(out, ']'))
}

// appendParts appends the parts a content (a string, or blocks) counts as; an
// absent content is an empty text. Content nested deeper than maxContentDepth
// (depth is content's) counts as its JSON text, not walked.
func appendParts(b, content []byte, depth int) []byte {
	if content == nil || content[0] == '"' {
		return appendText(b, content)
	}
	_ = jsonfield.EachElement(content, func(blk []byte) bool {
		var typ, text, thinking, name, input, inner []byte
		var source []byte
		_ = jsonfield.Each(blk, func(k, v []byte) bool {
			switch string(k) {
			case "type":
				typ = v
			case "text":
				text = v
			case "thinking":
				thinking = v
			case "name":
				name = v
			case "input":
				input = v
			case "content":
				inner = v
			case "source":
				source = v
			}
			return true
		})
		switch {
		case stringIs(typ, "image"):
			b = appendImage(b)
		case stringIs(typ, "document"):
			if data, ok := textSource(source); ok {
				b = appendText(b, data)
			} else {
				b = appendImage(b)
			}
		case stringIs(typ, "tool_use"), stringIs(typ, "server_tool_use"):
			b = appendToolUse(b, name, input)
		case stringIs(typ, "tool_result"):
			switch {
			case inner == nil || isNull(inner):
			case depth+1 >= maxContentDepth && inner[0] == '[':
				b = append(sep(b), `{"type":"text","text":`...)
				b = providers.AppendJSONString(b, jsonstr.View(inner))
				b = append(b, '}')
			default:
				b = appendParts(b, inner, depth+1)
			}
		case stringIs(typ, "thinking"):
			b = appendText(b, thinking)
		default:
			b = appendText(b, text)
		}
		return true
	})
	return b
}

func sep(b []byte) []byte {
	if b[len(b)-1] != '[' {
		b = append(b, ',')
	}
	return b
}

// appendText appends a text part whose text is the raw JSON string s (none when
// s is absent or empty, as the part's text is then left out).
func appendText(b, s []byte) []byte {
	b = append(sep(b), `{"type":"text"`...)
	if len(s) > 2 && s[0] == '"' {
		b = append(b, `,"text":`...)
		b = append(b, s...)
	}
	return append(b, '}')
}

func appendImage(b []byte) []byte {
	return append(sep(b), `{"type":"image_url","image_url":{"url":"data:"}}`...)
}

// appendToolUse appends a tool call as one text: its name, then its input
// JSON as the client wrote it.
func appendToolUse(b, name, input []byte) []byte {
	c, _ := jsonstr.Contents(name)
	if len(c) == 0 && len(input) == 0 {
		return appendText(b, nil)
	}
	b = append(sep(b), `{"type":"text","text":"`...)
	b = append(b, c...)
	if len(input) > 0 {
		start := len(b)
		b = providers.AppendJSONString(b, jsonstr.View(input))
		b = append(b[:start], b[start+1:len(b)-1]...) // the string's contents
	}
	return append(b, `"}`...)
}

// textSource returns the data of a plain-text document source.
func textSource(source []byte) ([]byte, bool) {
	var typ, data []byte
	if jsonfield.Each(source, func(k, v []byte) bool {
		switch string(k) {
		case "type":
			typ = v
		case "data":
			data = v
		}
		return true
	}) != nil || !stringIs(typ, "text") {
		return nil, false
	}
	return data, true
}

func hasElements(v []byte) bool {
	found := false
	_ = jsonfield.EachElement(v, func([]byte) bool { found = true; return false })
	return found
}
