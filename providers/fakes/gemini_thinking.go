package fakes

import (
	"bytes"
	"encoding/json"
	"errors"
)

// geminiThinkingConfig is GenerationConfig.thinkingConfig
// (https://ai.google.dev/api/generate-content#ThinkingConfig).
type geminiThinkingConfig struct {
	IncludeThoughts bool    `json:"includeThoughts"`
	ThinkingBudget  *int    `json:"thinkingBudget"`
	ThinkingLevel   *string `json:"thinkingLevel"`
}

// checkGeminiThinking refuses what the API refuses: unknown members, a budget and
// a level together, a level it does not know.
func checkGeminiThinking(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var tc geminiThinkingConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return errors.New("Invalid JSON payload received. Unknown name in generation_config.thinking_config: Cannot find field.")
	}
	if tc.ThinkingBudget != nil && tc.ThinkingLevel != nil {
		return errors.New("* GenerateContentRequest.generation_config.thinking_config: thinking_budget and thinking_level cannot both be set.\n")
	}
	if l := tc.ThinkingLevel; l != nil {
		switch *l {
		case "minimal", "low", "medium", "high", "MINIMAL", "LOW", "MEDIUM", "HIGH":
		default:
			return errors.New("Invalid value at 'generation_config.thinking_config.thinking_level', \"" + *l + "\"")
		}
	}
	return nil
}

// geminiThoughts says whether the model sends its thoughts back (as thought
// parts, counted in thoughtsTokenCount) and the level it was given.
func geminiThoughts(raw json.RawMessage) (bool, string) {
	var tc geminiThinkingConfig
	if len(raw) == 0 || json.Unmarshal(raw, &tc) != nil {
		return false, ""
	}
	level := ""
	if tc.ThinkingLevel != nil {
		level = *tc.ThinkingLevel
	}
	return tc.IncludeThoughts, level
}

// geminiPrefix is the part of a request implicit caching can reuse: the system
// instruction and every turn but the last.
func geminiPrefix(req *geminiRequest) *cacheWalk {
	w := newCacheWalk()
	text := func(c *geminiContent) {
		w.add(c.Role)
		for _, p := range c.Parts {
			if p.Text != nil {
				w.add(*p.Text)
			}
		}
	}
	if req.SystemInstruction != nil {
		text(req.SystemInstruction)
	}
	for i := 0; i < len(req.Contents)-1; i++ {
		text(&req.Contents[i])
	}
	w.breakpoint()
	return w
}
