package policy

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
)

func TestCatalogRowsAreComplete(t *testing.T) {
	c, err := parseCatalog(pricesJSON)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for k, p := range c.rows {
		types[k.provider]++
		if _, err := time.Parse(time.DateOnly, p.Date); err != nil {
			t.Errorf("%v: date %q: %v", k, p.Date, err)
		}
		if u, err := url.Parse(p.Source); err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("%v: source %q is not an https URL", k, p.Source)
		}
		if p.ContextWindow <= 0 || p.Input <= 0 {
			t.Errorf("%v: context window %d, input %v", k, p.ContextWindow, p.Input)
		}
		// Sonnet 4/4.5 reach their long tier only through the 1M context beta, so
		// the threshold may equal the standard window.
		if p.Long.Threshold > 0 && (p.Long.Threshold > p.ContextWindow || p.Long.Input <= p.Input || p.Long.Output <= p.Output) {
			t.Errorf("%v: long-context tier %+v is not a dearer tier within the window %d", k, p.Long, p.ContextWindow)
		}
	}
	for _, typ := range config.ProviderTypes {
		if types[typ] == 0 {
			t.Errorf("no row for provider type %s", typ)
		}
	}
	// Bedrock prices Claude 4.5 and later 10% above the global profile in-Region
	// and in geographic profiles; the rows must say so consistently.
	for k, global := range c.rows {
		if rest, ok := strings.CutPrefix(k.model, "global."); ok {
			regional, ok := c.rows[priceKey{k.provider, rest}]
			if !ok || math.Abs(regional.Input-1.1*global.Input) > 1e-9 || math.Abs(regional.Output-1.1*global.Output) > 1e-9 {
				t.Errorf("%s: regional %+v is not 1.1 x global %+v", rest, regional, global)
			}
		}
	}
}

func TestParseCatalogRejectsBadRows(t *testing.T) {
	good := `"provider":"openai","model":"m","input":1,"output":2,"context_window":10,"date":"2026-01-01","source":"https://x"`
	for name, row := range map[string]string{
		"unknown type":    strings.Replace(good, `"openai"`, `"vllm"`, 1),
		"no date":         strings.Replace(good, `"2026-01-01"`, `""`, 1),
		"no window":       strings.Replace(good, `"context_window":10`, `"context_window":0`, 1),
		"negative rate":   strings.Replace(good, `"output":2`, `"output":-2`, 1),
		"unknown field":   good + `,"cache":1`,
		"duplicate alias": good + `,"aliases":["m"]`,
		"bad long tier":   good + `,"long":{"threshold":0,"input":2,"output":3}`,
	} {
		if _, err := parseCatalog([]byte(`{"rows":[{` + row + `}]}`)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseCatalog([]byte(`{"rows":[{` + good + `}]}`)); err != nil {
		t.Errorf("good row rejected: %v", err)
	}
}

func TestLookupFindsModelsAsProvidersSpellThem(t *testing.T) {
	c := DefaultCatalog()
	cases := []struct {
		typ, model    string
		input, output float64 // 0, 0: unknown
	}{
		{"openai", "gpt-4o", 2.50, 10},
		{"openai", "gpt-4o-2024-08-06", 2.50, 10},        // dated snapshot → family row
		{"openai", "gpt-4o-2024-05-13", 5, 15},           // a snapshot priced apart wins
		{"openai", "gpt-4o-mini-2024-07-18", 0.15, 0.60}, // not gpt-4o's price
		{"openai", "gpt-4.1-nano-2025-04-14", 0.10, 0.40},
		{"openai", "text-embedding-3-small", 0.02, 0},
		{"openai", "meta-llama/Llama-3.1-8B-Instruct", 0, 0}, // a vLLM model: unknown, not free
		{"azure", "gpt-4o", 2.50, 10},                        // deployment named like its model
		{"azure", "gpt-4o-2024-11-20", 2.50, 10},
		{"azure", "gpt-4o-prod", 0, 0}, // custom deployment name: needs pricing:
		{"anthropic", "claude-sonnet-4-20250514", 3, 15},
		{"anthropic", "claude-sonnet-4-0", 3, 15},
		{"anthropic", "claude-3-5-haiku-latest", 0.80, 4},
		{"anthropic", "claude-haiku-4-5-20251001", 1, 5},
		{"anthropic", "claude-sonnet-4-5", 3, 15}, // "-5" is part of the name
		{"anthropic", "claude-sonnet-4-7", 0, 0},  // no such model: not Sonnet 4's row
		{"bedrock", "anthropic.claude-sonnet-4-20250514-v1:0", 3, 15},
		{"bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", 3, 15},
		{"bedrock", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", 3, 15},
		{"bedrock", "apac.anthropic.claude-3-5-haiku-20241022-v1:0", 0.80, 4},
		{"bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3, 15},
		{"bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.30, 16.50},
		{"bedrock", "anthropic.claude-haiku-4-5-20251001-v1:0", 1.10, 5.50},
		{"bedrock", "anthropic.claude-opus-4-6-v1", 5.50, 27.50},
		{"bedrock", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0", 3, 15},
		{"bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", 3, 15},
		{"bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5", 0, 0},
		{"bedrock", "amazon.nova-pro-v1:0", 0.80, 3.20},
		{"bedrock", "us.amazon.nova-micro-v1:0", 0.035, 0.14},
		{"bedrock", "amazon.titan-embed-text-v2:0", 0.02, 0},
		{"bedrock", "amazon.titan-embed-text-v1", 0, 0}, // v1 is priced differently: unknown
		{"bedrock", "xx.anthropic.claude-sonnet-4-20250514-v1:0", 0, 0},
		{"gemini", "gemini-2.5-flash", 0.30, 2.50},
		{"gemini", "models/gemini-2.5-pro", 1.25, 10},
		{"gemini", "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash-lite", 0.10, 0.40},
		{"gemini", "gemini-2.5-flash-preview-09-2025", 0, 0},
		{"anthropic", "gpt-4o", 0, 0}, // rows belong to their provider type
	}
	for _, tc := range cases {
		p, ok := c.Lookup("some-provider", tc.typ, tc.model)
		wantKnown := tc.input != 0
		if ok != wantKnown || p.Input != tc.input || p.Output != tc.output {
			t.Errorf("%s %s: %v %v/%v, want known=%v %v/%v", tc.typ, tc.model, ok, p.Input, p.Output, wantKnown, tc.input, tc.output)
		}
		if ok && (p.Source == "" || p.Date == "" || p.ContextWindow <= 0) {
			t.Errorf("%s %s: incomplete price %+v", tc.typ, tc.model, p)
		}
	}
}

func TestOverridesWinPerProviderName(t *testing.T) {
	base := DefaultCatalog()
	c := base.WithOverrides([]config.Price{
		{Provider: "azure-eastus", Model: "gpt-4o-prod", Input: 2.5, CachedInput: 1.25, Output: 10, ContextWindow: 128000},
		{Provider: "openai", Model: "gpt-4o", Input: 2, Output: 8},      // a negotiated rate
		{Provider: "local-vllm", Model: "*"},                            // free, explicitly
		{Provider: "local-vllm", Model: "big", Input: 0.1, Output: 0.1}, // own row beats "*"
	})
	check := func(name, typ, model string, wantOK bool, input float64, window int) {
		t.Helper()
		p, ok := c.Lookup(name, typ, model)
		if ok != wantOK || p.Input != input || p.ContextWindow != window {
			t.Errorf("%s %s: %v input %v window %d, want %v %v %d", name, model, ok, p.Input, p.ContextWindow, wantOK, input, window)
		}
	}
	check("azure-eastus", "azure", "gpt-4o-prod", true, 2.5, 128000)
	check("azure-westus", "azure", "gpt-4o-prod", false, 0, 0) // another account: still unknown
	check("openai", "openai", "gpt-4o", true, 2, 128000)       // window inherited from the catalog
	check("openai", "openai", "gpt-4o-mini", true, 0.15, 128000)
	check("other-openai", "openai", "gpt-4o", true, 2.5, 128000)
	check("local-vllm", "openai", "meta-llama/Llama-3.1-8B-Instruct", true, 0, 0)
	check("local-vllm", "openai", "big", true, 0.1, 0)
	if p, _ := c.Lookup("openai", "openai", "gpt-4o"); p.Source != "config" || p.CachedInput != 0 {
		t.Errorf("override is not marked as configured, or kept the catalog's cached rate: %+v", p)
	}
	if p, _ := base.Lookup("openai", "openai", "gpt-4o"); p.Input != 2.5 {
		t.Errorf("WithOverrides modified its receiver: %+v", p)
	}
}

func TestCost(t *testing.T) {
	gpt4o := Price{Input: 2.5, CachedInput: 1.25, Output: 10}
	noCache := Price{Input: 3, Output: 15}
	gemini := Price{Input: 1.25, CachedInput: 0.125, Output: 10,
		Long: LongContext{Threshold: 200_000, Input: 2.5, CachedInput: 0.25, Output: 15}}
	usage := func(prompt, cached, completion int) providers.Usage {
		u := providers.Usage{PromptTokens: prompt, CompletionTokens: completion}
		if cached >= 0 {
			u.PromptTokensDetails = &providers.PromptTokensDetails{CachedTokens: cached}
		}
		return u
	}
	cases := []struct {
		name  string
		price Price
		usage providers.Usage
		want  float64
	}{
		{"no cache details", gpt4o, usage(1_000_000, -1, 1_000_000), 2.5 + 10},
		{"cached tokens are part of the prompt", gpt4o, usage(1_000_000, 400_000, 0), 0.6*2.5 + 0.4*1.25},
		{"everything cached", gpt4o, usage(2_000, 2_000, 100), (2_000*1.25 + 100*10) / 1e6},
		{"no cached rate: cached cost input", noCache, usage(1_000_000, 500_000, 0), 3},
		{"cached above prompt is clamped", gpt4o, usage(1_000, 5_000, 0), 1_000 * 1.25 / 1e6},
		{"negative counts are ignored", gpt4o, usage(-5, -5, -5), 0},
		{"at the threshold: base rates", gemini, usage(200_000, 0, 1_000), (200_000*1.25 + 1_000*10) / 1e6},
		{"above it: long rates for all tokens", gemini, usage(200_001, 100_000, 1_000),
			(100_001*2.5 + 100_000*0.25 + 1_000*15) / 1e6},
	}
	for _, c := range cases {
		if got := c.price.Cost(c.usage); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: %.9f, want %.9f", c.name, got, c.want)
		}
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"gpt-4o-2024-08-06", "us.anthropic.claude-sonnet-4-20250514-v1:0",
		"arn:aws:bedrock:us-east-1::foundation-model/", "models/", "@", "-v", "x-2024-08", ":", "global."} {
		f.Add("bedrock", s)
	}
	c := DefaultCatalog().WithOverrides([]config.Price{{Provider: "p", Model: "*", Input: 1}})
	f.Fuzz(func(t *testing.T, typ, model string) {
		p, ok := c.Lookup("q", typ, model)
		if ok && (p.ContextWindow <= 0 || p.Source == "") {
			t.Fatalf("%s %q: incomplete price %+v", typ, model, p)
		}
		if p, ok := c.Lookup("p", typ, model); !ok || p.Input != 1 {
			t.Fatalf("%q: the wildcard override did not apply: %+v", model, p)
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	c := DefaultCatalog().WithOverrides([]config.Price{{Provider: "azure-eastus", Model: "gpt-4o-prod", Input: 2.5, Output: 10}})
	for _, bc := range []struct{ name, typ, model string }{
		{"exact", "openai", "gpt-4o"},
		{"override", "azure", "gpt-4o-prod"},
		{"bedrock-profile", "bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"},
		{"arn", "bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"unknown", "openai", "meta-llama/Llama-3.1-8B-Instruct"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Lookup("azure-eastus", bc.typ, bc.model)
			}
		})
	}
}
