package anthropic

import (
	"github.com/switchyard/switchyard/providers"
)

// thinkingParam is the Messages API's thinking member
// (https://platform.claude.com/docs/en/build-with-claude/extended-thinking):
// {"type":"enabled","budget_tokens":N} or {"type":"adaptive"}.
type thinkingParam struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
}

// applyThinking maps reasoning_effort onto the model's own control (see
// providers.ClaudeThinkingOf): a budget derived from the effort and max_tokens
// (providers.ThinkingBudget), the budget and output_config.effort (Opus 4.5), or
// adaptive thinking with output_config.effort (4.6 and later). "none" and an
// absent effort leave thinking off, Claude's default. A model that cannot think
// answers what OpenAI answers for a model that cannot reason. With thinking on,
// Claude takes no temperature but 1, no top_p below 0.95 and no forced tool use
// (JSON object mode forces a tool here), each refused with a 400; a request that
// continues a tool loop whose assistant turn has no signed thinking goes without
// thinking (providers.UnsignedToolLoop).
func applyThinking(c *providers.ChatRequest, req *messagesRequest, jsonTool bool) error {
	effort := c.ReasoningEffort
	if effort == "" {
		return nil
	}
	if err := providers.CheckEffort(effort); err != nil {
		return err
	}
	mode := providers.ClaudeThinkingOf(req.Model)
	if mode == providers.ClaudeNoThinking {
		return providers.NotReasoningModel()
	}
	if effort == "none" || providers.UnsignedToolLoop(c.Messages) {
		return nil
	}
	if err := providers.CheckThinkingRequest(c, "Anthropic"); err != nil {
		return err
	}
	if jsonTool {
		return providers.Unsupported("response_format", "JSON object mode on this backend (Anthropic) forces a tool, which extended thinking does not allow: use a json_schema response format, or leave 'reasoning_effort' out.")
	}
	if mode == providers.ClaudeAdaptive {
		req.Thinking = &thinkingParam{Type: "adaptive"}
	} else {
		budget, err := providers.ThinkingBudget(effort, req.MaxTokens)
		if err != nil {
			return err
		}
		req.Thinking = &thinkingParam{Type: "enabled", BudgetTokens: budget}
	}
	if mode == providers.ClaudeAdaptive || mode == providers.ClaudeBudgetEffort {
		if req.OutputConfig == nil {
			req.OutputConfig = &outputConfig{}
		}
		req.OutputConfig.Effort = providers.ClaudeEffort(effort, req.Model)
	}
	return nil
}

// thinkingBlocks are the assistant turn's signed thinking blocks, as Anthropic
// wants them back: first in the turn, text and signature (or redacted data)
// exactly as they came. Blocks without a signature cannot be verified and would
// be refused; they are left out.
func thinkingBlocks(in []providers.ThinkingBlock) []block {
	var out []block
	for _, b := range in {
		if !providers.SignedBlock(b) {
			continue
		}
		switch b.Type {
		case "thinking":
			text := b.Thinking
			out = append(out, block{Type: "thinking", Thinking: &text, Signature: b.Signature})
		case "redacted_thinking":
			out = append(out, block{Type: "redacted_thinking", Data: b.Data})
		}
	}
	return out
}
