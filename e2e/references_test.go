package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdk "github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/providers/fakes"
)

// A Responses conversation with a thinking Claude model, continued the way the
// Vercel AI SDK continues one: without previous_response_id, resending
// response.messages with item_reference items for everything the API stored
// (https://ai-sdk.dev/providers/ai-sdk-providers/openai, "store"), then the way
// the OpenAI Agents SDK does: reasoning items sent back by id. The binary
// resolves the references from its store, so Claude gets its signed thinking
// block back and accepts the tool loop; another key's references are not found.
func TestResponsesResendByReference(t *testing.T) {
	cloud := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "claude", APIKey: "sk-ant"})
	defer cloud.Close()
	cloud.Respond(func(p *fakes.Prompt) fakes.Reply {
		last := p.Turns[len(p.Turns)-1]
		switch {
		case last.Role == "tool":
			return fakes.Reply{Content: "It is " + last.Text + "."}
		case strings.HasSuffix(last.Text, "?"):
			return fakes.Reply{ToolCalls: []fakes.ToolCall{{ID: "toolu_w1", Name: "weather", Arguments: `{"city":"Paris"}`}}}
		}
		return fakes.Reply{Content: "Noted."}
	})
	yaml := fmt.Sprintf(`
listen: "{{LISTEN}}"
admin_listen: "{{ADMIN}}"
drain_delay: 0s
keys: [{name: agent, key: sk-agent}, {name: other, key: sk-other}]
providers:
  - {name: claude, type: anthropic, base_url: %q, api_key: sk-ant}
models:
  - name: m
    targets: [{provider: claude, model: claude-sonnet-4-5}]
state: {path: %q}
log: {level: info}
`, cloud.BaseURL(), filepath.Join(t.TempDir(), "state.db"))
	p := start(t, yaml)
	c := responsesClient(p)
	ctx := context.Background()
	tools := `"tools":[{"type":"function","name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]`

	var r1 sdk.Response
	if err := c.Post(ctx, "responses", json.RawMessage(`{"model":"m","reasoning":{"effort":"low","summary":"auto"},`+tools+
		`,"input":[{"role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]}]}`), &r1); err != nil {
		t.Fatalf("turn 1: %v\n%s", err, p.logs)
	}
	if len(r1.Output) != 2 || r1.Output[0].Type != "reasoning" || r1.Output[1].Type != "function_call" ||
		len(r1.Output[0].Summary) != 1 || r1.Output[0].EncryptedContent != "" {
		t.Fatalf("turn 1 output %s", r1.RawJSON())
	}
	rs, fc := r1.Output[0], r1.Output[1]

	// The AI SDK's second request: the user message again, item references for
	// the stored reasoning and function call, the tool result.
	second := `{"model":"m","reasoning":{"effort":"low"},` + tools + `,"input":[` +
		`{"role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]},` +
		`{"type":"item_reference","id":"` + rs.ID + `"},{"type":"item_reference","id":"` + fc.ID + `"},` +
		`{"type":"function_call_output","call_id":"` + fc.CallID + `","output":"sunny"}]}`
	var r2 sdk.Response
	if err := c.Post(ctx, "responses", json.RawMessage(second), &r2); err != nil {
		t.Fatalf("turn 2: %v\n%s", err, p.logs)
	}
	if r2.OutputText() != "It is sunny." {
		t.Fatalf("turn 2 %s", r2.RawJSON())
	}
	var sent struct {
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string `json:"type"`
				Thinking  string `json:"thinking"`
				Signature string `json:"signature"`
			} `json:"content"`
		} `json:"messages"`
	}
	reqs := cloud.Requests()
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &sent); err != nil {
		t.Fatal(err)
	}
	first := sent.Messages[1].Content[0]
	if first.Type != "thinking" || first.Signature != fakes.ClaudeSignature(first.Thinking) || first.Thinking != rs.Summary[0].Text {
		t.Fatalf("Claude got back %+v", sent.Messages[1])
	}

	// The Agents SDK's way: the reasoning item by id (no encrypted content),
	// the call and its output in full, then a new user turn.
	third := `{"model":"m",` + tools + `,"input":[` +
		`{"role":"user","content":"Weather in Paris?"},` +
		`{"id":"` + rs.ID + `","type":"reasoning","summary":[]},` +
		`{"id":"` + fc.ID + `","type":"function_call","call_id":"` + fc.CallID + `","name":"weather","arguments":"{\"city\":\"Paris\"}"},` +
		`{"type":"function_call_output","call_id":"` + fc.CallID + `","output":"sunny"},` +
		`{"type":"item_reference","id":"` + r2.Output[len(r2.Output)-1].ID + `"},` +
		`{"role":"user","content":"Thanks, noted"}]}`
	var r3 sdk.Response
	if err := c.Post(ctx, "responses", json.RawMessage(third), &r3); err != nil || r3.OutputText() != "Noted." {
		t.Fatalf("turn 3: %v %s\n%s", err, r3.RawJSON(), p.logs)
	}

	// Another key: the same references are not found.
	other := openai.NewClient(option.WithBaseURL(p.base), option.WithAPIKey("sk-other"), option.WithMaxRetries(0))
	var r sdk.Response
	err := other.Post(ctx, "responses", json.RawMessage(second), &r)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !strings.Contains(apiErr.Message, rs.ID) {
		t.Fatalf("another key's reference: %v", err)
	}
}
