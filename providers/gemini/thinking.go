package gemini

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// Thinking (https://ai.google.dev/gemini-api/docs/thinking): Gemini 2.5 models
// take thinkingConfig.thinkingBudget (tokens; 0 turns thinking off on Flash and
// Flash-Lite; Pro cannot turn it off and needs at least 128), Gemini 3 models
// thinkingConfig.thinkingLevel (Pro: low, high; Flash also minimal and medium).
// reasoning_effort maps as:
//
//	effort    2.5 budget (Pro / Flash)   3 level (Pro / Flash)
//	none      128 / 0                    low / minimal
//	minimal   512                        low / minimal
//	low       1024                       low
//	medium    8192                       high / medium
//	high      24576                      high
//	xhigh     32768 / 24576              high
//
// With max_completion_tokens set, a budget that would not fit under it is halved
// to max_completion_tokens / 2 (Gemini counts thoughts against the output limit).
// Thoughts come back, as thought summaries, only when asked (includeThoughts):
// with any effort but none, unless the alias hides reasoning. Models before 2.5
// do not think: OpenAI's 400 for a non-reasoning model. Without reasoning_effort
// nothing is sent and the model thinks as it does by default.

var budgets = map[string]int{"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}

func applyThinking(g *generateRequest, c *providers.ChatRequest, model string, hide bool) error {
	effort := c.ReasoningEffort
	if effort == "" {
		return nil
	}
	if err := providers.CheckEffort(effort); err != nil {
		return err
	}
	m := strings.ToLower(model)
	major, minor := geminiVersion(m)
	if major > 0 && (major < 2 || (major == 2 && minor < 5)) {
		return providers.NotReasoningModel()
	}
	flash := strings.Contains(m, "flash")
	tc := &thinkingConfig{IncludeThoughts: effort != "none" && !hide}
	if major >= 3 {
		tc.ThinkingLevel = thinkingLevel(effort, flash)
	} else {
		b := budgets[effort]
		switch {
		case effort == "none" && flash:
			b = 0
		case effort == "none":
			b = 128
		case effort == "xhigh" && !flash:
			b = 32768
		}
		if limit := c.MaxOutputTokens(); limit > 0 && b >= limit {
			b = limit / 2
		}
		tc.ThinkingBudget = &b
	}
	if g.GenerationConfig == nil {
		g.GenerationConfig = &generationConfig{}
	}
	g.GenerationConfig.ThinkingConfig = tc
	return nil
}

func thinkingLevel(effort string, flash bool) string {
	switch effort {
	case "none", "minimal":
		if flash {
			return "minimal"
		}
		return "low"
	case "low":
		return "low"
	case "medium":
		if flash {
			return "medium"
		}
	}
	return "high"
}

// geminiVersion reads "gemini-2.5-flash", "gemini-3-pro-preview",
// "gemini-3.1-flash": 0, 0 when the name says no version (a tuned model).
func geminiVersion(m string) (major, minor int) {
	_, rest, ok := strings.Cut(m, "gemini-")
	if !ok {
		return 0, 0
	}
	v, _, _ := strings.Cut(rest, "-")
	maj, min, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(maj)
	if err != nil {
		return 0, 0
	}
	minor, _ = strconv.Atoi(min)
	return major, minor
}
