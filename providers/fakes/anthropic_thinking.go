package fakes

import (
	"encoding/json"
	"strconv"
)

// checkThinking validates extended thinking as the Messages API does
// (https://platform.claude.com/docs/en/build-with-claude/extended-thinking):
// thinking {type: enabled, budget_tokens ≥ 1024 and < max_tokens} or {type:
// adaptive} on models that think; no temperature but 1, no top_k, no forced tool
// use with thinking on; every thinking block sent back signed as it was written;
// and, with thinking on, the assistant turn of a tool loop still open must start
// with its thinking block. It notes the thinking on p; the message is the 400's.
func checkThinking(req *anthropicRequest, turns []turn, p *Prompt) string {
	for _, t := range turns {
		for k, b := range t.blocks {
			switch b.Type {
			case "thinking":
				if b.Thinking == nil {
					return "messages." + strconv.Itoa(t.at[k].msg) + ".content." + strconv.Itoa(t.at[k].block) + ".thinking.thinking: Field required"
				}
				if b.Signature == "" {
					return "messages." + strconv.Itoa(t.at[k].msg) + ".content." + strconv.Itoa(t.at[k].block) + ".thinking.signature: Field required"
				}
				if b.Signature != ClaudeSignature(*b.Thinking) {
					return badSignature(t.at[k].msg, t.at[k].block)
				}
			case "redacted_thinking":
				if b.Data != redactedData {
					return "messages." + strconv.Itoa(t.at[k].msg) + ".content." + strconv.Itoa(t.at[k].block) + ": Invalid `data` in `redacted_thinking` block"
				}
			}
		}
	}
	th := req.Thinking
	if th == nil || th.Type == "disabled" {
		return ""
	}
	switch th.Type {
	case "enabled":
		switch {
		case th.BudgetTokens == nil:
			return "thinking.enabled.budget_tokens: Field required"
		case *th.BudgetTokens < 1024:
			return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case *th.BudgetTokens >= *req.MaxTokens:
			return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
		case claudeAdaptiveOnly(req.Model):
			return "thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior."
		}
	case "adaptive":
	default:
		return "thinking: Input tag '" + th.Type + "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"
	}
	switch {
	case !claudeThinkingModel(req.Model):
		return "'claude-3-5' models do not support thinking."
	case req.Temperature != nil && *req.Temperature != 1:
		return "`temperature` may only be set to 1 when thinking is enabled or in interleaved thinking mode. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"
	case req.TopK != nil:
		return "`top_k` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"
	case req.ToolChoice != nil && (req.ToolChoice.Type == "any" || req.ToolChoice.Type == "tool"):
		return "Thinking may not be enabled when tool_choice forces tool use."
	}
	// The tool loop still open: the last assistant turn called tools and the
	// conversation ends on their results.
	if n := len(turns); n >= 2 && turns[n-1].role == "user" && turns[n-2].role == "assistant" {
		a, u := turns[n-2], turns[n-1]
		opens := len(u.blocks) > 0 && u.blocks[0].Type == "tool_result"
		if opens && len(a.blocks) > 0 && a.blocks[0].Type != "thinking" && a.blocks[0].Type != "redacted_thinking" {
			return missingThinking(a.at[0].msg, a.at[0].block, a.blocks[0].Type)
		}
	}
	p.Thinking = true
	if req.OutputConfig != nil {
		p.Effort = req.OutputConfig.Effort
	}
	return ""
}

// anthropicCacheWalk reads a request's prompt in cache order (tools, system,
// messages), with a breakpoint at every cache_control.
func anthropicCacheWalk(req *anthropicRequest) *cacheWalk {
	w := newCacheWalk()
	marked := func(cc json.RawMessage) bool { return len(cc) > 0 && string(cc) != "null" }
	for _, t := range req.Tools {
		w.add(t.Name)
		w.add(t.Description)
		if marked(t.CacheControl) {
			w.breakpoint()
		}
	}
	walkBlocks := func(raw json.RawMessage) {
		blocks, _ := decodeContent(raw)
		for _, b := range blocks {
			w.add(b.Type)
			w.add(b.Text)
			w.add(string(b.Input))
			w.add(string(b.Content))
			if marked(b.CacheControl) {
				w.breakpoint()
			}
		}
	}
	if len(req.System) > 0 && string(req.System) != "null" {
		walkBlocks(req.System)
	}
	for _, m := range req.Messages {
		w.add(m.Role)
		walkBlocks(m.Content)
	}
	return w
}
