package conformance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard/switchyard/providers/fakes"
)

// scenario is one thing a client does; it must work the same on every backend.
type scenario struct {
	name string
	// contextWindow is the fake's context window in tokens (0 = unlimited).
	contextWindow int
	run           func(e *env)
}

var scenarios = []scenario{
	{name: "plain chat", run: plainChat},
	{name: "system prompt", run: systemPrompt},
	{name: "multi-turn", run: multiTurn},
	{name: "stream", run: stream},
	{name: "tool call round trip", run: toolRoundTrip},
	{name: "streamed tool call round trip", run: streamedToolRoundTrip},
	{name: "parallel tool calls", run: parallelToolCalls},
	{name: "image input", run: imageInput},
	{name: "JSON mode", run: jsonMode},
	{name: "stop sequence", run: stopSequence},
	{name: "max_tokens", run: maxTokens},
	{name: "stream usage", run: streamUsage},
	{name: "several choices", run: severalChoices},
	{name: "upstream 429", run: rateLimited},
	{name: "upstream 500", run: upstreamFailure(http.StatusInternalServerError)},
	{name: "upstream 503", run: upstreamFailure(http.StatusServiceUnavailable)},
	{name: "prompt too long", contextWindow: 16, run: promptTooLong},
	{name: "reasoning effort", run: reasoningEffort},
	{name: "thinking tool loop", run: thinkingToolLoop},
	{name: "prompt caching", run: promptCaching},
}

// TestConformance runs every scenario against every backend, each pair on its own
// proxy and fake so that no scenario's faults or target health leak into another.
func TestConformance(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, b := range backends {
				t.Run(b.name, func(t *testing.T) {
					sc.run(start(t, b, sc.name, sc.contextWindow))
				})
			}
		})
	}
}

// TestEveryRefusalNamesAScenario keeps the table honest: a refusal must name a
// scenario that exists, or it would silently excuse nothing.
func TestEveryRefusalNamesAScenario(t *testing.T) {
	for _, b := range backends {
		for name, r := range b.unsupported {
			if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == name }) {
				t.Errorf("%s refuses unknown scenario %q", b.name, name)
			}
			if r.param == "" || r.reason == "" {
				t.Errorf("%s refuses %q without a parameter and a reason", b.name, name)
			}
		}
	}
}

var ctx = context.Background()

// heard is the emulated model's plain answer (fakes.Echo).
func heard(e *env, q string) string { return e.b.name + " heard: " + q }

// echoUsage is what the emulated model counts for a single user message q and
// its answer: the usage every backend must report.
func echoUsage(q, answer string) (prompt, completion int64) {
	p := &fakes.Prompt{Turns: []fakes.Turn{{Role: "user", Text: q}}}
	r := fakes.Reply{Content: answer}.Finish(p)
	return int64(r.PromptTokens), int64(r.CompletionTokens)
}

func plainChat(e *env) {
	t := e.t
	const q = "Hello, proxy"
	p := e.params(openai.UserMessage(q))
	if !e.supported(p) {
		return
	}
	c := e.client()
	var raw *http.Response
	resp, err := c.Chat.Completions.New(ctx, p, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if len(resp.Choices) != 1 || ch.Message.Content != heard(e, q) || ch.FinishReason != "stop" || ch.Message.Role != "assistant" {
		t.Errorf("choices %+v", resp.Choices)
	}
	if resp.Object != "chat.completion" || resp.ID == "" || resp.Model == "" {
		t.Errorf("completion object %q id %q model %q", resp.Object, resp.ID, resp.Model)
	}
	wantPrompt, wantCompletion := echoUsage(q, heard(e, q))
	if u := resp.Usage; u.PromptTokens != wantPrompt || u.CompletionTokens != wantCompletion || u.TotalTokens != wantPrompt+wantCompletion {
		t.Errorf("usage %d+%d=%d, want %d+%d", u.PromptTokens, u.CompletionTokens, u.TotalTokens, wantPrompt, wantCompletion)
	}
	if raw.Header.Get("X-Switchyard-Provider") != e.b.name || raw.Header.Get("X-Switchyard-Model") != e.b.model {
		t.Errorf("served by %q / %q", raw.Header.Get("X-Switchyard-Provider"), raw.Header.Get("X-Switchyard-Model"))
	}
	n := e.native(0)
	if n.Model != e.b.model || n.Stream || !slices.Equal(n.Roles, []string{"user"}) || n.System != "" {
		t.Errorf("native request %+v", n)
	}
}

func systemPrompt(e *env) {
	t := e.t
	p := e.params(openai.SystemMessage("You are terse."), openai.UserMessage("hi"))
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != heard(e, "hi") {
		t.Errorf("content %q", got)
	}
	// The system prompt is in the cloud's system slot, not a conversation turn.
	if n := e.native(0); n.System != "You are terse." || !slices.Equal(n.Roles, []string{"user"}) {
		t.Errorf("native system %q roles %v", n.System, n.Roles)
	}
}

func multiTurn(e *env) {
	t := e.t
	p := e.params(openai.UserMessage("My name is Ada."), openai.AssistantMessage("Hello Ada."), openai.UserMessage("What is my name?"))
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != heard(e, "What is my name?") {
		t.Errorf("content %q", got)
	}
	if n := e.native(0); !slices.Equal(n.Roles, []string{"user", e.b.assistantRole, "user"}) {
		t.Errorf("native turns %v", n.Roles)
	}
}

// streamed is a streamed answer as the SDK gave it, and the raw SSE it read.
type streamed struct {
	chunks []openai.ChatCompletionChunk
	acc    openai.ChatCompletionAccumulator
	events []string
	header http.Header
}

// stream sends p streamed and reads the whole answer. Every chunk must be one the
// SDK's accumulator accepts, and the stream must end with data: [DONE]. A leading
// prompt-filter chunk, on a backend whose row announces it, is checked and set
// aside.
func (e *env) stream(p openai.ChatCompletionNewParams) *streamed {
	t := e.t
	t.Helper()
	var tr tee
	c := e.client(tr.option())
	s := c.Chat.Completions.NewStreaming(ctx, p)
	out := &streamed{}
	for s.Next() {
		ch := s.Current()
		out.chunks = append(out.chunks, ch)
		if !out.acc.AddChunk(ch) {
			t.Errorf("the SDK accumulator rejected chunk %s", ch.RawJSON())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	out.events, out.header = tr.events(), tr.header
	if e.b.promptFilterChunk {
		if len(out.chunks) == 0 || len(out.chunks[0].Choices) != 0 || !strings.Contains(out.events[0], `"prompt_filter_results"`) {
			t.Fatalf("no leading prompt_filter_results chunk: %q", out.events)
		}
		out.chunks, out.events = out.chunks[1:], out.events[1:]
	}
	if len(out.events) == 0 || out.events[len(out.events)-1] != "[DONE]" {
		t.Errorf("stream does not end with [DONE]: %q", out.events)
	}
	for _, ev := range out.events[:max(len(out.events)-1, 0)] {
		var doc struct {
			Object string `json:"object"`
		}
		if err := json.Unmarshal([]byte(ev), &doc); err != nil || doc.Object != "chat.completion.chunk" {
			t.Errorf("not a chat.completion.chunk: %s", ev)
		}
	}
	return out
}

// texts are the content deltas in order.
func (s *streamed) texts() []string {
	var out []string
	for _, ch := range s.chunks {
		for _, c := range ch.Choices {
			if c.Delta.Content != "" {
				out = append(out, c.Delta.Content)
			}
		}
	}
	return out
}

func (s *streamed) finish() string {
	if len(s.acc.Choices) == 0 {
		return ""
	}
	return string(s.acc.Choices[0].FinishReason)
}

func stream(e *env) {
	t := e.t
	words := []string{"Once ", "upon ", "a ", "time ", "there ", "was ", "a ", "proxy."}
	e.cloud.Respond(func(*fakes.Prompt) fakes.Reply { return fakes.Reply{Content: strings.Join(words, ""), Chunks: words} })
	p := e.params(openai.UserMessage("tell a story"))
	if !e.supported(p) {
		return
	}
	s := e.stream(p)
	if got := s.texts(); !slices.Equal(got, words) {
		t.Errorf("deltas %q, want %q", got, words)
	}
	if got := s.acc.Choices[0].Message.Content; got != strings.Join(words, "") || s.finish() != "stop" {
		t.Errorf("accumulated %q finish %q", got, s.finish())
	}
	first := s.chunks[0].Choices
	if len(first) == 0 || first[0].Delta.Role != "assistant" {
		t.Errorf("first chunk is not the assistant's: %s", s.chunks[0].RawJSON())
	}
	for _, ev := range s.events {
		if strings.Contains(ev, `"choices":[]`) {
			t.Errorf("usage chunk sent to a client that did not ask: %s", ev)
		}
	}
	if s.header.Get("X-Switchyard-Provider") != e.b.name {
		t.Errorf("served by %q", s.header.Get("X-Switchyard-Provider"))
	}
	if n := e.native(0); !n.Stream || n.Model != e.b.model {
		t.Errorf("native request %+v", n)
	}
}

func tool(name string) openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: name,
		Description: openai.String("Looks up " + strings.TrimPrefix(name, "get_") + "."),
		Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"query": map[string]any{"type": "string"}}, "required": []string{"query"}}})
}

var (
	required = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
	auto     = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}
)

// queryArgs are the arguments the emulated model calls a tool with.
func queryArgs(t *testing.T, args, q string) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(args), &got); err != nil || len(got) != 1 || got["query"] != q {
		t.Errorf("arguments %q, want {\"query\": %q}", args, q)
	}
}

func toolRoundTrip(e *env) {
	t := e.t
	const q = "weather in Oslo"
	p := e.params(openai.UserMessage(q))
	p.Tools, p.ToolChoice = []openai.ChatCompletionToolUnionParam{tool("get_weather")}, required
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
		t.Fatalf("finish %q message %s", resp.Choices[0].FinishReason, msg.RawJSON())
	}
	call := msg.ToolCalls[0]
	if call.ID == "" || call.Type != "function" || call.Function.Name != "get_weather" {
		t.Errorf("tool call %s", call.RawJSON())
	}
	queryArgs(t, call.Function.Arguments, q)

	p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage("12°C and rain", call.ID))
	p.ToolChoice = auto
	resp, err = c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Tool results: 12°C and rain" || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("after the tool result: %q (%s)", got, resp.Choices[0].FinishReason)
	}
}

// streamedCall is a tool call put together from its stream deltas.
type streamedCall struct {
	id, name, args string
	deltas         int
}

// calls assembles the tool call deltas by index, checking that each call's first
// delta carries its id and name, as OpenAI streams them.
func (s *streamed) calls(t *testing.T) map[int64]*streamedCall {
	t.Helper()
	out := map[int64]*streamedCall{}
	for _, ch := range s.chunks {
		for _, c := range ch.Choices {
			for _, d := range c.Delta.ToolCalls {
				sc := out[d.Index]
				if sc == nil {
					sc = &streamedCall{id: d.ID, name: d.Function.Name}
					out[d.Index] = sc
					if d.ID == "" || d.Function.Name == "" || d.Type != "function" {
						t.Errorf("first delta of tool call %d lacks its id, name or type: %s", d.Index, ch.RawJSON())
					}
				} else if d.ID != "" && d.ID != sc.id {
					t.Errorf("tool call %d changed id: %q then %q", d.Index, sc.id, d.ID)
				}
				sc.args += d.Function.Arguments
				sc.deltas++
			}
		}
	}
	return out
}

func streamedToolRoundTrip(e *env) {
	t := e.t
	const q = "weather in Oslo"
	p := e.params(openai.UserMessage(q))
	p.Tools, p.ToolChoice = []openai.ChatCompletionToolUnionParam{tool("get_weather")}, required
	if !e.supported(p) {
		return
	}
	s := e.stream(p)
	calls := s.calls(t)
	if len(calls) != 1 || calls[0] == nil || s.finish() != "tool_calls" {
		t.Fatalf("calls %v finish %q", calls, s.finish())
	}
	queryArgs(t, calls[0].args, q)
	msg := s.acc.Choices[0].Message
	if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].ID != calls[0].id || msg.ToolCalls[0].Function.Name != "get_weather" ||
		msg.ToolCalls[0].Function.Arguments != calls[0].args {
		t.Fatalf("accumulated message %s", msg.RawJSON())
	}

	p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage("12°C and rain", calls[0].id))
	p.ToolChoice = auto
	s = e.stream(p)
	if got := strings.Join(s.texts(), ""); got != "Tool results: 12°C and rain" || s.finish() != "stop" {
		t.Errorf("after the tool result: %q (%s)", got, s.finish())
	}
}

func parallelToolCalls(e *env) {
	t := e.t
	const q = "weather and time in Oslo"
	p := e.params(openai.UserMessage(q))
	p.Tools, p.ToolChoice = []openai.ChatCompletionToolUnionParam{tool("get_weather"), tool("get_time")}, required
	if !e.supported(p) {
		return
	}
	names := []string{"get_weather", "get_time"}
	// Streamed: two calls, told apart by their indexes.
	s := e.stream(p)
	calls := s.calls(t)
	if len(calls) != 2 || calls[0] == nil || calls[1] == nil || s.finish() != "tool_calls" {
		t.Fatalf("calls %v finish %q", calls, s.finish())
	}
	for i, name := range names {
		if calls[int64(i)].name != name {
			t.Errorf("call %d is %q, want %q", i, calls[int64(i)].name, name)
		}
		queryArgs(t, calls[int64(i)].args, q)
	}
	if calls[0].id == calls[1].id {
		t.Errorf("both calls have id %q", calls[0].id)
	}
	// Not streamed: two calls with distinct ids; both results go back.
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if len(msg.ToolCalls) != 2 || msg.ToolCalls[0].ID == msg.ToolCalls[1].ID || resp.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("message %s", msg.RawJSON())
	}
	for i, call := range msg.ToolCalls {
		if call.Function.Name != names[i] {
			t.Errorf("call %d is %q, want %q", i, call.Function.Name, names[i])
		}
		queryArgs(t, call.Function.Arguments, q)
	}
	p.Messages = append(p.Messages, msg.ToParam(),
		openai.ToolMessage("12°C and rain", msg.ToolCalls[0].ID), openai.ToolMessage("09:00", msg.ToolCalls[1].ID))
	p.ToolChoice = auto
	resp, err = c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Tool results: 12°C and rain; 09:00" {
		t.Errorf("after both results: %q", got)
	}
}

func imageInput(e *env) {
	t := e.t
	const q = "What is in this picture?"
	p := e.params(openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart(q),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: pngDataURL}),
	}))
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != heard(e, q)+" (and saw 1 image(s))" {
		t.Errorf("content %q", got)
	}
	n := e.native(0)
	if len(n.Images) != 1 || n.Images[0].MediaType != "image/png" || string(n.Images[0].Data) != string(pngBytes) {
		t.Errorf("native images %+v", n.Images)
	}
}

func jsonMode(e *env) {
	t := e.t
	const q = "Reply in JSON: colors"
	p := e.params(openai.UserMessage(q))
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
	if !e.supported(p) {
		return
	}
	check := func(how, text, finish string, calls int) {
		var got map[string]any
		if err := json.Unmarshal([]byte(text), &got); err != nil || len(got) != 1 || got["echo"] != q {
			t.Errorf("%s: reply %q, want {\"echo\": %q}", how, text, q)
		}
		if finish != "stop" || calls != 0 {
			t.Errorf("%s: finish %q, %d tool calls", how, finish, calls)
		}
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	check("answer", ch.Message.Content, string(ch.FinishReason), len(ch.Message.ToolCalls))
	s := e.stream(p)
	check("stream", strings.Join(s.texts(), ""), s.finish(), len(s.acc.Choices[0].Message.ToolCalls))
}

func stopSequence(e *env) {
	t := e.t
	p := e.params(openai.UserMessage("one two STOP three"))
	p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"STOP"}}
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if ch := resp.Choices[0]; ch.Message.Content != heard(e, "one two ") || ch.FinishReason != "stop" {
		t.Errorf("content %q finish %q", ch.Message.Content, ch.FinishReason)
	}
}

func maxTokens(e *env) {
	t := e.t
	p := e.params(openai.UserMessage("one two three four"))
	p.MaxTokens = openai.Int(2)
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	// The emulated model writes one token per word: "<name> " and "heard: ".
	if ch := resp.Choices[0]; ch.Message.Content != e.b.name+" heard: " || ch.FinishReason != "length" || resp.Usage.CompletionTokens != 2 {
		t.Errorf("content %q finish %q completion tokens %d", ch.Message.Content, ch.FinishReason, resp.Usage.CompletionTokens)
	}
}

func streamUsage(e *env) {
	t := e.t
	const q = "count the tokens"
	p := e.params(openai.UserMessage(q))
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	if !e.supported(p) {
		return
	}
	s := e.stream(p)
	wantPrompt, wantCompletion := echoUsage(q, heard(e, q))
	last := s.chunks[len(s.chunks)-1]
	if len(last.Choices) != 0 || last.Usage.PromptTokens != wantPrompt || last.Usage.CompletionTokens != wantCompletion ||
		last.Usage.TotalTokens != wantPrompt+wantCompletion {
		t.Errorf("last chunk %s, want usage %d+%d", last.RawJSON(), wantPrompt, wantCompletion)
	}
	for _, ch := range s.chunks[:len(s.chunks)-1] {
		if len(ch.Choices) == 0 {
			t.Errorf("a chunk without choices before the usage chunk: %s", ch.RawJSON())
		}
	}
	if got := strings.Join(s.texts(), ""); got != heard(e, q) {
		t.Errorf("text %q", got)
	}
}

func severalChoices(e *env) {
	t := e.t
	const q = "two answers"
	p := e.params(openai.UserMessage(q))
	p.N = openai.Int(2)
	if !e.supported(p) {
		return
	}
	c := e.client()
	resp, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 {
		t.Fatalf("%d choices", len(resp.Choices))
	}
	for i, ch := range resp.Choices {
		if ch.Index != int64(i) || ch.Message.Content != heard(e, q) || ch.FinishReason != "stop" {
			t.Errorf("choice %d: %s", i, ch.RawJSON())
		}
	}
}

func rateLimited(e *env) {
	t := e.t
	e.cloud.Fail(fakes.Fault{Status: http.StatusTooManyRequests})
	p := e.params(openai.UserMessage("hi"))
	if !e.supported(p) {
		return
	}
	c := e.client()
	_, err := c.Chat.Completions.New(ctx, p)
	apiErr := asAPIError(t, err)
	openAIShaped(t, apiErr)
	if apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limit_exceeded" || apiErr.Response.Header.Get("Retry-After") == "" {
		t.Errorf("status %d code %q Retry-After %q: %s", apiErr.StatusCode, apiErr.Code, apiErr.Response.Header.Get("Retry-After"), apiErr.RawJSON())
	}
	// The cloud answered 429; with no other target, and a rest longer than the
	// retry policy's max_delay, the proxy gives up at once.
	if n := len(e.cloud.Requests()); n != 1 {
		t.Errorf("the cloud received %d requests, want 1", n)
	}
}

func upstreamFailure(status int) func(e *env) {
	return func(e *env) {
		t := e.t
		e.cloud.Fail(fakes.Fault{Status: status})
		p := e.params(openai.UserMessage("hi"))
		if !e.supported(p) {
			return
		}
		c := e.client()
		_, err := c.Chat.Completions.New(ctx, p)
		apiErr := asAPIError(t, err)
		openAIShaped(t, apiErr)
		// The upstream's failure, named, behind a gateway status.
		if apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != "upstream_error" || !strings.Contains(apiErr.Message, e.b.name) {
			t.Errorf("status %d code %q: %s", apiErr.StatusCode, apiErr.Code, apiErr.RawJSON())
		}
		// The only target is retried (resilience.max_attempts), then given up.
		if n := len(e.cloud.Requests()); n != 3 {
			t.Errorf("%d attempts, want max_attempts (3)", n)
		}
	}
}

func promptTooLong(e *env) {
	t := e.t
	p := e.params(openai.UserMessage(strings.Repeat("many words ", 20)))
	if !e.supported(p) {
		return
	}
	c := e.client()
	_, err := c.Chat.Completions.New(ctx, p)
	apiErr := asAPIError(t, err)
	openAIShaped(t, apiErr)
	if apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "context_length_exceeded" || apiErr.Type != "invalid_request_error" {
		t.Errorf("status %d type %q code %q: %s", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.RawJSON())
	}
	if n := len(e.cloud.Requests()); n != 1 {
		t.Errorf("a prompt too long for the only target was sent %d times", n)
	}
}

// pngBytes is a small PNG picture, sent as a data URL.
var pngBytes = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // unreachable: an in-memory RGBA image always encodes
	}
	return buf.Bytes()
}()

var pngDataURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)
