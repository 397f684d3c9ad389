package policy

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
)

// pricesJSON is the built-in price catalog: list prices of the five provider types,
// one row per model, each dated and pointing at the official pricing page it was
// checked against ("via" says how, when that page could not be read directly).
//
//go:embed prices.json
var pricesJSON []byte

// Price is what one model costs on one provider. Rates are USD per 1M tokens.
type Price struct {
	Input float64
	// CachedInput is the rate of prompt tokens read from the provider's prompt
	// cache; 0 means the provider publishes none and cached tokens cost Input.
	CachedInput float64
	// CacheWrite is the rate of prompt tokens written to the provider's prompt
	// cache; 0 means they cost Input (OpenAI, Azure and Gemini write for free).
	CacheWrite float64
	Output     float64
	// ContextWindow and MaxOutput are in tokens; 0 when unknown.
	ContextWindow int
	MaxOutput     int
	// Long, when Long.Threshold > 0, replaces the rates of a request whose prompt
	// exceeds Threshold tokens: Gemini 2.5 Pro and Claude Sonnet 4/4.5 (1M context
	// beta) bill every token of such a request, output included, at higher rates.
	Long LongContext
	// Date is when the price was checked (YYYY-MM-DD); Source is the official
	// pricing page, or "config" for a pricing: override.
	Date   string
	Source string
}

// LongContext is the rate card of prompts above a size threshold.
type LongContext struct {
	Threshold                  int
	Input, CachedInput, Output float64
}

// Cost is the USD cost of one request. PromptTokens includes the cached tokens and
// the cache writes (OpenAI semantics, which every provider's usage is translated
// to), so the prompt splits into uncached tokens at Input, cached tokens at
// CachedInput and cache writes at CacheWrite. Completion tokens, reasoning tokens
// included, cost Output.
//
// Not modelled: Anthropic's one-hour cache writes cost 2× input (counted at the
// five-minute rate, 1.25×), and Gemini audio input costs more than text.
func (p Price) Cost(u providers.Usage) float64 {
	in, cached, out, write := p.Input, p.CachedInput, p.Output, p.CacheWrite
	prompt := max(u.PromptTokens, 0)
	if p.Long.Threshold > 0 && prompt > p.Long.Threshold {
		// Long-context rates scale writes as they scale input.
		if write > 0 && in > 0 {
			write *= p.Long.Input / in
		}
		in, cached, out = p.Long.Input, p.Long.CachedInput, p.Long.Output
	}
	if cached == 0 {
		cached = in
	}
	if write == 0 {
		write = in
	}
	hits := min(max(u.CachedTokens(), 0), prompt)
	writes := min(max(u.CacheWriteTokens(), 0), prompt-hits)
	return (float64(prompt-hits-writes)*in + float64(hits)*cached + float64(writes)*write +
		float64(max(u.CompletionTokens, 0))*out) / 1e6
}

// CacheSavings is what the provider's own prompt cache saved on usage: the cached
// tokens at Input less what they cost at CachedInput (0 without a cached rate).
func (p Price) CacheSavings(u providers.Usage) float64 {
	in, cached := p.Input, p.CachedInput
	if p.Long.Threshold > 0 && u.PromptTokens > p.Long.Threshold {
		in, cached = p.Long.Input, p.Long.CachedInput
	}
	if cached == 0 || cached >= in {
		return 0
	}
	return float64(max(u.CachedTokens(), 0)) * (in - cached) / 1e6
}

// Catalog answers what a (provider, model) pair costs: pricing: overrides from the
// configuration first, then the built-in rows. It is read-only once built and safe
// for concurrent use.
type Catalog struct {
	rows      map[priceKey]Price // provider type, model id
	overrides map[priceKey]Price // provider name, model as configured
}

type priceKey struct{ provider, model string }

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := parseCatalog(pricesJSON)
	if err != nil {
		// The file is compiled in and checked by TestCatalogRowsAreComplete; a broken
		// one is a build defect, not a runtime condition.
		panic(err)
	}
	return c
})

// DefaultCatalog is the built-in catalog, parsed once.
func DefaultCatalog() *Catalog { return defaultCatalog() }

type catalogRow struct {
	Provider      string   `json:"provider"`
	Model         string   `json:"model"`
	Aliases       []string `json:"aliases"`
	Input         float64  `json:"input"`
	CachedInput   float64  `json:"cached_input"`
	CacheWrite    float64  `json:"cache_write"`
	Output        float64  `json:"output"`
	ContextWindow int      `json:"context_window"`
	MaxOutput     int      `json:"max_output"`
	Long          *struct {
		Threshold   int     `json:"threshold"`
		Input       float64 `json:"input"`
		CachedInput float64 `json:"cached_input"`
		Output      float64 `json:"output"`
	} `json:"long"`
	Date   string `json:"date"`
	Source string `json:"source"`
	// Via says how the price was checked when the official page could not be
	// read directly; Note carries what the rates leave out. Both are for people.
	Via  string `json:"via"`
	Note string `json:"note"`
}

// parseCatalog reads the catalog file and checks every row, so that a bad edit
// fails the build's tests rather than pricing traffic wrongly.
func parseCatalog(data []byte) (*Catalog, error) {
	var file struct {
		Rows []catalogRow `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("price catalog: %w", err)
	}
	c := &Catalog{rows: make(map[priceKey]Price, len(file.Rows))}
	for i, r := range file.Rows {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("price catalog row %d (%s %s): %s", i, r.Provider, r.Model, fmt.Sprintf(format, args...))
		}
		switch {
		case !slices.Contains(config.ProviderTypes, r.Provider):
			return nil, bad("unknown provider type")
		case r.Model == "":
			return nil, bad("model is required")
		case r.Date == "" || r.Source == "":
			return nil, bad("date and source are required")
		case r.ContextWindow <= 0 || r.MaxOutput < 0:
			return nil, bad("context_window must be positive, max_output not negative")
		case !(r.Input >= 0 && r.CachedInput >= 0 && r.CacheWrite >= 0 && r.Output >= 0):
			return nil, bad("rates must not be negative")
		}
		p := Price{Input: r.Input, CachedInput: r.CachedInput, CacheWrite: r.CacheWrite, Output: r.Output,
			ContextWindow: r.ContextWindow, MaxOutput: r.MaxOutput, Date: r.Date, Source: r.Source}
		if r.Long != nil {
			if r.Long.Threshold <= 0 || !(r.Long.Input >= 0 && r.Long.CachedInput >= 0 && r.Long.Output >= 0) {
				return nil, bad("long needs a positive threshold and rates")
			}
			p.Long = LongContext{Threshold: r.Long.Threshold, Input: r.Long.Input,
				CachedInput: r.Long.CachedInput, Output: r.Long.Output}
		}
		for _, m := range append([]string{r.Model}, r.Aliases...) {
			k := priceKey{r.Provider, m}
			if _, dup := c.rows[k]; dup {
				return nil, bad("duplicate model id %q", m)
			}
			c.rows[k] = p
		}
	}
	return c, nil
}

// WithOverrides returns a catalog in which the configuration's pricing: rows win,
// keyed by provider name and model exactly as targets write them ("*": every model
// of the provider without a row of its own). An override sets all three rates
// (cached_input 0: cached tokens cost input); its zero context_window and
// max_output inherit the built-in row's. The receiver is not modified.
func (c *Catalog) WithOverrides(rows []config.Price) *Catalog {
	out := &Catalog{rows: c.rows, overrides: make(map[priceKey]Price, len(c.overrides)+len(rows))}
	for k, p := range c.overrides {
		out.overrides[k] = p
	}
	for _, r := range rows {
		out.overrides[priceKey{r.Provider, r.Model}] = Price{Input: r.Input, CachedInput: r.CachedInput, CacheWrite: r.CacheWrite,
			Output: r.Output, ContextWindow: r.ContextWindow, MaxOutput: r.MaxOutput, Source: "config"}
	}
	return out
}

// Lookup prices model on a provider, named providerName in the configuration and
// of type providerType. A false result means the price is unknown, which is not
// the same as free: callers must not treat it as 0.
//
// Built-in rows match the model id as providers spell it: with a dated or
// versioned suffix (gpt-4o-2024-08-06, claude-sonnet-4-20250514,
// anthropic.claude-sonnet-4-20250514-v1:0, claude-haiku-4-5@20251001,
// gemini-2.5-flash-001), as a "models/..." resource name, as a Bedrock ARN that
// embeds it, or behind a Bedrock cross-Region inference profile prefix (us., eu.,
// apac., global., ...). Azure targets name deployments: only a deployment named
// like its model (gpt-4o) is found; other names need a pricing: row.
func (c *Catalog) Lookup(providerName, providerType, model string) (Price, bool) {
	if len(c.overrides) > 0 {
		o, ok := c.overrides[priceKey{providerName, model}]
		if !ok {
			o, ok = c.overrides[priceKey{providerName, "*"}]
		}
		if ok {
			if o.ContextWindow == 0 || o.MaxOutput == 0 {
				base, _ := c.builtin(providerType, model)
				o.ContextWindow = cmp.Or(o.ContextWindow, base.ContextWindow)
				o.MaxOutput = cmp.Or(o.MaxOutput, base.MaxOutput)
			}
			return o, true
		}
	}
	return c.builtin(providerType, model)
}
