package fakes

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// Emulated thinking. A model asked to think (Prompt.Thinking) thinks aloud about
// the last thing it was told, and Claude's thinking blocks come signed: the
// signature covers the text, so a block sent back altered, or a tool loop sent
// back without its block, is refused as the real clouds refuse it. Claude's
// signatures are valid across its platforms ("signature values are compatible
// across platforms": Anthropic, Bedrock, Vertex), so the Anthropic and Bedrock
// fakes share one.

// thoughtsAbout is the emulated reasoning for a prompt.
func thoughtsAbout(p *Prompt) string {
	last := p.Turns[len(p.Turns)-1]
	if last.Role == "tool" {
		return "The tool answered " + last.Text + "; now I can answer."
	}
	return "The user said " + p.LastUser() + "; let me think it through."
}

// ClaudeSignature is the signature the fakes give a Claude thinking block.
func ClaudeSignature(thinking string) string {
	sum := sha256.Sum256([]byte("switchyard-fake-claude-thinking\x00" + thinking))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// redactedData is the opaque data of an emulated redacted_thinking block; the
// fakes accept it back only as they wrote it.
const redactedData = "RmFrZVJlZGFjdGVkVGhpbmtpbmc="

// claudeThinkingModel reports whether a Claude model id names a model that can
// think (3.7 and later); the older ones answer "does not support thinking".
func claudeThinkingModel(model string) bool {
	m := strings.ToLower(model)
	for _, old := range []string{"claude-3-5-", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "claude-2", "claude-instant"} {
		if strings.Contains(m, old) {
			return false
		}
	}
	return true
}

// claudeAdaptiveOnly reports whether a Claude model refuses a thinking budget:
// Opus 4.7 and later take only adaptive thinking, as do the 5 models.
func claudeAdaptiveOnly(model string) bool {
	m := strings.ToLower(model)
	_, rest, ok := strings.Cut(m, "claude-")
	if !ok {
		return false
	}
	var nums []int
	for _, tok := range strings.Split(rest, "-") {
		if n, err := strconv.Atoi(tok); err == nil && len(tok) <= 2 {
			nums = append(nums, n)
		}
	}
	switch {
	case len(nums) == 0:
		return false
	case nums[0] >= 5:
		return true
	case nums[0] == 4 && len(nums) > 1 && nums[1] >= 7:
		return strings.Contains(m, "opus")
	}
	return false
}

// missingThinking is Claude's refusal of a tool loop sent back without its
// thinking block while thinking is on.
func missingThinking(msg, block int, found string) string {
	return "messages." + strconv.Itoa(msg) + ".content." + strconv.Itoa(block) + ".type: Expected `thinking` or `redacted_thinking`, but found `" + found +
		"`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
}

// badSignature is Claude's refusal of a thinking block whose signature does not
// match its text.
func badSignature(msg, block int) string {
	return "messages." + strconv.Itoa(msg) + ".content." + strconv.Itoa(block) + ": Invalid `signature` in `thinking` block"
}
