package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// Reasoning on Bedrock depends on the model family
// (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-reasoning.html):
//
//   - Anthropic Claude: thinking in additionalModelRequestFields, as in the
//     Messages API ({"type":"enabled","budget_tokens"} or {"type":"adaptive"}),
//     the budget from the effort and max_tokens as on Anthropic, and Converse's
//     own outputConfig.effort for the models that take one (Opus 4.5 and 4.6+);
//   - Amazon Nova 2: additionalModelRequestFields.reasoningConfig {"type":
//     "enabled", "maxReasoningEffort": low | medium | high} (Nova 2 user guide,
//     "Extended thinking");
//   - OpenAI gpt-oss: additionalModelRequestFields.reasoning_effort;
//   - DeepSeek R1 always reasons and takes no control: the effort is accepted
//     and nothing is sent;
//   - models known not to reason (Nova 1, Llama, Mistral, Cohere, Titan, AI21):
//     OpenAI's 400 for a non-reasoning model;
//   - any other id (an application inference profile ARN, a model added later):
//     Converse's generic outputConfig.effort, which Bedrock documents for
//     models with adjustable effort.
//
// Reasoning comes back as reasoningContent blocks: reasoningText {text,
// signature} or redactedContent. Claude's signed blocks go back to Claude
// models only (signatures are valid across Claude's platforms, not across
// families); for any other model they are left out, the answer's text kept.

type family uint8

const (
	familyOther family = iota
	familyClaude
	familyNova2
	familyGPTOSS
	familyDeepSeekR1
	familyNoReasoning
)

func familyOf(model string) family {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "anthropic.claude"):
		return familyClaude
	case strings.Contains(m, "amazon.nova-2"):
		return familyNova2
	case strings.Contains(m, "openai.gpt-oss"):
		return familyGPTOSS
	case strings.Contains(m, "deepseek.r1"):
		return familyDeepSeekR1
	}
	for _, p := range []string{"amazon.nova-", "meta.llama", "mistral.", "cohere.command", "amazon.titan", "ai21."} {
		if strings.Contains(m, p) {
			return familyNoReasoning
		}
	}
	return familyOther
}

// applyReasoning maps reasoning_effort onto the model's control. unsignedLoop
// is providers.UnsignedToolLoop of the messages. (Claude's thinking blocks are
// left out of the history of other models by the conversation's writer.)
func applyReasoning(req *providers.ChatRequest, model string, unsignedLoop bool, s *settings) error {
	fam := familyOf(model)
	effort := req.ReasoningEffort
	if effort == "" {
		return nil
	}
	if err := providers.CheckEffort(effort); err != nil {
		return err
	}
	switch fam {
	case familyClaude:
		return claudeThinking(req, model, unsignedLoop, s)
	case familyNoReasoning:
		return providers.NotReasoningModel()
	}
	if effort == "none" {
		return nil
	}
	level := effortLevel(effort)
	switch fam {
	case familyNova2:
		s.AdditionalModelRequestFields = json.RawMessage(`{"reasoningConfig":{"maxReasoningEffort":"` + level + `","type":"enabled"}}`)
	case familyGPTOSS:
		s.AdditionalModelRequestFields = json.RawMessage(`{"reasoning_effort":"` + level + `"}`)
	case familyOther:
		// Converse's levels: low, medium, high, xhigh, max.
		if effort == "minimal" {
			effort = "low"
		}
		s.OutputConfig = &outputConfig{Effort: effort}
	}
	return nil
}

// effortLevel is low, medium or high: the levels Nova 2 and gpt-oss take.
func effortLevel(effort string) string {
	switch effort {
	case "minimal":
		return "low"
	case "xhigh":
		return "high"
	}
	return effort
}

// claudeThinking is Claude's extended thinking through Converse, as on Anthropic
// (see providers.ClaudeThinkingOf and anthropic.applyThinking).
func claudeThinking(req *providers.ChatRequest, model string, unsignedLoop bool, s *settings) error {
	mode := providers.ClaudeThinkingOf(model)
	if mode == providers.ClaudeNoThinking {
		return providers.NotReasoningModel()
	}
	if req.ReasoningEffort == "none" || unsignedLoop {
		return nil
	}
	if err := providers.CheckThinkingRequest(req, "Bedrock"); err != nil {
		return err
	}
	if tc := s.ToolConfig; tc != nil && tc.ToolChoice != nil {
		return providers.Unsupported("response_format", "A json_schema response format on this backend (Bedrock) forces a tool, which Claude's extended thinking does not allow: leave 'reasoning_effort' or 'response_format' out.")
	}
	if s.InferenceConfig == nil {
		s.InferenceConfig = &inferenceConfig{}
	}
	if s.InferenceConfig.MaxTokens == nil {
		n := providers.ThinkingMaxTokens
		s.InferenceConfig.MaxTokens = &n
	}
	if mode == providers.ClaudeAdaptive {
		s.AdditionalModelRequestFields = json.RawMessage(`{"thinking":{"type":"adaptive"}}`)
	} else {
		budget, err := providers.ThinkingBudget(req.ReasoningEffort, *s.InferenceConfig.MaxTokens)
		if err != nil {
			return err
		}
		s.AdditionalModelRequestFields = json.RawMessage(`{"thinking":{"budget_tokens":` + strconv.Itoa(budget) + `,"type":"enabled"}}`)
	}
	if mode == providers.ClaudeAdaptive || mode == providers.ClaudeBudgetEffort {
		s.OutputConfig = &outputConfig{Effort: providers.ClaudeEffort(req.ReasoningEffort, model)}
	}
	return nil
}

// thinkingOf is a response's reasoningContent block as a canonical thinking
// block, and its text; a block without a signature (DeepSeek R1) is text only,
// since nothing could verify it if it came back.
func thinkingOf(r *reasoningBlock) (providers.ThinkingBlock, string, bool) {
	switch {
	case r.ReasoningText != nil:
		t := r.ReasoningText
		return providers.ThinkingBlock{Type: "thinking", Thinking: t.Text, Signature: t.Signature}, t.Text, t.Signature != ""
	case r.RedactedContent != nil:
		return providers.ThinkingBlock{Type: "redacted_thinking", Data: base64.StdEncoding.EncodeToString(r.RedactedContent)}, "", true
	}
	return providers.ThinkingBlock{}, "", false
}
