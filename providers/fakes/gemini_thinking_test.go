package fakes_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The genai SDK asks for thoughts (includeThoughts with a budget) and reads them
// as thought parts, counted in thoughtsTokenCount; budget and level together are
// refused as the API refuses them.
func TestGeminiSDKThinking(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Name: "g", APIKey: "k"})
	defer f.Close()
	c := geminiClient(t, f, "k")
	cfg := &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: genai.Ptr[int32](1024)}}
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("two plus two"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	parts := resp.Candidates[0].Content.Parts
	if len(parts) != 2 || !parts[0].Thought || !strings.Contains(parts[0].Text, "two plus two") || parts[1].Text != "g heard: two plus two" ||
		resp.UsageMetadata.ThoughtsTokenCount == 0 ||
		resp.UsageMetadata.TotalTokenCount != resp.UsageMetadata.PromptTokenCount+resp.UsageMetadata.CandidatesTokenCount+resp.UsageMetadata.ThoughtsTokenCount {
		t.Fatalf("parts %+v usage %+v", parts, resp.UsageMetadata)
	}
	cfg.ThinkingConfig.ThinkingLevel = genai.ThinkingLevelHigh
	if _, err := c.Models.GenerateContent(context.Background(), "gemini-3-pro-preview", genai.Text("x"), cfg); err == nil ||
		!strings.Contains(err.Error(), "cannot both be set") {
		t.Fatalf("budget and level: %v", err)
	}
}

// Implicit caching, read by the SDK: the second request with the same long prefix
// reports it in cachedContentTokenCount.
func TestGeminiSDKImplicitCache(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Name: "g", APIKey: "k", ImplicitCacheMinTokens: 1024})
	defer f.Close()
	c := geminiClient(t, f, "k")
	cfg := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(strings.Repeat("Be thorough and kind. ", 300), genai.RoleUser)}
	var cached []int32
	for i := 0; i < 2; i++ {
		resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hello"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		cached = append(cached, resp.UsageMetadata.CachedContentTokenCount)
	}
	if cached[0] != 0 || cached[1] < 1024 {
		t.Fatalf("cachedContentTokenCount %v", cached)
	}
}
