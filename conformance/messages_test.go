package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The Anthropic dialect's conformance: the official Go SDK through Switchyard to
// every backend type, natively (Anthropic, Claude on Bedrock through
// InvokeModel, Claude on Vertex AI) and translated (OpenAI, Azure OpenAI,
// Gemini, Bedrock Converse, an OpenAI-compatible server), the same scenarios as
// the OpenAI side, in Anthropic's terms.

type mScenario struct {
	name string
	// backup starts a second target of the same type in the next priority tier.
	backup bool
	run    func(e *mEnv)
}

var messagesScenarios = []mScenario{
	{name: "text", run: mText},
	{name: "system blocks", run: mSystemBlocks},
	{name: "multi-turn", run: mMultiTurn},
	{name: "stream", run: mStream},
	{name: "tools round trip", run: mToolsRoundTrip},
	{name: "image", run: mImage},
	{name: "stop sequence", run: mStopSequence},
	{name: "max_tokens", run: mMaxTokens},
	{name: "usage", run: mUsage},
	{name: "count_tokens", run: mCountTokens},
	{name: "what cannot be carried", run: mUncarried},
	{name: "invalid request", run: mInvalidRequest},
	{name: "unknown model", run: mUnknownModel},
	{name: "authentication", run: mAuthentication},
	{name: "rate limited", run: mRateLimited},
	{name: "targets exhausted", run: mExhausted},
	{name: "stream error", run: mStreamError},
	{name: "failover before the first byte", backup: true, run: mFailover},
	{name: "anthropic-beta", run: mBeta},
	{name: "anthropic-version", run: mVersion},
}

// TestMessagesConformance runs every scenario against every backend, each pair on
// its own proxy and fakes.
func TestMessagesConformance(t *testing.T) {
	for _, sc := range messagesScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, b := range messagesBackends {
				t.Run(b.name, func(t *testing.T) {
					sc.run(startMessages(t, b, sc.backup))
				})
			}
		})
	}
}

func asAnthropicError(t *testing.T, err error) *anthropic.Error {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an API error, got %v", err)
	}
	return apiErr
}

// errorDoc is Anthropic's error document, of an answer or of a stream's error
// event.
type errorDoc struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// anthropicShaped checks an error answer: status, Anthropic's error document
// {"type":"error","error":{"type","message"}}, its type, and a request id.
func anthropicShaped(t *testing.T, apiErr *anthropic.Error, status int, typ string) {
	t.Helper()
	var doc errorDoc
	if err := json.Unmarshal([]byte(apiErr.RawJSON()), &doc); err != nil {
		t.Fatalf("error body not JSON: %q", apiErr.RawJSON())
	}
	if apiErr.StatusCode != status || doc.Type != "error" || doc.Error.Type != typ || string(apiErr.Type()) != typ ||
		doc.Error.Message == "" {
		t.Errorf("HTTP %d %s, want %d %s: %s", apiErr.StatusCode, apiErr.Type(), status, typ, apiErr.RawJSON())
	}
	if apiErr.RequestID == "" || doc.RequestID != apiErr.RequestID {
		t.Errorf("request-id header %q, body %q", apiErr.RequestID, doc.RequestID)
	}
}

func textOf(t *testing.T, m *anthropic.Message) string {
	t.Helper()
	var out []string
	for _, b := range m.Content {
		if b.Type == "text" {
			out = append(out, b.Text)
		}
	}
	return strings.Join(out, "")
}

func mText(e *mEnv) {
	t := e.t
	const q = "Hello, proxy"
	var raw *http.Response
	c := e.client()
	msg, err := c.Messages.New(ctx, e.params(user(text(q))), aoption.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || msg.Role != "assistant" || msg.ID == "" || len(msg.Content) != 1 || msg.Content[0].Type != "text" ||
		msg.Content[0].Text != heardBy(e.b.name, q) || msg.StopReason != anthropic.StopReasonEndTurn || msg.StopSequence != "" {
		t.Errorf("message %s", msg.RawJSON())
	}
	prompt, completion := echoUsage(q, heardBy(e.b.name, q))
	if u := msg.Usage; u.InputTokens != prompt || u.OutputTokens != completion || u.CacheReadInputTokens != 0 || u.CacheCreationInputTokens != 0 {
		t.Errorf("usage %s, want %d in, %d out", u.RawJSON(), prompt, completion)
	}
	if raw.Header.Get("X-Switchyard-Provider") != e.b.name || raw.Header.Get("X-Switchyard-Model") != e.b.model ||
		raw.Header.Get("Request-Id") == "" {
		t.Errorf("headers %v", raw.Header)
	}
	if n := e.received(e.cloud, 0); n.Model != e.b.model || n.Stream || !slices.Equal(n.Roles, []string{"user"}) || n.System != "" {
		t.Errorf("upstream request %+v", n)
	}
}

func mSystemBlocks(e *mEnv) {
	t := e.t
	p := e.params(user(text("hi")))
	p.System = []anthropic.TextBlockParam{{Text: "You are terse."},
		{Text: "Answer in English.", CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	c := e.client()
	msg, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, msg); got != heardBy(e.b.name, "hi") {
		t.Errorf("text %q", got)
	}
	// Both blocks are in the cloud's system slot, not a conversation turn.
	n := e.received(e.cloud, 0)
	if !strings.Contains(n.System, "You are terse.") || !strings.Contains(n.System, "Answer in English.") ||
		!slices.Equal(n.Roles, []string{"user"}) {
		t.Errorf("upstream system %q roles %v", n.System, n.Roles)
	}
	// Natively, the cache breakpoint travels as the client wrote it.
	if e.b.native && !strings.Contains(string(e.cloud.Requests()[0].Body), `"text":"Answer in English.","cache_control":{"type":"ephemeral"}`) &&
		!strings.Contains(string(e.cloud.Requests()[0].Body), `"cache_control":{"type":"ephemeral"},"text":"Answer in English."`) {
		t.Errorf("cache_control lost: %s", e.cloud.Requests()[0].Body)
	}
}

func mMultiTurn(e *mEnv) {
	t := e.t
	c := e.client()
	msg, err := c.Messages.New(ctx, e.params(user(text("My name is Ada.")),
		anthropic.NewAssistantMessage(text("Hello Ada.")), user(text("What is my name?"))))
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, msg); got != heardBy(e.b.name, "What is my name?") {
		t.Errorf("text %q", got)
	}
	if n := e.received(e.cloud, 0); !slices.Equal(n.Roles, []string{"user", e.b.assistantRole, "user"}) {
		t.Errorf("upstream turns %v", n.Roles)
	}
}

// mStreamed is a streamed answer as the SDK accumulated it, and the raw events.
type mStreamed struct {
	acc    anthropic.Message
	events []sseEvent
	header http.Header
	err    error
}

// stream sends p streamed and reads the whole answer with the SDK, which must
// accept every event; the event sequence is checked as Anthropic sends it.
func (e *mEnv) stream(p anthropic.MessageNewParams, opts ...aoption.RequestOption) *mStreamed {
	t := e.t
	t.Helper()
	var raw tee
	c := e.client(append(opts, raw.anthropicOption())...)
	s := c.Messages.NewStreaming(ctx, p)
	out := &mStreamed{}
	for s.Next() {
		if err := out.acc.Accumulate(s.Current()); err != nil {
			t.Errorf("the SDK refused an event: %v", err)
		}
	}
	out.err = s.Err()
	_ = s.Close()
	out.events, out.header = raw.sse(), raw.header
	if out.err == nil {
		checkSequence(t, out.events, false)
	}
	if ct := out.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	return out
}

func (s *mStreamed) mustSucceed(t *testing.T) {
	t.Helper()
	if s.err != nil {
		t.Fatalf("stream: %v", s.err)
	}
}

// checkSequence checks a stream as Anthropic sends it: message_start first;
// content blocks opened in index order from 0, one at a time, each delta and
// stop naming the open block; message_delta once every block closed; then
// message_stop last (or, for a failed stream, an error event last and no
// message_stop). Every event's data is a JSON object whose "type" is the event's
// name; pings may come anywhere after message_start.
func checkSequence(t *testing.T, evs []sseEvent, failed bool) {
	t.Helper()
	if len(evs) == 0 || evs[0].name != "message_start" {
		t.Fatalf("the stream does not open with message_start: %v", evs)
	}
	open, next, delta := -1, 0, false
	for i, ev := range evs {
		var doc struct {
			Type  string `json:"type"`
			Index *int   `json:"index"`
		}
		if err := json.Unmarshal([]byte(ev.data), &doc); err != nil || doc.Type != ev.name {
			t.Errorf("event %d %q: data %s", i, ev.name, ev.data)
			continue
		}
		index := -2
		if doc.Index != nil {
			index = *doc.Index
		}
		last := i == len(evs)-1
		switch ev.name {
		case "message_start":
			if i != 0 {
				t.Errorf("a second message_start at %d", i)
			}
		case "content_block_start":
			if open != -1 || index != next || delta {
				t.Errorf("event %d: block %d starts while %d is open (next %d)", i, index, open, next)
			}
			open, next = index, next+1
		case "content_block_delta":
			if index != open {
				t.Errorf("event %d: a delta of block %d while %d is open", i, index, open)
			}
		case "content_block_stop":
			if index != open {
				t.Errorf("event %d: block %d stops while %d is open", i, index, open)
			}
			open = -1
		case "message_delta":
			if open != -1 || delta {
				t.Errorf("event %d: message_delta with block %d open", i, open)
			}
			delta = true
		case "message_stop":
			if !delta || !last || failed {
				t.Errorf("event %d: message_stop out of place", i)
			}
		case "ping":
		case "error":
			if !failed || !last {
				t.Errorf("event %d: an error event: %s", i, ev.data)
			}
		default:
			t.Errorf("event %d: unknown event %q", i, ev.name)
		}
	}
	if end := evs[len(evs)-1].name; (failed && end != "error") || (!failed && end != "message_stop") {
		t.Errorf("the stream ends with %q", end)
	}
}

// deltas are the delta fields of kind (text, partial_json, ...) in order.
func (s *mStreamed) deltas(kind string) []string {
	var out []string
	for _, ev := range s.events {
		if ev.name != "content_block_delta" {
			continue
		}
		var doc struct {
			Delta map[string]any `json:"delta"`
		}
		_ = json.Unmarshal([]byte(ev.data), &doc)
		if v, ok := doc.Delta[kind].(string); ok {
			out = append(out, v)
		}
	}
	return out
}

// event is the data of the first event named name.
func (s *mStreamed) event(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, ev := range s.events {
		if ev.name == name {
			var doc map[string]any
			if err := json.Unmarshal([]byte(ev.data), &doc); err != nil {
				t.Fatal(err)
			}
			return doc
		}
	}
	t.Fatalf("no %s event", name)
	return nil
}

func mStream(e *mEnv) {
	t := e.t
	words := []string{"Once ", "upon ", "a ", "time ", "there ", "was ", "a ", "proxy."}
	e.cloud.Respond(func(*fakes.Prompt) fakes.Reply { return fakes.Reply{Content: strings.Join(words, ""), Chunks: words} })
	s := e.stream(e.params(user(text("tell a story"))))
	s.mustSucceed(t)
	if got := s.deltas("text"); !slices.Equal(got, words) {
		t.Errorf("text deltas %q, want %q", got, words)
	}
	if got := textOf(t, &s.acc); got != strings.Join(words, "") || s.acc.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("accumulated %q, %s", got, s.acc.StopReason)
	}
	if s.header.Get("X-Switchyard-Provider") != e.b.name {
		t.Errorf("served by %q", s.header.Get("X-Switchyard-Provider"))
	}
	if n := e.received(e.cloud, 0); !n.Stream || n.Model != e.b.model {
		t.Errorf("upstream request %+v", n)
	}
}

func weatherTool() anthropic.ToolUnionParam {
	return anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{Name: "get_weather",
		Description: anthropic.String("Looks up the weather."),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}},
			Required: []string{"query"}}}}
}

func mToolsRoundTrip(e *mEnv) {
	t := e.t
	const q = "weather in Oslo"
	p := e.params(user(text(q)))
	p.Tools = []anthropic.ToolUnionParam{weatherTool()}
	p.ToolChoice = anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}}
	s := e.stream(p)
	s.mustSucceed(t)
	if s.acc.StopReason != anthropic.StopReasonToolUse || len(s.acc.Content) != 1 || s.acc.Content[0].Type != "tool_use" {
		t.Fatalf("accumulated %s", s.acc.RawJSON())
	}
	call := s.acc.Content[0]
	if call.ID == "" || call.Name != "get_weather" {
		t.Errorf("tool_use %s", call.RawJSON())
	}
	start := s.event(t, "content_block_start")["content_block"].(map[string]any)
	if start["type"] != "tool_use" || start["id"] != call.ID || start["name"] != "get_weather" || len(start["input"].(map[string]any)) != 0 {
		t.Errorf("content_block_start %v", start)
	}
	// The input arrives as input_json_delta fragments of the arguments (one
	// when the cloud gives them whole, as Gemini does).
	fragments := s.deltas("partial_json")
	var input map[string]any
	if err := json.Unmarshal([]byte(strings.Join(fragments, "")), &input); err != nil || len(input) != 1 || input["query"] != q || len(fragments) == 0 {
		t.Errorf("input_json_delta fragments %q", fragments)
	}
	if err := json.Unmarshal(call.Input, &input); err != nil || input["query"] != q {
		t.Errorf("accumulated input %s", call.Input)
	}
	// The result goes back; the model reads it as a tool result.
	p.Messages = append(p.Messages, s.acc.ToParam(), user(anthropic.NewToolResultBlock(call.ID, "12°C and rain", false)))
	p.ToolChoice = anthropic.ToolChoiceUnionParam{OfAuto: &anthropic.ToolChoiceAutoParam{}}
	c := e.client()
	msg, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, msg); got != "Tool results: 12°C and rain" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("after the tool result: %q (%s)", got, msg.StopReason)
	}
}

func mImage(e *mEnv) {
	t := e.t
	const q = "What is in this picture?"
	c := e.client()
	msg, err := c.Messages.New(ctx, e.params(user(text(q),
		anthropic.NewImageBlockBase64("image/png", base64.StdEncoding.EncodeToString(pngBytes)))))
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, msg); got != heardBy(e.b.name, q)+" (and saw 1 image(s))" {
		t.Errorf("text %q", got)
	}
	n := e.received(e.cloud, 0)
	if len(n.Images) != 1 || n.Images[0].MediaType != "image/png" || string(n.Images[0].Data) != string(pngBytes) {
		t.Errorf("upstream images %+v", n.Images)
	}
}

// Natively the stop sequence is named; translated, the text stops at it but the
// stop reason is end_turn: OpenAI's and Gemini's finish reasons do not say that a
// stop sequence ended the text (README, "Use it from Claude Code").
func mStopSequence(e *mEnv) {
	t := e.t
	p := e.params(user(text("one two STOP three")))
	p.StopSequences = []string{"STOP"}
	wantReason, wantSeq := anthropic.StopReasonEndTurn, ""
	if e.b.native {
		wantReason, wantSeq = anthropic.StopReasonStopSequence, "STOP"
	}
	c := e.client()
	msg, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, msg); got != heardBy(e.b.name, "one two ") || msg.StopReason != wantReason || msg.StopSequence != wantSeq {
		t.Errorf("text %q stop %q %q", got, msg.StopReason, msg.StopSequence)
	}
	s := e.stream(p)
	s.mustSucceed(t)
	if got := textOf(t, &s.acc); got != heardBy(e.b.name, "one two ") || s.acc.StopReason != wantReason || s.acc.StopSequence != wantSeq {
		t.Errorf("streamed: text %q stop %q %q", got, s.acc.StopReason, s.acc.StopSequence)
	}
}

func mMaxTokens(e *mEnv) {
	t := e.t
	p := e.params(user(text("one two three four")))
	p.MaxTokens = 2
	// The emulated model writes one token per word: "<name> " and "heard: ".
	want := e.b.name + " heard: "
	c := e.client()
	msg, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, msg); got != want || msg.StopReason != anthropic.StopReasonMaxTokens || msg.Usage.OutputTokens != 2 {
		t.Errorf("text %q stop %q output tokens %d", got, msg.StopReason, msg.Usage.OutputTokens)
	}
	s := e.stream(p)
	s.mustSucceed(t)
	if got := textOf(t, &s.acc); got != want || s.acc.StopReason != anthropic.StopReasonMaxTokens || s.acc.Usage.OutputTokens != 2 {
		t.Errorf("streamed: text %q stop %q output tokens %d", got, s.acc.StopReason, s.acc.Usage.OutputTokens)
	}
}

// usageWant is the usage every backend must report for the scripted counts.
type usageWant struct{ input, output, read, creation int64 }

func mUsage(e *mEnv) {
	t := e.t
	e.cloud.Respond(func(*fakes.Prompt) fakes.Reply {
		return fakes.Reply{Content: "counted", PromptTokens: 40, CompletionTokens: 7, CachedTokens: 10, CacheWriteTokens: 6}
	})
	// Anthropic counts input without the cache reads and writes. A cloud that does
	// not report writes counts them as input.
	want := usageWant{input: 30, output: 7, read: 10}
	if e.b.cacheWrites {
		want.input, want.creation = 24, 6
	}
	check := func(how string, u anthropic.Usage) {
		if got := (usageWant{u.InputTokens, u.OutputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens}); got != want {
			t.Errorf("%s: usage %+v, want %+v", how, got, want)
		}
	}
	c := e.client()
	msg, err := c.Messages.New(ctx, e.params(user(text("count the tokens"))))
	if err != nil {
		t.Fatal(err)
	}
	check("answer", msg.Usage)
	s := e.stream(e.params(user(text("count the tokens"))))
	s.mustSucceed(t)
	check("stream", s.acc.Usage)
	// The final message_delta carries all four counts.
	var final struct {
		Usage map[string]int64 `json:"usage"`
	}
	for _, ev := range s.events {
		if ev.name == "message_delta" {
			_ = json.Unmarshal([]byte(ev.data), &final)
		}
	}
	if got := (usageWant{final.Usage["input_tokens"], final.Usage["output_tokens"], final.Usage["cache_read_input_tokens"],
		final.Usage["cache_creation_input_tokens"]}); got != want || len(final.Usage) < 4 {
		t.Errorf("message_delta usage %v, want %+v", final.Usage, want)
	}
	// message_start comes before any count a translated target gives: its input
	// is the gateway's estimate then, exact natively.
	start := s.event(t, "message_start")["message"].(map[string]any)["usage"].(map[string]any)
	if in := start["input_tokens"].(float64); (e.b.native && int64(in) != want.input) || in <= 0 {
		t.Errorf("message_start usage %v", start)
	}
}

func mCountTokens(e *mEnv) {
	t := e.t
	const q = "count me"
	var raw *http.Response
	c := e.client()
	n, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: anthropic.Model(e.b.name),
		Messages: []anthropic.MessageParam{user(text(q))}}, aoption.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	how := raw.Header.Get("X-Switchyard-Token-Count")
	if !e.b.native {
		// No counting endpoint: the local estimate, and nothing sent upstream.
		if how != "estimate" || n.InputTokens <= 0 || len(e.cloud.Requests()) != 0 {
			t.Errorf("%s count %d, %d upstream requests", how, n.InputTokens, len(e.cloud.Requests()))
		}
		return
	}
	// Exact: the cloud's count, the same the answer's usage reports.
	prompt, _ := echoUsage(q, "")
	if how != "exact" || n.InputTokens != prompt {
		t.Errorf("%s count %d, want exact %d", how, n.InputTokens, prompt)
	}
}

// mUncarried: top_k has no canonical form. Natively it goes upstream as sent;
// a translated target refuses it with a 400 naming it, and nothing is sent (nor
// counted against the target: the client's request is at fault).
func mUncarried(e *mEnv) {
	t := e.t
	c := e.client()
	msg, err := c.Messages.New(ctx, e.params(user(text("hi"))), aoption.WithJSONSet("top_k", 5))
	if e.b.native {
		if err != nil {
			t.Fatal(err)
		}
		if textOf(t, msg) != heardBy(e.b.name, "hi") || !strings.Contains(string(e.cloud.Requests()[0].Body), `"top_k":5`) {
			t.Errorf("answer %s; upstream %s", msg.RawJSON(), e.cloud.Requests()[0].Body)
		}
		return
	}
	if apiErr := e.refused(err, http.StatusBadRequest, "invalid_request_error"); !strings.HasPrefix(apiErr.Message, "top_k: ") {
		t.Errorf("the 400 does not name top_k: %s", apiErr.Message)
	}
	// Tool results nested in tool results past the bound (dialect/anthropic
	// maxContentDepth): refused before anything walks them level by level.
	deep := strings.Repeat(`[{"type":"tool_result","tool_use_id":"t","content":`, 9) + `"x"` + strings.Repeat(`}]`, 9)
	_, err = c.Messages.New(ctx, e.params(user(text("hi"))),
		aoption.WithJSONSet("messages", json.RawMessage(`[{"role":"user","content":`+deep+`}]`)))
	if apiErr := e.refused(err, http.StatusBadRequest, "invalid_request_error"); !strings.Contains(apiErr.Message, "nested at most") {
		t.Errorf("the 400 does not say the content is nested too deep: %s", apiErr.Message)
	}
	// A turn's text under "Content": what the translation would send, and what
	// the admission estimate (which reads names as written) would not count.
	_, err = c.Messages.New(ctx, e.params(user(text("hi"))),
		aoption.WithJSONSet("messages", json.RawMessage(`[{"role":"user","content":"hi","Content":"`+strings.Repeat("word ", 1000)+`"}]`)))
	if apiErr := e.refused(err, http.StatusBadRequest, "invalid_request_error"); !strings.Contains(apiErr.Message, `"Content" is not "content"`) {
		t.Errorf("the 400 does not name the misspelt member: %s", apiErr.Message)
	}
}

// refused checks that a request failed with Anthropic's error of status and
// typ, and that nothing reached the cloud.
func (e *mEnv) refused(err error, status int, typ string) *anthropic.Error {
	e.t.Helper()
	apiErr := asAnthropicError(e.t, err)
	anthropicShaped(e.t, apiErr, status, typ)
	if n := len(e.cloud.Requests()); n != 0 {
		e.t.Errorf("a refused request reached the cloud %d times", n)
	}
	return apiErr
}

func mInvalidRequest(e *mEnv) {
	p := e.params(user(text("hi")))
	p.MaxTokens = 0
	c := e.client()
	_, err := c.Messages.New(ctx, p)
	e.refused(err, http.StatusBadRequest, "invalid_request_error")
	// A body that is not JSON at all.
	var out map[string]any
	e.refused(c.Post(ctx, "v1/messages", []byte(`{"model":`), &out), http.StatusBadRequest, "invalid_request_error")
}

func mUnknownModel(e *mEnv) {
	p := e.params(user(text("hi")))
	p.Model = "no-such-alias"
	c := e.client()
	_, err := c.Messages.New(ctx, p)
	e.refused(err, http.StatusNotFound, "not_found_error")
}

// mAuthentication: the key as x-api-key (the SDKs' classic header) and as
// Authorization: Bearer (Claude Code's ANTHROPIC_AUTH_TOKEN, SDK v2) both
// authenticate; a wrong or missing key is Anthropic's 401.
func mAuthentication(e *mEnv) {
	t := e.t
	p := e.params(user(text("who am I?")))
	sent := map[string]string{}
	spy := aoption.WithMiddleware(func(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
		sent["x-api-key"], sent["authorization"] = req.Header.Get("X-Api-Key"), req.Header.Get("Authorization")
		return next(req)
	})
	for _, how := range []struct {
		name   string
		client anthropic.Client
		header string
	}{
		{"x-api-key", anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(e.root),
			aoption.WithHeader("x-api-key", clientKey), aoption.WithMaxRetries(0), spy), "x-api-key"},
		{"auth token", anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(e.root),
			aoption.WithAuthToken(clientKey), aoption.WithMaxRetries(0), spy), "authorization"},
	} {
		msg, err := how.client.Messages.New(ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", how.name, err)
		}
		if textOf(t, msg) != heardBy(e.b.name, "who am I?") {
			t.Errorf("%s: %s", how.name, msg.RawJSON())
		}
		for h, v := range sent {
			if (h == how.header) != (v != "") {
				t.Errorf("%s: the client sent %s %q", how.name, h, v)
			}
		}
	}
	served := len(e.cloud.Requests())
	for _, key := range []string{"sk-wrong", ""} {
		opts := []aoption.RequestOption{aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(e.root), aoption.WithMaxRetries(0)}
		if key != "" {
			opts = append(opts, aoption.WithHeader("x-api-key", key))
		}
		c := anthropic.NewClient(opts...)
		_, err := c.Messages.New(ctx, p)
		anthropicShaped(t, asAnthropicError(t, err), http.StatusUnauthorized, "authentication_error")
	}
	if n := len(e.cloud.Requests()); n != served {
		t.Errorf("unauthenticated requests reached the cloud")
	}
}

func mRateLimited(e *mEnv) {
	t := e.t
	e.cloud.Fail(fakes.Fault{Status: http.StatusTooManyRequests})
	c := e.client()
	_, err := c.Messages.New(ctx, e.params(user(text("hi"))))
	apiErr := asAnthropicError(t, err)
	anthropicShaped(t, apiErr, http.StatusTooManyRequests, "rate_limit_error")
	if apiErr.Response.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if n := len(e.cloud.Requests()); n != 1 {
		t.Errorf("the cloud received %d requests, want 1", n)
	}
}

// mExhausted: every attempt fails; Anthropic's answer for that is 529
// overloaded_error, which Claude Code and the SDKs retry with backoff.
func mExhausted(e *mEnv) {
	t := e.t
	e.cloud.Fail(fakes.Fault{Status: http.StatusInternalServerError})
	c := e.client()
	_, err := c.Messages.New(ctx, e.params(user(text("hi"))))
	apiErr := asAnthropicError(t, err)
	anthropicShaped(t, apiErr, 529, "overloaded_error")
	if !strings.Contains(apiErr.Message, e.b.name) {
		t.Errorf("the error does not name the failing provider: %s", apiErr.Message)
	}
	if n := len(e.cloud.Requests()); n != 3 {
		t.Errorf("%d attempts, want max_attempts (3)", n)
	}
}

// mStreamError: the cloud fails once the stream has begun: the client gets the
// content so far, then Anthropic's error event, and no message_stop.
func mStreamError(e *mEnv) {
	t := e.t
	words := []string{"one ", "two ", "three ", "four ", "five"}
	e.cloud.Respond(func(*fakes.Prompt) fakes.Reply { return fakes.Reply{Content: strings.Join(words, ""), Chunks: words} })
	f := e.b.failure
	f.CutAfter = e.b.held + 2
	e.cloud.Fail(f)
	s := e.stream(e.params(user(text("count"))))
	if s.err == nil {
		t.Fatalf("the stream ended well: %v", s.events)
	}
	apiErr := asAnthropicError(t, s.err)
	if apiErr.Type() != "overloaded_error" || apiErr.Message == "" {
		t.Errorf("stream error %s %q", apiErr.Type(), apiErr.Message)
	}
	checkSequence(t, s.events, true)
	if got := s.deltas("text"); len(got) == 0 || !slices.Equal(got, words[:len(got)]) {
		t.Errorf("content before the error: %q", got)
	}
	var doc errorDoc
	last := s.events[len(s.events)-1]
	if err := json.Unmarshal([]byte(last.data), &doc); err != nil || doc.Type != "error" || doc.Error.Type != "overloaded_error" {
		t.Errorf("last event %q: %s", last.name, last.data)
	}
}

// mFailover: the primary fails before its first content (an HTTP error; a stream
// cut right after the events that precede content, which the gateway holds
// back); the backup serves; the client sees one clean answer.
func mFailover(e *mEnv) {
	t := e.t
	backup := e.b.name + "-backup"
	const q = "anyone there?"
	e.cloud.Fail(fakes.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	var raw *http.Response
	c := e.client()
	msg, err := c.Messages.New(ctx, e.params(user(text(q))), aoption.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if textOf(t, msg) != heardBy(backup, q) || raw.Header.Get("X-Switchyard-Provider") != backup || raw.Header.Get("X-Switchyard-Attempts") != "2" {
		t.Errorf("answer %s from %s after %s attempts", msg.RawJSON(), raw.Header.Get("X-Switchyard-Provider"), raw.Header.Get("X-Switchyard-Attempts"))
	}
	if e.b.held > 0 {
		e.cloud.Fail(fakes.Fault{CutAfter: e.b.held, Times: 1})
	} else {
		e.cloud.Fail(fakes.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	}
	s := e.stream(e.params(user(text(q))))
	s.mustSucceed(t)
	if got := textOf(t, &s.acc); got != heardBy(backup, q) || s.header.Get("X-Switchyard-Provider") != backup {
		t.Errorf("stream %q from %s", got, s.header.Get("X-Switchyard-Provider"))
	}
	if n := len(e.cloud.Requests()); n != 2 {
		t.Errorf("the primary received %d requests, want 2", n)
	}
	if n := e.received(e.cloud, 1); !n.Stream {
		t.Errorf("the primary's stream request %+v", n)
	}
}

// mBeta: the client's anthropic-beta flags reach Anthropic as sent; Bedrock and
// Vertex AI get those they take (others would make them refuse the request);
// translated targets get none.
func mBeta(e *mEnv) {
	t := e.t
	const kept = "interleaved-thinking-2025-05-14"
	flags := []string{kept, "claude-code-20250219", "fine-grained-tool-streaming-2025-05-14"}
	c := e.client(aoption.WithHeader("anthropic-beta", flags[0]+","+flags[1]), aoption.WithHeaderAdd("anthropic-beta", flags[2]))
	msg, err := c.Messages.New(ctx, e.params(user(text("hi"))))
	if err != nil {
		t.Fatal(err)
	}
	if textOf(t, msg) != heardBy(e.b.name, "hi") {
		t.Errorf("answer %s", msg.RawJSON())
	}
	var want []string
	switch e.b.name {
	case "anthropic":
		want = flags
	case "bedrock-claude", "vertex-claude":
		want = []string{kept}
	}
	r := e.cloud.Requests()[0]
	if got := e.b.beta(t, r); !slices.Equal(got, want) {
		t.Errorf("the cloud received anthropic-beta %q, want %q", got, want)
	}
	if e.b.name == "bedrock-claude" && r.Header.Get("Anthropic-Beta") != "" {
		t.Errorf("Bedrock received an anthropic-beta header: %q", r.Header.Get("Anthropic-Beta"))
	}
}

// mVersion: anthropic-version is accepted whatever its value (or none); the
// cloud gets the version its provider is configured with, not the client's.
func mVersion(e *mEnv) {
	t := e.t
	for _, v := range []string{"2023-06-01", "2099-12-31", "not-a-version", ""} {
		opt := aoption.WithHeader("anthropic-version", v)
		if v == "" {
			opt = aoption.WithHeaderDel("anthropic-version")
		}
		c := e.client(opt)
		msg, err := c.Messages.New(ctx, e.params(user(text("version "+v))))
		if err != nil {
			t.Fatalf("anthropic-version %q: %v", v, err)
		}
		if textOf(t, msg) != heardBy(e.b.name, "version "+v) {
			t.Errorf("anthropic-version %q: %s", v, msg.RawJSON())
		}
	}
	for _, r := range e.cloud.Requests() {
		switch e.b.name {
		case "anthropic":
			if v := r.Header.Get("Anthropic-Version"); v != "2023-06-01" {
				t.Errorf("Anthropic received anthropic-version %q", v)
			}
		case "bedrock-claude", "vertex-claude":
			var body struct {
				Version string `json:"anthropic_version"`
			}
			decode(t, r, &body)
			if body.Version != "bedrock-2023-05-31" && body.Version != "vertex-2023-10-16" {
				t.Errorf("%s received anthropic_version %q", e.b.name, body.Version)
			}
		}
	}
}
