// Package fakes emulates the wire APIs of the clouds Switchyard speaks to, on loopback,
// with fault injection. Tests, benchmarks and `switchyard demo` share it. Each fake
// decodes its native request into a neutral Prompt, asks a Responder for a Reply, and
// encodes the reply in its native format, so every cloud answers the same scenario
// the same way.
package fakes

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Prompt is a native request reduced to what an emulated model looks at.
type Prompt struct {
	Model  string
	System string
	Turns  []Turn
	// Tools are the names of the functions offered.
	Tools []string
	// ToolDescriptions are the offered functions' descriptions, by name.
	ToolDescriptions map[string]string
	// ToolChoice is "", "auto", "none", "required", or a function name.
	ToolChoice string
	JSON       bool
	MaxTokens  int
	Stop       []string
	Stream     bool
	// Thinking is set when the request turned the model's reasoning on (each
	// cloud's own control; reasoning.go); Effort is the level it named, if any.
	Thinking bool
	Effort   string
}

// Turn is one message of the conversation.
type Turn struct {
	Role       string // system, user, assistant, tool
	Text       string
	Images     int
	ToolCalls  []ToolCall
	ToolCallID string // on tool results
}

// offer adds a function to the tools offered.
func (p *Prompt) offer(name, description string) {
	p.Tools = append(p.Tools, name)
	if description != "" {
		if p.ToolDescriptions == nil {
			p.ToolDescriptions = map[string]string{}
		}
		p.ToolDescriptions[name] = description
	}
}

// LastUser returns the text of the last user turn.
func (p *Prompt) LastUser() string {
	for i := len(p.Turns) - 1; i >= 0; i-- {
		if p.Turns[i].Role == "user" {
			return p.Turns[i].Text
		}
	}
	return ""
}

// Images counts the images of all turns.
func (p *Prompt) Images() int {
	n := 0
	for _, t := range p.Turns {
		n += t.Images
	}
	return n
}

// chars is the prompt size, the base of the emulated token count.
func (p *Prompt) chars() int {
	n := len(p.System)
	for _, t := range p.Turns {
		n += len(t.Text) + 4
		for _, c := range t.ToolCalls {
			n += len(c.Name) + len(c.Arguments)
		}
	}
	return n
}

// PromptTokens is the emulated tokenizer: one token per four characters.
func (p *Prompt) PromptTokens() int { return p.chars()/4 + 1 }

// ToolCall is a function call in a reply or in the conversation.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Reply is what the emulated model answers.
type Reply struct {
	Content string
	// Chunks split Content for streaming; nil splits it into words.
	Chunks    []string
	ToolCalls []ToolCall
	// FinishReason in OpenAI terms: stop, length, tool_calls, content_filter.
	// Empty means stop, or tool_calls when ToolCalls are set.
	FinishReason string
	// PromptTokens, CompletionTokens and CachedTokens override the emulated counts.
	PromptTokens, CompletionTokens, CachedTokens int
	// Reasoning is the model's thinking, sent before the answer when the prompt
	// turned thinking on; Finish fills it in. ReasoningTokens are counted in
	// CompletionTokens too.
	Reasoning       string
	ReasoningTokens int
	// CacheWriteTokens are the prompt tokens written to the prompt cache, part of
	// PromptTokens. Only the clouds whose usage has the count report them
	// (Anthropic, Claude on Bedrock and Vertex, Converse); the others' prompt
	// count includes them silently, as theirs do.
	CacheWriteTokens int
}

// Responder decides the reply to a prompt.
type Responder func(p *Prompt) Reply

// Echo is the default Responder, a deterministic model:
//   - after tool results it reports them: "Tool results: ...";
//   - with tool_choice "required" it calls every offered tool (parallel calls), with a
//     named tool_choice that one, with arguments {"query": <last user text>};
//   - in JSON mode it answers {"echo": <last user text>};
//   - otherwise "<name> heard: <last user text>", noting images when there are any.
//
// Like an instruction-following model, it also answers in JSON when the system
// prompt asks for a JSON object (Converse has no JSON mode: a gateway asks in the
// prompt), and a forced tool whose description asks for a JSON object receives the
// JSON answer as its arguments (Anthropic's "JSON via tool use" pattern).
func Echo(name string) Responder {
	return func(p *Prompt) Reply {
		last := p.Turns[len(p.Turns)-1]
		switch {
		case last.Role == "tool":
			var results []string
			for i := len(p.Turns) - 1; i >= 0 && p.Turns[i].Role == "tool"; i-- {
				results = append([]string{p.Turns[i].Text}, results...)
			}
			return Reply{Content: "Tool results: " + strings.Join(results, "; ")}
		case len(p.Tools) > 0 && p.ToolChoice == "required":
			var calls []ToolCall
			for i, t := range p.Tools {
				calls = append(calls, ToolCall{ID: fmt.Sprintf("call_%d", i+1), Name: t, Arguments: queryArgs(p.LastUser())})
			}
			return Reply{ToolCalls: calls}
		case len(p.Tools) > 0 && p.ToolChoice != "" && p.ToolChoice != "auto" && p.ToolChoice != "none":
			args := queryArgs(p.LastUser())
			if asksForJSON(p.ToolDescriptions[p.ToolChoice]) {
				args = jsonAnswer(p)
			}
			return Reply{ToolCalls: []ToolCall{{ID: "call_1", Name: p.ToolChoice, Arguments: args}}}
		case p.JSON || asksForJSON(p.System):
			return Reply{Content: jsonAnswer(p)}
		}
		text := name + " heard: " + p.LastUser()
		if n := p.Images(); n > 0 {
			text += fmt.Sprintf(" (and saw %d image(s))", n)
		}
		return Reply{Content: text}
	}
}

// asksForJSON reports whether an instruction asks for a JSON object.
func asksForJSON(instruction string) bool {
	return strings.Contains(strings.ToLower(instruction), "json object")
}

func jsonAnswer(p *Prompt) string {
	b, _ := json.Marshal(map[string]string{"echo": p.LastUser()})
	return string(b)
}

func queryArgs(q string) string {
	b, _ := json.Marshal(map[string]string{"query": q})
	return string(b)
}

// Finish applies the prompt's max_tokens and stop sequences to a reply, as a model
// would: output stops at a stop sequence (finish "stop") or after max_tokens words
// (finish "length"), and fills in the chunks, finish reason and token counts.
func (r Reply) Finish(p *Prompt) Reply {
	if len(r.ToolCalls) == 0 {
		for _, s := range p.Stop {
			if i := strings.Index(r.Content, s); s != "" && i >= 0 {
				r.Content = r.Content[:i]
				r.Chunks = nil
				r.FinishReason = "stop"
			}
		}
	}
	if r.Chunks == nil {
		r.Chunks = splitWords(r.Content)
	}
	if p.MaxTokens > 0 && len(r.Chunks) > p.MaxTokens && len(r.ToolCalls) == 0 {
		r.Chunks = r.Chunks[:p.MaxTokens]
		r.Content = strings.Join(r.Chunks, "")
		r.FinishReason = "length"
	}
	if r.FinishReason == "" {
		r.FinishReason = "stop"
		if len(r.ToolCalls) > 0 {
			r.FinishReason = "tool_calls"
		}
	}
	if r.PromptTokens == 0 {
		r.PromptTokens = p.PromptTokens()
	}
	if p.Thinking && r.Reasoning == "" {
		r.Reasoning = thoughtsAbout(p)
	}
	if r.Reasoning != "" && r.ReasoningTokens == 0 {
		r.ReasoningTokens = len(splitWords(r.Reasoning))
	}
	if r.CompletionTokens == 0 {
		r.CompletionTokens = len(r.Chunks) + r.ReasoningTokens
		for _, c := range r.ToolCalls {
			r.CompletionTokens += len(c.Arguments)/4 + 1
		}
	}
	return r
}

// splitWords splits text into word chunks that keep their following space, so that
// joining the chunks gives the text back.
func splitWords(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
