package policy

import (
	"math"
	"testing"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
)

// Cache writes cost what the catalog says (1.25× input on Claude), cache reads the
// cached rate, the rest of the prompt input and the output (reasoning included)
// output; the savings are the reads at input less the cached rate.
func TestCostWithPromptCache(t *testing.T) {
	p, ok := DefaultCatalog().Lookup("anthropic", "anthropic", "claude-sonnet-4-5-20250929")
	if !ok || p.CacheWrite != 3.75 {
		t.Fatalf("catalog row %+v", p)
	}
	u := providers.Usage{PromptTokens: 10000, CompletionTokens: 1000,
		PromptTokensDetails:     &providers.PromptTokensDetails{CachedTokens: 6000, CacheWriteTokens: 3000},
		CompletionTokensDetails: &providers.CompletionTokensDetails{ReasoningTokens: 700}}
	want := (1000*3.0 + 6000*0.3 + 3000*3.75 + 1000*15.0) / 1e6
	if got := p.Cost(u); math.Abs(got-want) > 1e-12 {
		t.Fatalf("cost %v, want %v", got, want)
	}
	if got, want := p.CacheSavings(u), 6000*(3.0-0.3)/1e6; math.Abs(got-want) > 1e-12 {
		t.Fatalf("savings %v, want %v", got, want)
	}
	// Bedrock's Claude rows price writes too; Gemini writes nothing, so its cost
	// is unchanged by a (never reported) write count.
	if b, ok := DefaultCatalog().Lookup("br", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"); !ok || b.CacheWrite != 4.125 {
		t.Fatalf("bedrock row %+v", b)
	}
	// A pricing: override's cache_write; 0 bills writes at input.
	c := DefaultCatalog().WithOverrides([]config.Price{{Provider: "mine", Model: "*", Input: 1, CachedInput: 0.1, CacheWrite: 2, Output: 4}})
	o, _ := c.Lookup("mine", "anthropic", "anything")
	if got, want := o.Cost(u), (1000*1+6000*0.1+3000*2+1000*4.0)/1e6; math.Abs(got-want) > 1e-12 {
		t.Fatalf("override cost %v, want %v", got, want)
	}
	o.CacheWrite = 0
	if got, want := o.Cost(u), (4000*1+6000*0.1+1000*4.0)/1e6; math.Abs(got-want) > 1e-12 {
		t.Fatalf("writes at input: %v, want %v", got, want)
	}
}
