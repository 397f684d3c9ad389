package fakes

import (
	"encoding/json"
	"fmt"
	"strings"
)

// bedrockThinking applies the reasoning fields of a Converse request
// (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-reasoning.html):
// Claude's thinking in additionalModelRequestFields, validated as Claude
// validates it (Bedrock relays the model's errors: "The model returned the
// following errors: ..."), Nova 2's reasoningConfig, gpt-oss's reasoning_effort,
// and outputConfig.effort. Claude's reasoningContent blocks sent back must carry
// the signature they were given, whether or not thinking is on. It notes the
// thinking on p; the result is the ValidationException's message.
func bedrockThinking(req *converseRequest, p *Prompt) string {
	claude := strings.Contains(strings.ToLower(p.Model), "anthropic.claude")
	relay := func(msg string) string { return "The model returned the following errors: " + msg }
	for i, m := range req.Messages {
		for j, b := range m.Content {
			rc := b.ReasoningContent
			if rc == nil {
				continue
			}
			if rt := rc.ReasoningText; rt != nil && claude && rt.Signature != ClaudeSignature(rt.Text) {
				return relay(badSignature(i, j))
			}
		}
	}
	var fields struct {
		Thinking *struct {
			Type         string `json:"type"`
			BudgetTokens *int   `json:"budget_tokens"`
		} `json:"thinking"`
		ReasoningConfig *struct {
			Type               string `json:"type"`
			MaxReasoningEffort string `json:"maxReasoningEffort"`
		} `json:"reasoningConfig"`
		ReasoningEffort string `json:"reasoning_effort"`
	}
	if len(req.AdditionalModelRequestFields) > 0 {
		if err := json.Unmarshal(req.AdditionalModelRequestFields, &fields); err != nil {
			return "Malformed input request: #/additionalModelRequestFields: expected type: JSONObject, please reformat your input and try again."
		}
	}
	if oc := req.OutputConfig; oc != nil && oc.Effort != "" {
		p.Effort = oc.Effort
	}
	switch {
	case fields.ReasoningConfig != nil:
		p.Thinking = fields.ReasoningConfig.Type == "enabled"
		p.Effort = fields.ReasoningConfig.MaxReasoningEffort
		return ""
	case fields.ReasoningEffort != "":
		p.Thinking, p.Effort = true, fields.ReasoningEffort
		return ""
	case fields.Thinking == nil || fields.Thinking.Type == "disabled":
		return ""
	}
	th := fields.Thinking
	maxTokens := 0
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil {
		maxTokens = *ic.MaxTokens
	}
	switch {
	case !claude:
		return "The model returned the following errors: Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and try again."
	case th.Type == "enabled" && (th.BudgetTokens == nil || *th.BudgetTokens < 1024):
		return relay("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
	case th.Type == "enabled" && *th.BudgetTokens >= maxTokens:
		return relay("`max_tokens` must be greater than `thinking.budget_tokens`.")
	case th.Type != "enabled" && th.Type != "adaptive":
		return relay(fmt.Sprintf("thinking: Input tag '%s' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'", th.Type))
	case req.InferenceConfig != nil && req.InferenceConfig.Temperature != nil && *req.InferenceConfig.Temperature != 1:
		return relay("`temperature` may only be set to 1 when thinking is enabled or in interleaved thinking mode.")
	case req.ToolConfig != nil && req.ToolConfig.ToolChoice != nil && (req.ToolConfig.ToolChoice.Any != nil || req.ToolConfig.ToolChoice.Tool != nil):
		return relay("Thinking may not be enabled when tool_choice forces tool use.")
	}
	// The tool loop still open must start with its reasoning.
	if n := len(req.Messages); n >= 2 && req.Messages[n-2].Role == "assistant" {
		a, u := req.Messages[n-2], req.Messages[n-1]
		opens := len(u.Content) > 0 && u.Content[0].ToolResult != nil
		if opens && len(a.Content) > 0 && a.Content[0].ReasoningContent == nil {
			found := "text"
			if a.Content[0].ToolUse != nil {
				found = "tool_use"
			}
			return relay(missingThinking(n-2, 0, found))
		}
	}
	p.Thinking = true
	return ""
}

// converseCacheWalk reads a Converse request in cache order (tools, system,
// messages), with a breakpoint at every cachePoint block.
func converseCacheWalk(req *converseRequest) *cacheWalk {
	w := newCacheWalk()
	if tc := req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			if t.ToolSpec != nil {
				w.add(t.ToolSpec.Name)
				w.add(t.ToolSpec.Description)
			}
			if len(t.CachePoint) > 0 {
				w.breakpoint()
			}
		}
	}
	for _, s := range req.System {
		if s.Text != nil {
			w.add(*s.Text)
		}
		if len(s.CachePoint) > 0 {
			w.breakpoint()
		}
	}
	for _, m := range req.Messages {
		w.add(m.Role)
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				w.add(*b.Text)
			case b.ToolUse != nil:
				w.add(string(b.ToolUse.Input))
			case b.ToolResult != nil:
				for _, c := range b.ToolResult.Content {
					if c.Text != nil {
						w.add(*c.Text)
					}
				}
			case len(b.CachePoint) > 0:
				w.breakpoint()
			}
		}
	}
	return w
}
