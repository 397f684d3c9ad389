package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// TestReasoningEffortPerModel: reasoning_effort becomes each Claude model's own
// control, and what a model cannot take is refused with OpenAI's error.
func TestReasoningEffortPerModel(t *testing.T) {
	for _, c := range []struct {
		model, body string
		thinking    string // the thinking member sent, "" for none
		effort      string // output_config.effort
		maxTokens   int
	}{
		{"claude-sonnet-4-5", `"reasoning_effort":"high","max_tokens":10000`, `{"type":"enabled","budget_tokens":7500}`, "", 10000},
		{"claude-sonnet-4-5", `"reasoning_effort":"low"`, `{"type":"enabled","budget_tokens":4096}`, "", providers.ThinkingMaxTokens},
		{"claude-opus-4-5-20251101", `"reasoning_effort":"minimal","max_tokens":5000`, `{"type":"enabled","budget_tokens":1024}`, "low", 5000},
		{"claude-opus-4-6", `"reasoning_effort":"medium","max_tokens":5000`, `{"type":"adaptive"}`, "medium", 5000},
		{"claude-opus-4-7", `"reasoning_effort":"xhigh"`, `{"type":"adaptive"}`, "xhigh", providers.ThinkingMaxTokens},
		{"claude-sonnet-4-5", `"reasoning_effort":"none"`, "", "", DefaultMaxTokens},
		{"claude-sonnet-4-5", `"reasoning_effort":"high","temperature":1`, `{"type":"enabled","budget_tokens":12288}`, "", providers.ThinkingMaxTokens},
	} {
		t.Run(c.model+"/"+c.body, func(t *testing.T) {
			cr := canonical(t, `{"model":"a","messages":[{"role":"user","content":"hi"}],`+c.body+`}`)
			body, _, err := translateRequest(cr, c.model, false, defaultOpts)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				MaxTokens    int             `json:"max_tokens"`
				Thinking     json.RawMessage `json:"thinking"`
				OutputConfig struct {
					Effort string `json:"effort"`
				} `json:"output_config"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Thinking) != c.thinking || got.OutputConfig.Effort != c.effort || got.MaxTokens != c.maxTokens {
				t.Fatalf("sent %s", body)
			}
		})
	}
}

func TestReasoningRefusals(t *testing.T) {
	for _, c := range []struct {
		model, body, param string
	}{
		{"claude-3-5-sonnet-20241022", `"reasoning_effort":"low"`, "reasoning_effort"},
		{"claude-sonnet-4-5", `"reasoning_effort":"extreme"`, "reasoning_effort"},
		{"claude-sonnet-4-5", `"reasoning_effort":"low","temperature":0.2`, "temperature"},
		{"claude-sonnet-4-5", `"reasoning_effort":"low","top_p":0.5`, "top_p"},
		{"claude-sonnet-4-5", `"reasoning_effort":"low","max_tokens":1000`, "max_completion_tokens"},
		{"claude-sonnet-4-5", `"reasoning_effort":"low","response_format":{"type":"json_object"}`, "response_format"},
		{"claude-sonnet-4-5", `"reasoning_effort":"low","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"`, "tool_choice"},
	} {
		cr := canonical(t, `{"model":"a","messages":[{"role":"user","content":"hi"}],`+c.body+`}`)
		_, _, err := translateRequest(cr, c.model, false, defaultOpts)
		var e *providers.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != c.param {
			t.Errorf("%s %s: %v, want a 400 naming %s", c.model, c.body, err, c.param)
		}
	}
}

// A tool loop begun without thinking (on another cloud) continues without it:
// Claude would refuse thinking on an assistant turn that has no thinking block.
func TestUnsignedToolLoopGoesWithoutThinking(t *testing.T) {
	cr := canonical(t, `{"model":"a","reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}}],"messages":[
		{"role":"user","content":"hi"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"done"}]}`)
	body, _, err := translateRequest(cr, "claude-sonnet-4-5", false, defaultOpts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), `"thinking"`) {
		t.Fatalf("thinking sent on an unsigned tool loop: %s", body)
	}
}

func TestHiddenReasoning(t *testing.T) {
	raw := []byte(`{"id":"m","type":"message","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"secret plan","signature":"sig"},{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}`)
	resp, err := translateResponse(raw, translation{hideReasoning: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Choices[0].Message
	if m.ReasoningContent != "" || len(m.ThinkingBlocks) != 1 || m.ThinkingBlocks[0].Signature != "sig" {
		t.Fatalf("message %+v", m)
	}
}
