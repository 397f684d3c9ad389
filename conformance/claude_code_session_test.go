package conformance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/switchyard/switchyard/providers/fakes"
)

// A Claude Code-shaped session, generated deterministically: what Claude Code
// sends on a coding task through ANTHROPIC_BASE_URL. Every request carries the
// system prompt as text blocks with cache_control, 22 tools with JSON schemas
// (the last one a cache breakpoint), metadata.user_id, extended thinking with a
// budget, temperature 1 and stream: true, as Claude Code's requests do; each
// turn resends the whole history, the model's earlier thinking blocks with
// their signatures, tool_use blocks and the tool results. The session works
// through a failing test: read it, search (two tool calls in one turn), edit,
// run the tests, report (a redacted thinking block, then text). Claude Code
// also asks for a title, not streamed and without tools, and counts tokens.
//
// The model's answers are scripted (fakes.ClaudeReply): the fakes send their
// blocks byte for byte, so the replay can compare answers byte for byte.

// ccModel stands for the model in a request template: the client's alias going
// to Switchyard, the upstream model going to a cloud directly.
const ccModel = "@@MODEL@@"

// ccBeta is the anthropic-beta header Claude Code sends with thinking on.
var ccBeta = []string{"claude-code-20250219", "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"}

// ccTurn is one request of the session and the model's scripted answer.
type ccTurn struct {
	name string
	// body is the request with ccModel for the model.
	body   []byte
	stream bool
	// count is a count_tokens request, answered by the cloud's count.
	count bool
	reply fakes.ClaudeReply
}

// bodyFor is the request for model.
func (t ccTurn) bodyFor(model string) []byte {
	return bytes.Replace(t.body, []byte(`"`+ccModel+`"`), mustMarshal(model), 1)
}

func mustMarshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as the TypeScript SDK writes JSON
	if err := enc.Encode(v); err != nil {
		panic(err) // only the fixed structures below are encoded
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// ccRequest is a Messages request in Claude Code's member order.
type ccRequest struct {
	Model       string            `json:"model"`
	Messages    []json.RawMessage `json:"messages"`
	Temperature *int              `json:"temperature,omitempty"`
	System      []json.RawMessage `json:"system,omitempty"`
	Tools       []json.RawMessage `json:"tools,omitempty"`
	Metadata    json.RawMessage   `json:"metadata,omitempty"`
	MaxTokens   int               `json:"max_tokens,omitempty"`
	Thinking    json.RawMessage   `json:"thinking,omitempty"`
	Stream      bool              `json:"stream,omitempty"`
}

// ccGen draws the session's text from a fixed seed.
type ccGen struct{ r *rand.Rand }

var ccWords = strings.Fields(`the a to of and in for is on with that this it as be by from at file test
	function parser duration unit suffix value error return string package module build run command
	tool result read write edit search path line code change fix check output input user task plan`)

func (g *ccGen) sentence(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = ccWords[g.r.IntN(len(ccWords))]
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func (g *ccGen) paragraph(sentences int) string {
	var p []string
	for range sentences {
		p = append(p, g.sentence(8+g.r.IntN(14)))
	}
	return strings.Join(p, " ")
}

// signature is an opaque thinking signature, as long as Claude's usually are.
func (g *ccGen) signature() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func block(v map[string]any) json.RawMessage { return mustMarshal(v) }

var ephemeral = map[string]any{"type": "ephemeral"}

// ccTools are Claude Code's tools: name, a description, and the schema's
// properties and required members.
func (g *ccGen) tools() []json.RawMessage {
	str := func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
	num := func(d string) map[string]any { return map[string]any{"type": "number", "description": d} }
	boolean := func(d string) map[string]any { return map[string]any{"type": "boolean", "description": d} }
	defs := []struct {
		name     string
		props    map[string]any
		required []string
	}{
		{"Task", map[string]any{"description": str("A short description of the task"), "prompt": str("The task for the agent"),
			"subagent_type": str("The type of agent")}, []string{"description", "prompt", "subagent_type"}},
		{"Bash", map[string]any{"command": str("The command to execute"), "timeout": num("Optional timeout in milliseconds"),
			"description": str("What the command does"), "run_in_background": boolean("Run in the background")}, []string{"command"}},
		{"Glob", map[string]any{"pattern": str("The glob pattern"), "path": str("The directory to search in")}, []string{"pattern"}},
		{"Grep", map[string]any{"pattern": str("The regular expression"), "path": str("File or directory"),
			"glob": str("Glob to filter files"), "output_mode": map[string]any{"type": "string", "enum": []string{"content", "files_with_matches", "count"}},
			"-n": boolean("Show line numbers"), "-i": boolean("Case insensitive"), "head_limit": num("Limit output")}, []string{"pattern"}},
		{"ExitPlanMode", map[string]any{"plan": str("The plan")}, []string{"plan"}},
		{"Read", map[string]any{"file_path": str("The absolute path"), "offset": num("The line to start from"),
			"limit": num("The number of lines")}, []string{"file_path"}},
		{"Edit", map[string]any{"file_path": str("The absolute path"), "old_string": str("The text to replace"),
			"new_string": str("The replacement"), "replace_all": boolean("Replace every occurrence")}, []string{"file_path", "old_string", "new_string"}},
		{"MultiEdit", map[string]any{"file_path": str("The absolute path"), "edits": map[string]any{"type": "array", "minItems": 1,
			"items": map[string]any{"type": "object", "properties": map[string]any{"old_string": str("Old"), "new_string": str("New")},
				"required": []string{"old_string", "new_string"}, "additionalProperties": false}}}, []string{"file_path", "edits"}},
		{"Write", map[string]any{"file_path": str("The absolute path"), "content": str("The content")}, []string{"file_path", "content"}},
		{"NotebookEdit", map[string]any{"notebook_path": str("The notebook"), "cell_id": str("The cell"), "new_source": str("The source"),
			"cell_type": map[string]any{"type": "string", "enum": []string{"code", "markdown"}},
			"edit_mode": map[string]any{"type": "string", "enum": []string{"replace", "insert", "delete"}}}, []string{"notebook_path", "new_source"}},
		{"WebFetch", map[string]any{"url": map[string]any{"type": "string", "format": "uri"}, "prompt": str("What to extract")}, []string{"url", "prompt"}},
		{"TodoWrite", map[string]any{"todos": map[string]any{"type": "array", "items": map[string]any{"type": "object",
			"properties": map[string]any{"content": map[string]any{"type": "string", "minLength": 1},
				"status":     map[string]any{"type": "string", "enum": []string{"pending", "in_progress", "completed"}},
				"activeForm": map[string]any{"type": "string", "minLength": 1}},
			"required": []string{"content", "status", "activeForm"}, "additionalProperties": false}}}, []string{"todos"}},
		{"WebSearch", map[string]any{"query": map[string]any{"type": "string", "minLength": 2},
			"allowed_domains": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"blocked_domains": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}, []string{"query"}},
		{"BashOutput", map[string]any{"bash_id": str("The shell"), "filter": str("A regular expression")}, []string{"bash_id"}},
		{"KillShell", map[string]any{"shell_id": str("The shell")}, []string{"shell_id"}},
		{"SlashCommand", map[string]any{"command": str("The slash command")}, []string{"command"}},
		{"ListMcpResourcesTool", map[string]any{"server": str("The server")}, nil},
		{"ReadMcpResourceTool", map[string]any{"server": str("The server"), "uri": str("The resource")}, []string{"server", "uri"}},
		{"mcp__ide__getDiagnostics", map[string]any{"uri": str("The file URI")}, nil},
		{"mcp__ide__executeCode", map[string]any{"code": str("The code to run")}, []string{"code"}},
		{"mcp__github__create_pull_request", map[string]any{"owner": str("Owner"), "repo": str("Repository"), "title": str("Title"),
			"head": str("Branch"), "base": str("Base branch"), "body": str("Description"), "draft": boolean("Draft")},
			[]string{"owner", "repo", "title", "head", "base"}},
		{"mcp__github__get_issue", map[string]any{"owner": str("Owner"), "repo": str("Repository"), "issue_number": num("Issue")},
			[]string{"owner", "repo", "issue_number"}},
	}
	var out []json.RawMessage
	for i, d := range defs {
		schema := map[string]any{"type": "object", "properties": d.props, "additionalProperties": false,
			"$schema": "http://json-schema.org/draft-07/schema#"}
		if d.required != nil {
			schema["required"] = d.required
		}
		tool := map[string]any{"name": d.name, "description": g.paragraph(4 + g.r.IntN(10)), "input_schema": schema}
		if i == len(defs)-1 {
			tool["cache_control"] = ephemeral
		}
		out = append(out, block(tool))
	}
	return out
}

// thinkingBlock is a thinking block signed as the emulated clouds sign them, which
// they check when it comes back in a later turn, as Claude does.
func thinkingBlock(text string) json.RawMessage {
	return block(map[string]any{"type": "thinking", "thinking": text, "signature": fakes.ClaudeSignature(text)})
}

func textBlock(text string) json.RawMessage {
	return block(map[string]any{"type": "text", "text": text})
}

func toolUse(id, name string, input map[string]any) json.RawMessage {
	return block(map[string]any{"type": "tool_use", "id": id, "name": name, "input": input})
}

func toolResult(id, content string) json.RawMessage {
	return block(map[string]any{"type": "tool_result", "tool_use_id": id, "content": content})
}

func message(role string, blocks ...json.RawMessage) json.RawMessage {
	return block(map[string]any{"role": role, "content": blocks})
}

// claudeCodeSession generates the session.
func claudeCodeSession() []ccTurn {
	g := &ccGen{r: rand.New(rand.NewPCG(2025, 219))}
	system := []json.RawMessage{
		block(map[string]any{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": ephemeral}),
		block(map[string]any{"type": "text", "cache_control": ephemeral, "text": "You are an interactive CLI tool that helps users with software engineering tasks. " +
			"IMPORTANT: Assist with defensive security tasks only.\n\n# Tone and style\n" + g.paragraph(40) + "\n\n# Doing tasks\n" +
			g.paragraph(60) + "\n\n# Tool usage policy\n" + g.paragraph(40) + "\n\n<env>\nWorking directory: /repo\nIs directory a git repo: Yes\n" +
			"Platform: linux\nToday's date: 2026-11-30\n</env>\n<claude_background_info>\"quoted\" & <tagged> — ünïcödé ✓\n</claude_background_info>"}),
	}
	tools := g.tools()
	temperature := 1
	metadata := block(map[string]any{"user_id": "user_3f9a1c_account_4b8e2d_session_0c6f7a91-5d3e-4b2a-9f18-2e7c5a1b3d40"})
	thinking := block(map[string]any{"type": "enabled", "budget_tokens": 31999})
	request := func(history []json.RawMessage) []byte {
		return mustMarshal(ccRequest{Model: ccModel, Messages: history, Temperature: &temperature, System: system, Tools: tools,
			Metadata: metadata, MaxTokens: 32000, Thinking: thinking, Stream: true})
	}
	usage := func(in, write, read, out int) *fakes.ClaudeUsage {
		return &fakes.ClaudeUsage{InputTokens: in, CacheCreationInputTokens: write, CacheReadInputTokens: read, OutputTokens: out}
	}
	reminder := "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# important-instruction-reminders\n" +
		g.paragraph(6) + "\n</system-reminder>\n"
	history := []json.RawMessage{message("user",
		textBlock(reminder),
		block(map[string]any{"type": "text", "text": "TestParseDuration fails in internal/parser; fix it.", "cache_control": ephemeral}))}

	// The model's turns: each content list is the answer, and goes back into
	// the history as the assistant's turn, followed by the tool results.
	steps := []struct {
		content []json.RawMessage
		results []json.RawMessage
		usage   *fakes.ClaudeUsage
	}{
		{content: []json.RawMessage{
			thinkingBlock("The user wants TestParseDuration fixed.\nI should read the test first, then the parser."),
			textBlock("I'll start by reading the failing test."),
			toolUse("toolu_01Xq7Read", "Read", map[string]any{"file_path": "/repo/internal/parser/parser_test.go"}),
		}, results: []json.RawMessage{toolResult("toolu_01Xq7Read",
			"     1\tpackage parser\n     2\t\n     3\timport \"testing\"\n     4\t\n     5\tfunc TestParseDuration(t *testing.T) {\n"+
				"     6\t\tif d, _ := ParseDuration(\"90s\"); d.Seconds() != 90 {\n     7\t\t\tt.Errorf(\"got %v\", d)\n     8\t\t}\n     9\t}\n")},
			usage: usage(4, 14200, 0, 180)},
		{content: []json.RawMessage{
			thinkingBlock("The test expects \"90s\" → 90 seconds. Let me find ParseDuration and its callers at once."),
			toolUse("toolu_02GrepA", "Grep", map[string]any{"pattern": "func ParseDuration", "path": "/repo/internal/parser", "output_mode": "content", "-n": true}),
			toolUse("toolu_02GlobB", "Glob", map[string]any{"pattern": "internal/parser/**/*.go"}),
		}, results: []json.RawMessage{
			toolResult("toolu_02GrepA", "/repo/internal/parser/duration.go:12:func ParseDuration(s string) (time.Duration, error) {"),
			toolResult("toolu_02GlobB", "/repo/internal/parser/duration.go\n/repo/internal/parser/parser_test.go"),
		}, usage: usage(6, 420, 14200, 240)},
		{content: []json.RawMessage{
			thinkingBlock(g.paragraph(5)),
			textBlock("The parser drops the unit suffix before converting. Fixing it:"),
			toolUse("toolu_03EditC", "Edit", map[string]any{"file_path": "/repo/internal/parser/duration.go",
				"old_string": "n, err := strconv.Atoi(strings.TrimRight(s, \"smh\"))",
				"new_string": "return time.ParseDuration(s)"}),
		}, results: []json.RawMessage{toolResult("toolu_03EditC", "The file /repo/internal/parser/duration.go has been updated.")},
			usage: usage(5, 380, 14620, 410)},
		{content: []json.RawMessage{
			thinkingBlock("Now run the package's tests to confirm."),
			toolUse("toolu_04BashD", "Bash", map[string]any{"command": "go test ./internal/parser/", "description": "Run the parser tests"}),
		}, results: []json.RawMessage{toolResult("toolu_04BashD", "ok  \tgithub.com/acme/repo/internal/parser\t0.012s")},
			usage: usage(5, 160, 15000, 95)},
		{content: []json.RawMessage{
			block(map[string]any{"type": "redacted_thinking", "data": g.signature() + g.signature()}),
			textBlock("Fixed. `ParseDuration` stripped the unit before converting, so \"90s\" became 90 nanoseconds; it now uses " +
				"`time.ParseDuration`, and `go test ./internal/parser/` passes."),
		}, usage: usage(5, 120, 15160, 88)},
	}
	var turns []ccTurn
	for i, st := range steps {
		turns = append(turns, ccTurn{name: fmt.Sprintf("turn %d", i+1), body: request(history), stream: true,
			reply: fakes.ClaudeReply{Content: st.content, Usage: st.usage}})
		history = append(history, message("assistant", st.content...))
		if st.results != nil {
			history = append(history, message("user", st.results...))
		}
		if i == 0 {
			// Claude Code counts the tokens of the conversation as it grows.
			turns = append(turns, ccTurn{name: "count_tokens", count: true,
				body: mustMarshal(struct {
					Model    string            `json:"model"`
					Messages []json.RawMessage `json:"messages"`
					System   []json.RawMessage `json:"system"`
					Tools    []json.RawMessage `json:"tools"`
				}{ccModel, history, system, tools})})
		}
	}
	// The title of the session: a small request, not streamed, without tools.
	title := mustMarshal(ccRequest{Model: ccModel, MaxTokens: 512,
		Messages: []json.RawMessage{message("user", textBlock("TestParseDuration fails in internal/parser; fix it."))},
		System: []json.RawMessage{textBlock("Summarize this coding conversation in under 50 characters.\n" +
			"Respond with JSON: {\"title\": string}")}, Metadata: metadata})
	turns = append(turns, ccTurn{name: "title", body: title,
		reply: fakes.ClaudeReply{Content: []json.RawMessage{textBlock(`{"title": "Fix duration parsing in parser"}`)}, Usage: usage(96, 0, 0, 12)}})
	return turns
}
