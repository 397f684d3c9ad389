package providers

import (
	"errors"
	"testing"
)

func TestClaudeThinkingOf(t *testing.T) {
	for model, want := range map[string]ClaudeThinking{
		"claude-3-5-sonnet-20241022":                   ClaudeNoThinking,
		"claude-3-haiku-20240307":                      ClaudeNoThinking,
		"anthropic.claude-3-5-haiku-20241022-v1:0":     ClaudeNoThinking,
		"claude-3-7-sonnet-20250219":                   ClaudeBudget,
		"us.anthropic.claude-sonnet-4-20250514-v1:0":   ClaudeBudget,
		"claude-opus-4-1":                              ClaudeBudget,
		"claude-sonnet-4-5-20250929":                   ClaudeBudget,
		"claude-haiku-4-5@20251001":                    ClaudeBudget,
		"claude-opus-4-5-20251101":                     ClaudeBudgetEffort,
		"global.anthropic.claude-opus-4-5-20251101-v1": ClaudeBudgetEffort,
		"claude-opus-4-6":                              ClaudeAdaptive,
		"claude-sonnet-4-6":                            ClaudeAdaptive,
		"claude-opus-4-7":                              ClaudeAdaptive,
		"claude-sonnet-5":                              ClaudeAdaptive,
		"my-fine-tuned-model":                          ClaudeBudget, // unreadable: the widest accepted form
		"arn:aws:bedrock:us-east-1:123:application-inference-profile/abc": ClaudeBudget,
	} {
		if got := ClaudeThinkingOf(model); got != want {
			t.Errorf("%s: %d, want %d", model, got, want)
		}
	}
}

func TestThinkingBudgetBounds(t *testing.T) {
	for _, c := range []struct {
		effort    string
		maxTokens int
		want      int
	}{
		{"minimal", 16384, 1024}, // the floor
		{"low", 16384, 4096},     // a quarter
		{"medium", 8000, 4000},   // half
		{"high", 16384, 12288},   // three quarters
		{"xhigh", 10000, 9000},   // nine tenths
		{"low", 2000, 1024},      // a quarter is below the floor
		{"xhigh", 1025, 1024},    // below max_tokens, at the floor
		{"high", 1100, 1024},     // 825 raised to the floor, still < max_tokens
	} {
		got, err := ThinkingBudget(c.effort, c.maxTokens)
		if err != nil || got != c.want || got < MinThinkingBudget || got >= c.maxTokens {
			t.Errorf("%s/%d: %d %v, want %d", c.effort, c.maxTokens, got, err, c.want)
		}
	}
	_, err := ThinkingBudget("low", 1024)
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || e.Param != "max_completion_tokens" {
		t.Fatalf("max_tokens 1024 leaves no budget: %v", err)
	}
}

func TestUnsignedToolLoop(t *testing.T) {
	call := []ToolCall{{ID: "c1", Function: FunctionCall{Name: "f"}}}
	signed := []ThinkingBlock{{Type: "thinking", Thinking: "x", Signature: "sig"}}
	for name, c := range map[string]struct {
		msgs []Message
		want bool
	}{
		"a loop from another family": {[]Message{{Role: "user"}, {Role: "assistant", ToolCalls: call}, {Role: "tool"}}, true},
		"a signed loop":              {[]Message{{Role: "user"}, {Role: "assistant", ToolCalls: call, ThinkingBlocks: signed}, {Role: "tool"}}, false},
		"unsigned thinking":          {[]Message{{Role: "assistant", ToolCalls: call, ThinkingBlocks: []ThinkingBlock{{Type: "thinking", Thinking: "x"}}}, {Role: "tool"}}, true},
		"a new user turn":            {[]Message{{Role: "assistant", ToolCalls: call}, {Role: "tool"}, {Role: "user"}}, false},
		"no tools":                   {[]Message{{Role: "user"}}, false},
	} {
		if got := UnsignedToolLoop(c.msgs); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}

// FuzzClaudeThinkingOf: any model id reads to one of the modes, the same each
// time, and a budget derived for it stays within the API's bounds.
func FuzzClaudeThinkingOf(f *testing.F) {
	for _, s := range []string{"claude-opus-4-5-20251101", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude--", "claude-99-99-opus", ""} {
		f.Add(s, 5000)
	}
	f.Fuzz(func(t *testing.T, model string, maxTokens int) {
		m := ClaudeThinkingOf(model)
		if m > ClaudeAdaptive || m != ClaudeThinkingOf(model) {
			t.Fatalf("%q: %d", model, m)
		}
		for _, e := range ReasoningEfforts {
			b, err := ThinkingBudget(e, maxTokens)
			if err == nil && (b < MinThinkingBudget || b >= maxTokens) {
				t.Fatalf("%s/%d: %d", e, maxTokens, b)
			}
		}
	})
}

func TestClaudeEffortLevels(t *testing.T) {
	for _, c := range []struct{ effort, model, want string }{
		{"minimal", "claude-opus-4-6", "low"},
		{"medium", "claude-opus-4-5-20251101", "medium"},
		{"xhigh", "claude-opus-4-5-20251101", "high"},
		{"xhigh", "claude-sonnet-4-6", "max"},
		{"xhigh", "claude-opus-4-7", "xhigh"},
		{"xhigh", "us.anthropic.claude-sonnet-5-v1:0", "xhigh"},
		{"none", "claude-opus-4-7", ""},
	} {
		if got := ClaudeEffort(c.effort, c.model); got != c.want {
			t.Errorf("%s on %s: %q, want %q", c.effort, c.model, got, c.want)
		}
	}
}
