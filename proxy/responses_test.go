package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdk "github.com/openai/openai-go/v3/responses"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/providers/fakes"
)

const responsesConfig = `
drain_delay: 0s
keys:
  - {name: agent, key: sk-agent, team: bots}
  - {name: stranger, key: sk-stranger, team: other}
providers:
  - {name: openai, type: openai, base_url: "{{OPENAI}}", api_key: sk-upstream-openai}
models:
  - name: m
    targets: [{provider: openai, model: gpt-4o-2024}]
`

func text(s string) sdk.ResponseNewParamsInputUnion {
	return sdk.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

func TestResponsesMultiTurn(t *testing.T) {
	e := newEnv(t, responsesConfig)
	c := e.client("sk-agent")
	ctx := context.Background()
	first, err := c.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", Input: text("My name is Ada."),
		Instructions: openai.String("Be brief.")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.ID, "resp_") || first.OutputText() != "openai heard: My name is Ada." || first.Usage.TotalTokens == 0 {
		t.Fatalf("first: %s", first.RawJSON())
	}
	second, err := c.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", Input: text("What is my name?"),
		PreviousResponseID: openai.String(first.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if second.PreviousResponseID != first.ID {
		t.Errorf("previous id: %s", second.RawJSON())
	}
	// The upstream got the whole conversation as chat messages.
	reqs := e.openai.Requests()
	var chat struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &chat); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range chat.Messages {
		got = append(got, m.Role+": "+m.Content)
	}
	want := []string{"user: My name is Ada.", "assistant: openai heard: My name is Ada.", "user: What is my name?"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("upstream history %q, want %q (instructions are not carried over)", got, want)
	}
	// Get and input_items read what was stored.
	again, err := c.Responses.Get(ctx, second.ID, sdk.ResponseGetParams{})
	if err != nil || again.OutputText() != second.OutputText() {
		t.Errorf("get: %v %v", err, again)
	}
	items, err := c.Responses.InputItems.List(ctx, second.ID, sdk.InputItemListParams{Order: sdk.InputItemListParamsOrderAsc})
	if err != nil || len(items.Data) != 3 {
		t.Errorf("input items: %v %+v", err, items)
	}
	if e.logs.FilterField(zap.Int("conversation_turns", 2)).Len() != 1 {
		t.Error("access log does not name the turn count")
	}
}

func TestResponsesStreamWithSDKAccumulator(t *testing.T) {
	e := newEnv(t, responsesConfig)
	c := e.client("sk-agent")
	stream := c.Responses.NewStreaming(context.Background(), sdk.ResponseNewParams{Model: "m", Input: text("stream this answer")})
	var acc sdk.ResponseAccumulator
	var deltas strings.Builder
	var completed sdk.Response
	for stream.Next() {
		ev := stream.Current()
		var server sdk.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &server); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(server); err != nil {
			t.Fatalf("accumulator: %v", err)
		}
		switch v := ev.AsAny().(type) {
		case sdk.ResponseTextDeltaEvent:
			deltas.WriteString(v.Delta)
		case sdk.ResponseCompletedEvent:
			completed = v.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := acc.ReconstructedResponse()
	if err != nil || got.OutputText() != "openai heard: stream this answer" || deltas.String() != got.OutputText() ||
		completed.Usage.TotalTokens == 0 {
		t.Errorf("accumulated %v %q, deltas %q, usage %+v", err, got.OutputText(), deltas.String(), completed.Usage)
	}
	// The streamed response was stored and can be continued.
	if _, err := c.Responses.New(context.Background(), sdk.ResponseNewParams{Model: "m", Input: text("and then?"),
		PreviousResponseID: openai.String(completed.ID)}); err != nil {
		t.Errorf("continuing a streamed response: %v", err)
	}
}

func TestResponsesFunctionCallRoundTrip(t *testing.T) {
	e := newEnv(t, responsesConfig)
	c := e.client("sk-agent")
	ctx := context.Background()
	first, err := c.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", Input: text("weather in Oslo"),
		Tools:      []sdk.ToolUnionParam{{OfFunction: &sdk.FunctionToolParam{Name: "get_weather", Parameters: map[string]any{"type": "object"}, Strict: openai.Bool(false)}}},
		ToolChoice: sdk.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(sdk.ToolChoiceOptionsRequired)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Output) != 1 || first.Output[0].Type != "function_call" {
		t.Fatalf("no function call: %s", first.RawJSON())
	}
	call := first.Output[0].AsFunctionCall()
	out := sdk.ResponseInputItemParamOfFunctionCallOutput("12°C and rain")
	out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	second, err := c.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", PreviousResponseID: openai.String(first.ID),
		Input: sdk.ResponseNewParamsInputUnion{OfInputItemList: sdk.ResponseInputParam{out}}})
	if err != nil {
		t.Fatal(err)
	}
	if second.OutputText() != "Tool results: 12°C and rain" {
		t.Errorf("after the function output: %q", second.OutputText())
	}
}

func TestResponsesIsolationAndDelete(t *testing.T) {
	e := newEnv(t, responsesConfig)
	ctx := context.Background()
	owner, stranger := e.client("sk-agent"), e.client("sk-stranger")
	first, err := owner.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", Input: text("secret plans")})
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *openai.Error
	if _, err := stranger.Responses.Get(ctx, first.ID, sdk.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another key reading: %v", err)
	}
	if _, err := stranger.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", Input: text("continue"),
		PreviousResponseID: openai.String(first.ID)}); !errors.As(err, &apiErr) || apiErr.StatusCode == 403 || apiErr.StatusCode == 200 {
		t.Errorf("another key continuing: %v", err)
	}
	if err := stranger.Responses.Delete(ctx, first.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another key deleting: %v", err)
	}
	if err := owner.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Responses.New(ctx, sdk.ResponseNewParams{Model: "m", Input: text("continue"),
		PreviousResponseID: openai.String(first.ID)}); !errors.As(err, &apiErr) || apiErr.Code != "previous_response_not_found" {
		t.Errorf("a deleted response used as previous_response_id: %v", err)
	}
	if _, err := owner.Responses.Get(ctx, first.ID, sdk.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("get after delete: %v", err)
	}
}

// A five-turn conversation whose turns 2 and 4 are forced onto other clouds by
// injected failures: every backend receives the full history in its own format.
func TestResponsesConversationSurvivesFailover(t *testing.T) {
	br := fakes.NewBedrock(fakes.BedrockOptions{Name: "bedrock", Region: "us-east-1", AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"})
	defer br.Close()
	an := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "sk-ant"})
	defer an.Close()
	yaml := fmt.Sprintf(`
drain_delay: 0s
providers:
  - {name: azure, type: azure, base_url: "{{AZURE}}", api_key: az-upstream-key, api_version: "2024-10-21"}
  - {name: bedrock, type: bedrock, region: us-east-1, base_url: %q, aws_access_key_id: AKIDTEST, aws_secret_access_key: secret}
  - {name: anthropic, type: anthropic, base_url: %q, api_key: sk-ant}
models:
  - name: agent
    targets:
      - {provider: azure, model: gpt-4o-prod}
      - {provider: bedrock, model: us.anthropic.claude-sonnet-4-20250514-v1:0, priority: 1}
      - {provider: anthropic, model: claude-sonnet-4-20250514, priority: 2}
resilience:
  retry: {base_delay: 1ms, max_delay: 2ms}
`, br.Endpoint(), an.BaseURL())
	e := newEnv(t, yaml)
	c := e.client("")
	ctx := context.Background()
	prev := ""
	served := []string{}
	for turn := 1; turn <= 5; turn++ {
		switch turn {
		case 2: // Azure is down: Bedrock takes the turn.
			e.azure.Fail(fakes.Fault{Status: 503, Times: 1})
		case 4: // Azure and Bedrock are down: Anthropic takes it.
			e.azure.Fail(fakes.Fault{Status: 503, Times: 1})
			br.Fail(fakes.Fault{Status: 503, Times: 1})
		}
		params := sdk.ResponseNewParams{Model: "agent", Input: text(fmt.Sprintf("fact number %d", turn))}
		if prev != "" {
			params.PreviousResponseID = openai.String(prev)
		}
		var raw *http.Response
		resp, err := c.Responses.New(ctx, params, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatalf("turn %d: %v", turn, err)
		}
		served = append(served, raw.Header.Get("X-Switchyard-Provider"))
		prev = resp.ID
	}
	if strings.Join(served, ",") != "azure,bedrock,azure,anthropic,azure" {
		t.Fatalf("turns served by %v", served)
	}
	// Each backend received every earlier fact, in its own wire format.
	checks := []struct {
		name string
		body []byte
		turn int
	}{
		{"bedrock", br.Requests()[len(br.Requests())-1].Body, 2},
		{"anthropic", an.Requests()[len(an.Requests())-1].Body, 4},
		{"azure", e.azure.Requests()[len(e.azure.Requests())-1].Body, 5},
	}
	for _, ck := range checks {
		for i := 1; i <= ck.turn; i++ {
			if !strings.Contains(string(ck.body), fmt.Sprintf("fact number %d", i)) {
				t.Errorf("%s (turn %d) lacks fact %d: %s", ck.name, ck.turn, i, ck.body)
			}
		}
	}
	if !strings.Contains(string(checks[1].body), "bedrock heard: fact number 2") {
		t.Errorf("anthropic did not receive bedrock's earlier answer: %s", checks[1].body)
	}
}

// A conversation outgrows the target's window: truncation auto drops the oldest
// turns, disabled (the default) answers context_length_exceeded.
func TestResponsesTruncation(t *testing.T) {
	e := newEnv(t, `
drain_delay: 0s
providers:
  - {name: openai, type: openai, base_url: "{{OPENAI}}", api_key: sk-upstream-openai}
models:
  - name: small
    targets: [{provider: openai, model: gpt-4o-2024, context_window: 120}]
`)
	c := e.client("")
	ctx := context.Background()
	prev := ""
	long := strings.Repeat("lorem ipsum dolor sit amet ", 8)
	for i := range 3 {
		params := sdk.ResponseNewParams{Model: "small", Input: text(fmt.Sprintf("turn %d: %s", i, long)),
			Truncation: sdk.ResponseNewParamsTruncationAuto}
		if prev != "" {
			params.PreviousResponseID = openai.String(prev)
		}
		resp, err := c.Responses.New(ctx, params)
		if err != nil {
			t.Fatalf("turn %d with truncation auto: %v", i, err)
		}
		prev = resp.ID
	}
	last := e.openai.Requests()[len(e.openai.Requests())-1].Body
	if strings.Contains(string(last), "turn 0:") || !strings.Contains(string(last), "turn 2:") {
		t.Errorf("truncation auto should drop the oldest turns: %s", last)
	}
	_, err := c.Responses.New(ctx, sdk.ResponseNewParams{Model: "small", Input: text("one more " + long),
		PreviousResponseID: openai.String(prev)})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
		t.Errorf("truncation disabled: %v", err)
	}
}
