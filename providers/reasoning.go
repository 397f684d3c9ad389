package providers

import (
	"strconv"
	"strings"
)

// Reasoning efforts as OpenAI names them (chat reasoning_effort, Responses
// reasoning.effort). Every translating provider maps these onto its cloud's own
// control; the mapping tables are in the README ("Reasoning models").
var ReasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh"}

// CheckEffort validates a reasoning_effort value with OpenAI's error.
func CheckEffort(effort string) error {
	for _, e := range ReasoningEfforts {
		if e == effort {
			return nil
		}
	}
	return InvalidRequest("reasoning_effort", "Invalid value: "+strconv.Quote(effort)+
		". Supported values are: 'none', 'minimal', 'low', 'medium', 'high', and 'xhigh'.")
}

// NotReasoningModel is OpenAI's answer to reasoning_effort on a model that does
// not reason (gpt-4o, gpt-4.1): a 400 unsupported_parameter. Translating
// providers give the same answer for models known not to reason.
func NotReasoningModel() *Error {
	return Unsupported("reasoning_effort", "Unsupported parameter: 'reasoning_effort' is not supported with this model.")
}

// ClaudeThinking is how a Claude model is asked to think.
type ClaudeThinking uint8

const (
	// ClaudeNoThinking: the model cannot think (Claude 3.5 and older).
	ClaudeNoThinking ClaudeThinking = iota
	// ClaudeBudget: thinking {type: enabled, budget_tokens} (Claude 3.7, 4,
	// 4.1, Sonnet 4.5, Haiku 4.5; models whose name cannot be read).
	ClaudeBudget
	// ClaudeBudgetEffort: a budget, and output_config.effort (Opus 4.5, the
	// first model with an effort parameter and no adaptive thinking).
	ClaudeBudgetEffort
	// ClaudeAdaptive: thinking {type: adaptive} with output_config.effort
	// (Opus and Sonnet 4.6 and every later model; Opus 4.7 and later refuse
	// budget_tokens).
	ClaudeAdaptive
)

// ClaudeThinkingOf reads a Claude model id (Anthropic's claude-sonnet-4-5-20250929,
// Vertex's claude-haiku-4-5@20251001, Bedrock's us.anthropic.claude-3-7-sonnet-...)
// and says how it thinks, from its version: 3.7 and 4.x up to 4.5 take a budget,
// Opus 4.5 also an effort, 4.6 and later are adaptive, older ones cannot think.
// Sources: platform.claude.com build-with-claude/extended-thinking, /effort and
// /adaptive-thinking (supported models).
func ClaudeThinkingOf(model string) ClaudeThinking {
	major, minor, family, ok := claudeVersion(model)
	switch {
	case !ok:
		return ClaudeBudget
	case major < 3, major == 3 && minor < 7:
		return ClaudeNoThinking
	case major == 3, major == 4 && minor < 5:
		return ClaudeBudget
	case major == 4 && minor == 5:
		if family == "opus" {
			return ClaudeBudgetEffort
		}
		return ClaudeBudget
	}
	return ClaudeAdaptive
}

// claudeVersion reads the version and family of a Claude model id, new style
// (claude-sonnet-4-5-20250929) or old (claude-3-7-sonnet-20250219); ok is false
// when the id names none.
func claudeVersion(model string) (major, minor int, family string, ok bool) {
	m := strings.ToLower(model)
	i := strings.Index(m, "claude-")
	if i < 0 {
		return 0, 0, "", false
	}
	rest := m[i+len("claude-"):]
	if j := strings.IndexAny(rest, "@:"); j >= 0 {
		rest = rest[:j]
	}
	var nums []int
	for _, tok := range strings.Split(rest, "-") {
		if n, err := strconv.Atoi(tok); err == nil {
			if len(tok) <= 2 && len(nums) < 2 {
				nums = append(nums, n)
			}
			continue
		}
		if family == "" && tok != "" && tok[0] >= 'a' && tok[0] <= 'z' && !strings.HasPrefix(tok, "v") {
			family = tok
		}
	}
	if len(nums) == 0 {
		return 0, 0, family, false
	}
	if len(nums) > 1 {
		minor = nums[1]
	}
	return nums[0], minor, family, true
}

// MinThinkingBudget is Anthropic's smallest budget_tokens.
const MinThinkingBudget = 1024

// ThinkingMaxTokens is the max_tokens sent with thinking on when the client named
// none: thinking counts against max_tokens, so the usual default (4096) would
// leave little room for the answer.
const ThinkingMaxTokens = 16384

// thinkingShares are the share of max_tokens each effort may spend thinking.
var thinkingShares = map[string]float64{"minimal": 0, "low": 0.25, "medium": 0.5, "high": 0.75, "xhigh": 0.9}

// ThinkingBudget is Claude's budget_tokens for an effort and the request's
// max_tokens: max_tokens × share (minimal 0, low 0.25, medium 0.5, high 0.75,
// xhigh 0.9), bounded to [1024, max_tokens − 1] as the API requires
// (budget_tokens ≥ 1024 and < max_tokens). With max_tokens at 1024 or below no
// budget fits: a 400 naming max_completion_tokens.
func ThinkingBudget(effort string, maxTokens int) (int, error) {
	if maxTokens <= MinThinkingBudget {
		return 0, InvalidRequest("max_completion_tokens", "Reasoning on this backend (Claude extended thinking) needs 'max_completion_tokens' above "+
			strconv.Itoa(MinThinkingBudget)+": thinking counts against it and needs at least "+strconv.Itoa(MinThinkingBudget)+" tokens.")
	}
	b := int(float64(maxTokens) * thinkingShares[effort])
	return min(max(b, MinThinkingBudget), maxTokens-1), nil
}

// ClaudeEffort is output_config.effort for an OpenAI effort on a Claude model:
// low, medium and high as named (minimal is low); xhigh where the model has it
// (Opus 4.7 and later, the 5 models), max on the 4.6 models (their top level),
// high on Opus 4.5 and on ids that name no version. "" for none.
func ClaudeEffort(effort, model string) string {
	switch effort {
	case "none", "":
		return ""
	case "minimal":
		return "low"
	case "xhigh":
		major, minor, family, _ := claudeVersion(model)
		switch {
		case major >= 5, major == 4 && minor >= 7 && family == "opus":
			return "xhigh"
		case major == 4 && minor == 6:
			return "max"
		}
		return "high"
	}
	return effort
}

// CheckThinkingRequest refuses what Claude does not take with thinking on, as
// OpenAI's reasoning models refuse sampling changes: a temperature other than 1,
// top_p below 0.95, and a forced tool choice (required or named). backend names
// the cloud in the messages.
func CheckThinkingRequest(c *ChatRequest, backend string) error {
	if t := c.Temperature; t != nil && *t != 1 {
		return &Error{Class: ClassInvalidRequest, Status: 400, Type: "invalid_request_error", Param: "temperature",
			Code: "unsupported_value", Message: "Unsupported value: 'temperature' does not support " +
				strconv.FormatFloat(*t, 'g', -1, 64) + " with reasoning on this backend (" + backend + "). Only the default (1) value is supported."}
	}
	if p := c.TopP; p != nil && *p < 0.95 {
		return &Error{Class: ClassInvalidRequest, Status: 400, Type: "invalid_request_error", Param: "top_p",
			Code: "unsupported_value", Message: "Unsupported value: 'top_p' must be between 0.95 and 1 with reasoning on this backend (" + backend + ")."}
	}
	if tc := c.ToolChoice; tc != nil && (tc.Function != "" || tc.Mode == "required") {
		return Unsupported("tool_choice", "Reasoning on this backend ("+backend+") cannot be combined with a forced tool choice: use 'auto' or 'none', or leave 'reasoning_effort' out.")
	}
	return nil
}

// UnsignedToolLoop reports whether the request continues a tool loop whose
// assistant turn carries no signed thinking block: its last assistant message
// called tools and only tool results follow it. Claude refuses thinking in such
// a request ("a final assistant message must start with a thinking block"), so a
// loop begun without thinking (on another cloud or model family, or with
// thinking off) continues without it.
func UnsignedToolLoop(msgs []Message) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		m := &msgs[i]
		switch m.Role {
		case "tool":
			continue
		case "assistant":
			if len(m.ToolCalls) == 0 {
				return false
			}
			for _, b := range m.ThinkingBlocks {
				if SignedBlock(b) {
					return false
				}
			}
			return true
		}
		return false
	}
	return false
}

// GeminiSignature marks a thinking block that carries a Gemini thought signature
// (of a text part) rather than Claude's: "gemini:" + the signature. Claude's
// signatures are base64, which has no ':'. Only the Gemini provider reads these
// blocks; every other one leaves them out.
const GeminiSignature = "gemini:"

// SignedBlock reports whether a thinking block can go back to Claude: a thinking
// block with its (Claude) signature, or a redacted block with its data.
func SignedBlock(b ThinkingBlock) bool {
	switch b.Type {
	case "thinking":
		return b.Signature != "" && !strings.HasPrefix(b.Signature, GeminiSignature)
	case "redacted_thinking":
		return b.Data != ""
	}
	return false
}
