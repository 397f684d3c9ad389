package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The agent-sized request: what a coding agent sends on every turn of a long task.
// A system prompt, 20 tool definitions with JSON schemas, and a history of tasks,
// each worked through with tool calls whose results (files, command output, search
// hits) are most of the bytes: about 400 KB and 236 messages in OpenAI's Chat
// format, the same conversation in Anthropic's Messages format. It is generated
// from a fixed seed, so every run and every target sends the same bytes (but the
// marker at the end of the last user message, which carries the bench spec).

// Request formats of the agent phase.
const (
	formatChat     = "openai-chat"        // POST /v1/chat/completions
	formatMessages = "anthropic-messages" // POST /v1/messages
)

// formatPath is the API path of a request format.
func formatPath(format string) string {
	if format == formatMessages {
		return "/v1/messages"
	}
	return "/v1/chat/completions"
}

// agentMessages is the length of the Chat history, the last user message included.
const agentMessages = 236

// Placeholders replaced per target and per request; the generated text never
// holds them (its only '@' are diff hunk headers, "@@ -1,7 +1,9 @@").
const (
	modelSlot  = "@@model@@"
	markerSlot = "@@marker@@"
)

// conversation is the format-neutral agent history.
type conversation struct {
	system string
	tools  []toolDef
	turns  []turn
}

type toolDef struct {
	name, description string
	schema            json.RawMessage
}

// turn is one message: a user's text, an assistant's text and tool calls, or the
// result of one tool call.
type turn struct {
	role   string // user, assistant, tool
	text   string
	calls  []toolCall
	callID string // the call a tool result answers
}

type toolCall struct {
	id, name string
	args     json.RawMessage
}

// agentConversation generates the conversation; the last user message ends with
// markerSlot.
func agentConversation() conversation {
	g := &gen{r: rand.New(rand.NewPCG(17, 400))}
	c := conversation{system: g.systemPrompt(), tools: agentTools()}
	// One task after another: the user asks, the assistant works through tool calls
	// (each answered by its result), then reports. The history ends with the next
	// task, carrying the marker. A step is an assistant turn with one call or two
	// and their results (2 or 3 turns): the last steps are chosen so that the
	// history has exactly agentMessages messages.
	budget := agentMessages - 2 // the system prompt and the last task apart
	for budget > 0 {
		c.turns = append(c.turns, turn{role: "user", text: g.task()})
		room := budget - 2 // what the task's steps may take, its report apart
		for k := 3 + g.r.IntN(4); room >= 2 && (k > 0 || room == 3); k-- {
			n := 1
			if room == 3 || (room >= 5 && g.r.IntN(4) == 0) {
				n = 2
			}
			calls := make([]toolCall, n)
			for i := range calls {
				calls[i] = g.call(c.tools, len(c.turns)+i)
			}
			c.turns = append(c.turns, turn{role: "assistant", text: g.sentence(12, 30), calls: calls})
			for _, call := range calls {
				c.turns = append(c.turns, turn{role: "tool", callID: call.id, text: g.toolResult(call.name)})
			}
			room -= 1 + n
		}
		c.turns = append(c.turns, turn{role: "assistant", text: g.report()})
		budget = room
	}
	c.turns = append(c.turns, turn{role: "user", text: g.task() + " " + markerSlot})
	return c
}

// chatJSON renders the conversation as an OpenAI Chat Completions request.
func (c conversation) chatJSON() []byte {
	type function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Arguments   string          `json:"arguments,omitempty"`
	}
	type tool struct {
		Type     string   `json:"type"`
		Function function `json:"function"`
	}
	type call struct {
		ID       string   `json:"id"`
		Type     string   `json:"type"`
		Function function `json:"function"`
	}
	type message struct {
		Role       string `json:"role"`
		Content    string `json:"content"`
		ToolCalls  []call `json:"tool_calls,omitempty"`
		ToolCallID string `json:"tool_call_id,omitempty"`
	}
	req := struct {
		Model      string    `json:"model"`
		Messages   []message `json:"messages"`
		Tools      []tool    `json:"tools"`
		ToolChoice string    `json:"tool_choice"`
		MaxTokens  int       `json:"max_tokens"`
	}{Model: modelSlot, ToolChoice: "auto", MaxTokens: 4096}
	req.Messages = append(req.Messages, message{Role: "system", Content: c.system})
	for _, t := range c.turns {
		m := message{Role: t.role, Content: t.text, ToolCallID: t.callID}
		for _, cl := range t.calls {
			m.ToolCalls = append(m.ToolCalls, call{ID: cl.id, Type: "function",
				Function: function{Name: cl.name, Arguments: string(cl.args)}})
		}
		req.Messages = append(req.Messages, m)
	}
	for _, t := range c.tools {
		req.Tools = append(req.Tools, tool{Type: "function",
			Function: function{Name: t.name, Description: t.description, Parameters: t.schema}})
	}
	return marshal(req)
}

// messagesJSON renders the conversation as an Anthropic Messages request: the
// system prompt apart, tool calls as tool_use blocks of the assistant's turn, and
// the results of one turn's calls together in the next user turn, as tool_result
// blocks (the roles alternate).
func (c conversation) messagesJSON() []byte {
	type block struct {
		Type      string          `json:"type"`
		Text      string          `json:"text,omitempty"`
		ID        string          `json:"id,omitempty"`
		Name      string          `json:"name,omitempty"`
		Input     json.RawMessage `json:"input,omitempty"`
		ToolUseID string          `json:"tool_use_id,omitempty"`
		Content   string          `json:"content,omitempty"`
	}
	type message struct {
		Role    string  `json:"role"`
		Content []block `json:"content"`
	}
	type tool struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	req := struct {
		Model     string    `json:"model"`
		MaxTokens int       `json:"max_tokens"`
		System    string    `json:"system"`
		Messages  []message `json:"messages"`
		Tools     []tool    `json:"tools"`
	}{Model: modelSlot, MaxTokens: 4096, System: c.system}
	for _, t := range c.turns {
		switch t.role {
		case "tool":
			b := block{Type: "tool_result", ToolUseID: t.callID, Content: t.text}
			if last := &req.Messages[len(req.Messages)-1]; last.Role == "user" {
				last.Content = append(last.Content, b)
				continue
			}
			req.Messages = append(req.Messages, message{Role: "user", Content: []block{b}})
		case "assistant":
			m := message{Role: "assistant", Content: []block{{Type: "text", Text: t.text}}}
			for _, cl := range t.calls {
				m.Content = append(m.Content, block{Type: "tool_use", ID: cl.id, Name: cl.name, Input: cl.args})
			}
			req.Messages = append(req.Messages, m)
		default:
			req.Messages = append(req.Messages, message{Role: "user", Content: []block{{Type: "text", Text: t.text}}})
		}
	}
	for _, t := range c.tools {
		req.Tools = append(req.Tools, tool{Name: t.name, Description: t.description, InputSchema: t.schema})
	}
	return marshal(req)
}

// marshal encodes as the official SDKs do (no HTML escaping).
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only fixed, generated structures are encoded here
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// agentBody is one format's request as a template: head and tail around the
// marker, the model already in the head.
type agentBody struct {
	head, tail []byte
}

// render is the conversation as a request of format, the model left to fill.
func (c conversation) render(format string) []byte {
	if format == formatMessages {
		return c.messagesJSON()
	}
	return c.chatJSON()
}

// newAgentBody is the rendered request doc for model.
func newAgentBody(doc []byte, model string) agentBody {
	doc = bytes.Replace(doc, []byte(modelSlot), []byte(model), 1)
	head, tail, ok := bytes.Cut(doc, []byte(markerSlot))
	if !ok {
		panic("agent body without its marker slot")
	}
	return agentBody{head: head, tail: tail}
}

// size is the body's length with a marker of n bytes.
func (a agentBody) size(n int) int { return len(a.head) + n + len(a.tail) }

// with is the whole body for one marker (tests and benchmarks; the harness
// streams head, marker and tail without joining them).
func (a agentBody) with(marker string) []byte {
	return append(append(append(make([]byte, 0, a.size(len(marker))), a.head...), marker...), a.tail...)
}

// gen draws the conversation's text.
type gen struct{ r *rand.Rand }

var (
	words = strings.Fields(`the a to of and in for is on with that this it as be by from at config request
		handler retry timeout upstream stream token budget cache key route target provider error status
		response client server buffer parse decode encode field value header body length offset window
		limit rate cost price model alias region endpoint latency breaker health metric label span test
		fixture golden file path module package function method struct interface slice map channel lock`)
	idents = strings.Fields(`ctx req resp err buf cfg opts key val out n i j idx cur next prev head tail
		total limit count size start end ok done`)
	types  = strings.Fields(`string int int64 bool error []byte time.Duration *http.Request context.Context`)
	dirs   = strings.Fields(`proxy policy providers config state telemetry health cache internal cmd`)
	fnames = strings.Fields(`server handler execute attempt relay stream request response errors budget limits
		routes weights plan breaker metrics logger store reload`)
)

func (g *gen) pick(v []string) string { return v[g.r.IntN(len(v))] }

func (g *gen) sentence(minWords, maxWords int) string {
	n := minWords + g.r.IntN(maxWords-minWords+1)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		w := g.pick(words)
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	b.WriteByte('.')
	return b.String()
}

func (g *gen) paragraph(sentences int) string {
	s := make([]string, sentences)
	for i := range s {
		s[i] = g.sentence(8, 22)
	}
	return strings.Join(s, " ")
}

func (g *gen) path() string {
	return g.pick(dirs) + "/" + g.pick(fnames) + ".go"
}

func (g *gen) systemPrompt() string {
	var b strings.Builder
	b.WriteString("You are a coding agent working in a Go repository. Follow the rules below.\n\n")
	for i := range 24 {
		fmt.Fprintf(&b, "%d. %s\n", i+1, g.paragraph(2))
	}
	return b.String()
}

func (g *gen) task() string {
	return fmt.Sprintf("In %s, %s %s Then run the tests of %s and fix what fails.", g.path(), strings.ToLower(g.sentence(10, 20)),
		g.paragraph(2), g.pick(dirs))
}

func (g *gen) report() string {
	return fmt.Sprintf("Done: %s\n\n- %s\n- %s\n- %s", g.paragraph(2), g.sentence(8, 16), g.sentence(8, 16), g.sentence(8, 16))
}

// code is Go-like source with what makes JSON strings expensive to scan: quotes,
// tabs, newlines and backslashes to escape.
func (g *gen) code(lines int) string {
	var b strings.Builder
	depth := 0
	for range lines {
		b.WriteString(strings.Repeat("\t", depth))
		switch k := g.r.IntN(9); {
		case k == 0 && depth < 3:
			fmt.Fprintf(&b, "func (s *%s) %s(%s %s) (%s, error) {", g.pick(fnames), strings.ToUpper(g.pick(fnames)[:1])+g.pick(idents),
				g.pick(idents), g.pick(types), g.pick(types))
			depth++
		case k == 1 && depth < 3:
			fmt.Fprintf(&b, "if %s != nil {", g.pick(idents))
			depth++
		case k == 2 && depth > 0:
			b.WriteString("}")
			depth--
		case k == 3:
			fmt.Fprintf(&b, "return nil, fmt.Errorf(\"%s %%q: %%w\", %s, err)", g.sentence(3, 6), g.pick(idents))
		case k == 4:
			fmt.Fprintf(&b, "// %s", g.sentence(6, 14))
		case k == 5:
			fmt.Fprintf(&b, "%s := strings.Split(%s, \"\\n\")", g.pick(idents), g.pick(idents))
		default:
			fmt.Fprintf(&b, "%s = %s(%s, %d)", g.pick(idents), g.pick(fnames), g.pick(idents), g.r.IntN(4096))
		}
		b.WriteByte('\n')
	}
	for ; depth > 0; depth-- {
		b.WriteString(strings.Repeat("\t", depth-1) + "}\n")
	}
	return b.String()
}

// toolResult is what a tool answers: a file, a listing, a diff, test output.
func (g *gen) toolResult(tool string) string {
	switch tool {
	case "read_file", "read_notebook":
		return g.code(110 + g.r.IntN(160))
	case "grep", "glob", "list_dir":
		var b strings.Builder
		for range 30 + g.r.IntN(70) {
			fmt.Fprintf(&b, "%s:%d: %s\n", g.path(), 1+g.r.IntN(900), g.sentence(4, 10))
		}
		return b.String()
	case "git_diff", "apply_patch", "edit_file":
		var b strings.Builder
		fmt.Fprintf(&b, "diff --git a/%[1]s b/%[1]s\n--- a/%[1]s\n+++ b/%[1]s\n@@ -%d,7 +%d,9 @@\n", g.path(), g.r.IntN(400), g.r.IntN(400))
		for _, line := range strings.Split(g.code(50+g.r.IntN(80)), "\n") {
			b.WriteString([]string{" ", "+", "-"}[g.r.IntN(3)] + line + "\n")
		}
		return b.String()
	case "run_tests", "run_shell", "lint":
		var b strings.Builder
		for range 35 + g.r.IntN(70) {
			fmt.Fprintf(&b, "=== RUN   Test%s%s\n--- PASS: Test%s (0.%02ds)\n", strings.ToUpper(g.pick(fnames)[:1]), g.pick(idents),
				g.pick(fnames), g.r.IntN(100))
		}
		fmt.Fprintf(&b, "FAIL\t%s\t%q\n", g.path(), g.sentence(4, 8))
		return b.String()
	}
	return g.paragraph(8 + g.r.IntN(16))
}

func (g *gen) call(tools []toolDef, n int) toolCall {
	t := tools[g.r.IntN(len(tools))]
	args := map[string]any{"path": g.path()}
	switch t.name {
	case "grep", "glob":
		args = map[string]any{"pattern": g.pick(idents) + `\s*:?=`, "path": g.pick(dirs), "max_results": 50}
	case "run_shell", "run_tests", "lint":
		args = map[string]any{"command": "go test -run Test" + g.pick(fnames) + " ./" + g.pick(dirs) + "/...", "timeout_seconds": 120}
	case "edit_file", "apply_patch":
		args = map[string]any{"path": g.path(), "old_string": g.code(3), "new_string": g.code(4)}
	case "write_file":
		args = map[string]any{"path": g.path(), "content": g.code(12)}
	}
	return toolCall{id: fmt.Sprintf("call_%04d%08x", n, g.r.Uint32()), name: t.name, args: marshal(args)}
}

// agentTools are the 20 tools of a coding agent, with schemas as such agents
// declare them: typed properties, descriptions, enums, nested objects, required.
func agentTools() []toolDef {
	prop := func(typ, desc string) map[string]any { return map[string]any{"type": typ, "description": desc} }
	obj := func(required []string, props map[string]any) json.RawMessage {
		return marshal(map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false})
	}
	path := prop("string", "Path of the file, relative to the repository root. Never absolute, never outside the repository.")
	defs := []struct {
		name, desc string
		schema     json.RawMessage
	}{
		{"read_file", "Read a file of the repository. Returns its content with line numbers; long files are cut at max_lines, so read them in windows with offset.",
			obj([]string{"path"}, map[string]any{"path": path, "offset": prop("integer", "First line to read, 1-based."), "max_lines": prop("integer", "Lines to read at most (default 2000).")})},
		{"write_file", "Create or overwrite a file with the given content. Prefer edit_file for changes to an existing file: it keeps what you did not mean to change.",
			obj([]string{"path", "content"}, map[string]any{"path": path, "content": prop("string", "The whole new content of the file.")})},
		{"edit_file", "Replace one exact occurrence of old_string by new_string in a file. Fails when old_string is absent or occurs more than once, unless replace_all is set.",
			obj([]string{"path", "old_string", "new_string"}, map[string]any{"path": path, "old_string": prop("string", "Text to replace, exactly as in the file, indentation included."),
				"new_string": prop("string", "Replacement text."), "replace_all": prop("boolean", "Replace every occurrence.")})},
		{"apply_patch", "Apply a unified diff to the working tree. Every hunk must apply; nothing is written otherwise.",
			obj([]string{"patch"}, map[string]any{"patch": prop("string", "The unified diff, with a/ and b/ prefixes."), "check_only": prop("boolean", "Only check that it applies.")})},
		{"list_dir", "List a directory: names, kinds and sizes, directories first.",
			obj([]string{"path"}, map[string]any{"path": path, "depth": map[string]any{"type": "integer", "minimum": 1, "maximum": 5, "description": "Levels to descend."}})},
		{"glob", "Find files whose path matches a glob pattern, sorted by modification time.",
			obj([]string{"pattern"}, map[string]any{"pattern": prop("string", "Glob such as **/*_test.go."), "path": path})},
		{"grep", "Search file contents with a regular expression (RE2 syntax). Returns matching lines with their file and line number.",
			obj([]string{"pattern"}, map[string]any{"pattern": prop("string", "The regular expression."), "path": path,
				"glob": prop("string", "Only files matching this glob."), "case_insensitive": prop("boolean", "Ignore case."),
				"max_results": map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "description": "Matches to return at most."},
				"output":      map[string]any{"type": "string", "enum": []string{"content", "files_with_matches", "count"}, "description": "What to return."}})},
		{"run_shell", "Run a shell command in the repository root and return its exit status, standard output and standard error (each cut at 30,000 characters).",
			obj([]string{"command"}, map[string]any{"command": prop("string", "The command line, run by bash."), "timeout_seconds": map[string]any{"type": "integer", "minimum": 1, "maximum": 600, "description": "Kill the command after this long."},
				"env": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": "Extra environment variables."}})},
		{"run_tests", "Run the Go tests of some packages with the race detector and return the failures, with their output.",
			obj([]string{"packages"}, map[string]any{"packages": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "Package patterns such as ./proxy/..."},
				"run": prop("string", "Only tests matching this regular expression."), "count": prop("integer", "Runs of each test."), "timeout_seconds": prop("integer", "Limit for the whole run.")})},
		{"lint", "Run gofmt, go vet and staticcheck on packages and return their findings.",
			obj([]string{"packages"}, map[string]any{"packages": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, "fix": prop("boolean", "Apply the fixes that are safe.")})},
		{"format_code", "Format files in place with gofmt -s.",
			obj([]string{"paths"}, map[string]any{"paths": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1}})},
		{"git_diff", "Show the changes of the working tree, or between two revisions.",
			obj(nil, map[string]any{"from": prop("string", "Revision to compare from (default HEAD)."), "to": prop("string", "Revision to compare to (default the working tree)."), "paths": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, "stat": prop("boolean", "Only the summary.")})},
		{"git_log", "Show the history of the repository or of some paths.",
			obj(nil, map[string]any{"max_count": prop("integer", "Commits to show."), "paths": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, "grep": prop("string", "Only commits whose message matches.")})},
		{"git_commit", "Commit the staged changes, or every change with all set.",
			obj([]string{"message"}, map[string]any{"message": prop("string", "The commit message: a summary line, a blank line, then why."), "all": prop("boolean", "Stage every tracked change first.")})},
		{"search_web", "Search the web and return the top results with their titles, addresses and excerpts.",
			obj([]string{"query"}, map[string]any{"query": prop("string", "What to search for."), "max_results": map[string]any{"type": "integer", "minimum": 1, "maximum": 20},
				"site": prop("string", "Only results from this domain.")})},
		{"fetch_url", "Fetch a web page and return it as text (HTML converted to Markdown), cut at max_chars.",
			obj([]string{"url"}, map[string]any{"url": map[string]any{"type": "string", "format": "uri", "description": "The address, http or https."}, "max_chars": prop("integer", "Characters to return at most.")})},
		{"create_task", "Add a task to the plan of this session, to be worked on later.",
			obj([]string{"title"}, map[string]any{"title": prop("string", "What is to be done."), "details": prop("string", "Why and how."),
				"priority":   map[string]any{"type": "string", "enum": []string{"low", "normal", "high"}},
				"depends_on": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}, "description": "Ids of tasks to finish first."}})},
		{"update_task", "Change the state or the details of a task of the plan.",
			obj([]string{"id", "state"}, map[string]any{"id": prop("integer", "The task's id."), "state": map[string]any{"type": "string", "enum": []string{"pending", "in_progress", "done", "dropped"}},
				"note": prop("string", "What was found or decided.")})},
		{"ask_user", "Ask the user a question and wait for the answer. Only when the task cannot go on without it.",
			obj([]string{"question"}, map[string]any{"question": prop("string", "The question, with the context the user needs."),
				"options": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{"label": prop("string", "Short label."), "description": prop("string", "What choosing it means.")}, "required": []string{"label"}}}})},
		{"read_notebook", "Read a Jupyter notebook: its cells with their outputs.",
			obj([]string{"path"}, map[string]any{"path": path, "cells": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}, "description": "Only these cells."}})},
	}
	out := make([]toolDef, len(defs))
	for i, d := range defs {
		out[i] = toolDef{name: d.name, description: d.desc, schema: d.schema}
	}
	return out
}
