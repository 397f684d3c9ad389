package conformance

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// Reasoning and prompt caching through the proxy, with the client's JSON shaped as
// OpenAI-compatible clients send it (reasoning_effort, thinking_blocks sent back
// on assistant turns as LiteLLM-style integrations do, cache_control on content
// parts), posted with openai-go.

// reasoningNative checks how each cloud was asked to reason for reasoning_effort
// "low" with no max_tokens (the README's mapping table).
var reasoningNative = map[string]func(t *testing.T, body map[string]any){
	"openai": func(t *testing.T, b map[string]any) { wantJSON(t, b["reasoning_effort"], `"low"`) },
	"azure":  func(t *testing.T, b map[string]any) { wantJSON(t, b["reasoning_effort"], `"low"`) },
	"anthropic": func(t *testing.T, b map[string]any) {
		// A quarter of the 16384 max_tokens sent with thinking on.
		wantJSON(t, b["thinking"], `{"budget_tokens":4096,"type":"enabled"}`)
		wantJSON(t, b["max_tokens"], `16384`)
	},
	"bedrock": func(t *testing.T, b map[string]any) {
		wantJSON(t, b["additionalModelRequestFields"], `{"thinking":{"budget_tokens":4096,"type":"enabled"}}`)
		wantJSON(t, b["inferenceConfig"], `{"maxTokens":16384}`)
	},
	"gemini": func(t *testing.T, b map[string]any) {
		wantJSON(t, b["generationConfig"], `{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":1024}}`)
	},
}

// thinkers are the rows whose emulated model returns its reasoning; signers the
// ones whose reasoning comes in signed thinking blocks (Claude).
var (
	thinkers = map[string]bool{"anthropic": true, "bedrock": true, "gemini": true}
	signers  = map[string]bool{"anthropic": true, "bedrock": true}
)

func wantJSON(t *testing.T, v any, want string) {
	t.Helper()
	got, _ := json.Marshal(v)
	if string(got) != want {
		t.Errorf("native %s, want %s", got, want)
	}
}

// post sends a raw chat request through the proxy with openai-go and returns the
// answer as JSON, its headers, and the error.
func (e *env) post(body map[string]any) (map[string]any, *http.Response, error) {
	var raw *http.Response
	var out map[string]any
	c := e.client()
	err := c.Post(ctx, "chat/completions", body, &out, option.WithResponseInto(&raw))
	return out, raw, err
}

func (e *env) nativeBody(i int) map[string]any {
	e.t.Helper()
	reqs := e.cloud.Requests()
	if i < 0 {
		i += len(reqs)
	}
	var b map[string]any
	decode(e.t, reqs[i], &b)
	return b
}

func firstMessage(resp map[string]any) map[string]any {
	return resp["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
}

// reasoningEffort: the effort reaches each cloud's own control, and the reasoning
// comes back as reasoning_content (and Claude's signed thinking_blocks), streamed
// and not, its tokens counted as completion tokens.
func reasoningEffort(e *env) {
	t := e.t
	const q = "two plus two"
	resp, raw, err := e.post(map[string]any{"model": e.b.name, "reasoning_effort": "low",
		"messages": []any{map[string]any{"role": "user", "content": q}}})
	if err != nil {
		t.Fatal(err)
	}
	reasoningNative[e.b.name](t, e.nativeBody(0))
	m := firstMessage(resp)
	want := "The user said " + q + "; let me think it through."
	if !thinkers[e.b.name] {
		want = ""
	}
	got, _ := m["reasoning_content"].(string)
	if got != want || m["content"] != heard(e, q) {
		t.Errorf("message %v", m)
	}
	if signers[e.b.name] {
		blocks, _ := m["thinking_blocks"].([]any)
		if len(blocks) != 1 || blocks[0].(map[string]any)["signature"] != fakes.ClaudeSignature(want) {
			t.Errorf("thinking_blocks %v", m["thinking_blocks"])
		}
	}
	if thinkers[e.b.name] {
		u := resp["usage"].(map[string]any)
		if u["completion_tokens"].(float64) <= 4 { // the answer alone is 4 words
			t.Errorf("reasoning tokens not counted as completion tokens: %v", u)
		}
	}
	if raw.Header.Get("X-Switchyard-Cost-Usd") == "" && e.b.name != "azure" {
		t.Errorf("no cost")
	}

	p := e.params(openai.UserMessage(q))
	p.ReasoningEffort = "low"
	s := e.stream(p)
	var text string
	var signedBlocks int
	for _, ev := range s.events[:len(s.events)-1] {
		var c struct {
			Choices []struct {
				Delta struct {
					Reasoning      string                    `json:"reasoning_content"`
					ThinkingBlocks []providers.ThinkingBlock `json:"thinking_blocks"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			text += ch.Delta.Reasoning
			for _, b := range ch.Delta.ThinkingBlocks {
				if b.Signature == fakes.ClaudeSignature(b.Thinking) && b.Thinking == want {
					signedBlocks++
				}
			}
		}
	}
	if text != want || strings.Join(s.texts(), "") != heard(e, q) || (signers[e.b.name] != (signedBlocks == 1)) {
		t.Errorf("streamed reasoning %q, %d signed blocks, text %q", text, signedBlocks, s.texts())
	}
}

// weatherModel calls the weather tool when asked a question with tools offered,
// answers from its result, and is polite otherwise.
func weatherModel(p *fakes.Prompt) fakes.Reply {
	last := p.Turns[len(p.Turns)-1]
	switch {
	case last.Role == "tool":
		return fakes.Reply{Content: "It is " + last.Text}
	case len(p.Tools) > 0 && strings.HasSuffix(last.Text, "?"):
		return fakes.Reply{ToolCalls: []fakes.ToolCall{{ID: "call_w1", Name: "weather", Arguments: `{"city":"Paris"}`}}}
	}
	return fakes.Reply{Content: "You are welcome."}
}

// thinkingToolLoop: three turns of a tool loop with reasoning on. The assistant
// turns go back as the client got them (tool calls, reasoning_content,
// thinking_blocks); Claude gets its thinking blocks back byte for byte and
// accepts the loop; an altered block is refused by the cloud (a 400 the client
// reads); a loop sent back without its blocks goes on without thinking, where
// Claude would refuse it.
func thinkingToolLoop(e *env) {
	t := e.t
	e.cloud.Respond(weatherModel)
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "weather",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}
	msgs := []any{map[string]any{"role": "user", "content": "Weather in Paris?"}}
	req := func(m []any) map[string]any {
		return map[string]any{"model": e.b.name, "reasoning_effort": "low", "tools": tools, "messages": m}
	}
	r1, _, err := e.post(req(msgs))
	if err != nil {
		t.Fatal(err)
	}
	a1 := firstMessage(r1)
	calls, _ := a1["tool_calls"].([]any)
	if len(calls) != 1 {
		t.Fatalf("turn 1: %v", a1)
	}
	callID := calls[0].(map[string]any)["id"].(string)
	result := map[string]any{"role": "tool", "tool_call_id": callID, "content": "sunny"}
	loop := append(append([]any{}, msgs...), a1, result)
	r2, _, err := e.post(req(loop))
	if err != nil {
		t.Fatal(err)
	}
	a2 := firstMessage(r2)
	if a2["content"] != "It is sunny" {
		t.Fatalf("turn 2: %v", a2)
	}
	if signers[e.b.name] {
		sig := a1["thinking_blocks"].([]any)[0].(map[string]any)["signature"].(string)
		if got := nativeSignature(e, e.nativeBody(-1)); got != sig {
			t.Errorf("turn 2 sent signature %q, want %q", got, sig)
		}
	}
	third := append(append([]any{}, loop...), a2, map[string]any{"role": "user", "content": "thanks"})
	r3, _, err := e.post(req(third))
	if err != nil || firstMessage(r3)["content"] != "You are welcome." {
		t.Fatalf("turn 3: %v %v", r3, err)
	}
	if !signers[e.b.name] {
		return
	}

	altered := map[string]any{}
	for k, v := range a1 {
		altered[k] = v
	}
	altered["thinking_blocks"] = []any{map[string]any{"type": "thinking", "thinking": "I made this up.",
		"signature": a1["thinking_blocks"].([]any)[0].(map[string]any)["signature"]}}
	_, _, err = e.post(req(append(append([]any{}, msgs...), altered, result)))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "signature") {
		t.Errorf("altered thinking block: %v", err)
	}

	stripped := map[string]any{"role": "assistant", "content": nil, "tool_calls": a1["tool_calls"]}
	r, _, err := e.post(req(append(append([]any{}, msgs...), stripped, result)))
	if err != nil || firstMessage(r)["content"] != "It is sunny" {
		t.Fatalf("loop without its thinking blocks: %v %v", r, err)
	}
	native := e.nativeBody(-1)
	if native["thinking"] != nil || native["additionalModelRequestFields"] != nil {
		t.Errorf("thinking asked on an unsigned loop: %v", native)
	}
}

// nativeSignature is the signature of the first thinking block the cloud got in
// the first assistant turn.
func nativeSignature(e *env, b map[string]any) string {
	msgs := b["messages"].([]any)
	first := msgs[1].(map[string]any)["content"].([]any)[0].(map[string]any)
	switch e.b.name {
	case "anthropic":
		s, _ := first["signature"].(string)
		return s
	case "bedrock":
		rc, _ := first["reasoningContent"].(map[string]any)
		rt, _ := rc["reasoningText"].(map[string]any)
		s, _ := rt["signature"].(string)
		return s
	}
	return ""
}

// promptCaching: cache_control on a content part reaches Anthropic as is and
// becomes a cachePoint on Bedrock; the first request writes the cache and the
// second reads it, as cache_write_tokens and cached_tokens; the cost counts both
// at the catalog's rates. OpenAI and Azure cache by themselves (the hint is
// forwarded as sent), Gemini caches implicitly (the hint is left out).
func promptCaching(e *env) {
	t := e.t
	long := strings.Repeat("Clause: the tenant keeps the garden tidy. ", 150)
	body := map[string]any{"model": e.b.name, "messages": []any{
		map[string]any{"role": "system", "content": []any{map[string]any{"type": "text", "text": long,
			"cache_control": map[string]any{"type": "ephemeral"}}}},
		map[string]any{"role": "user", "content": "Summarise."}}}
	var usages []providers.Usage
	for i := 0; i < 2; i++ {
		resp, raw, err := e.post(body)
		if err != nil {
			t.Fatal(err)
		}
		var u providers.Usage
		b, _ := json.Marshal(resp["usage"])
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		usages = append(usages, u)
		if price, ok := catalogPrice(e); ok {
			cost, err := strconv.ParseFloat(raw.Header.Get("X-Switchyard-Cost-Usd"), 64)
			if want := price.Cost(u); err != nil || math.Abs(cost-want) > 1e-12 {
				t.Errorf("cost %v (%v), want %v for %+v", cost, err, want, u)
			}
		}
	}
	native, _ := json.Marshal(e.nativeBody(0))
	switch e.b.name {
	case "anthropic", "bedrock":
		hint := `"cache_control":{"type":"ephemeral"}`
		if e.b.name == "bedrock" {
			hint = `{"cachePoint":{"type":"default"}}`
		}
		if !strings.Contains(string(native), hint) {
			t.Errorf("no cache breakpoint in %s", native)
		}
		w, r := usages[0], usages[1]
		if w.CacheWriteTokens() < 1024 || w.CachedTokens() != 0 || r.CachedTokens() != w.CacheWriteTokens() ||
			r.CacheWriteTokens() != 0 || w.PromptTokens != r.PromptTokens {
			t.Errorf("usage: write %+v then read %+v", w.PromptTokensDetails, r.PromptTokensDetails)
		}
	case "openai", "azure":
		if !strings.Contains(string(native), `"cache_control":{"type":"ephemeral"}`) {
			t.Errorf("the hint was not forwarded: %s", native)
		}
	case "gemini":
		if strings.Contains(string(native), "cache") {
			t.Errorf("a cache hint reached Gemini: %s", native)
		}
		// Implicit caching: the second request's prefix was seen.
		if usages[0].CachedTokens() != 0 || usages[1].CachedTokens() < 1024 {
			t.Errorf("implicit caching: %+v then %+v", usages[0].PromptTokensDetails, usages[1].PromptTokensDetails)
		}
	}
}

// catalogPrice is the built-in price of the row's target, when the catalog has
// one (Azure deployments are priced by configuration only).
func catalogPrice(e *env) (policy.Price, bool) {
	return policy.DefaultCatalog().Lookup(e.b.name, e.b.name, e.b.model)
}
