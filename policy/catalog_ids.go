package policy

import "strings"

// builtin finds the catalog row of a model id as a provider spells it. It tries the
// id, then shorter forms of it, one suffix at a time, so that an exact row (a
// snapshot priced apart, such as gpt-4o-2024-05-13) wins over its family's row. It
// slices the id and never allocates: it runs for every attempt's cost.
func (c *Catalog) builtin(providerType, model string) (Price, bool) {
	id := model
	switch {
	case strings.HasPrefix(id, "arn:"):
		// arn:aws:bedrock:REGION:ACCOUNT:inference-profile/us.anthropic.claude-...
		// and .../foundation-model/anthropic.claude-...; application inference
		// profiles and provisioned models carry an opaque id and stay unknown.
		id = id[strings.LastIndexByte(id, '/')+1:]
	case strings.Contains(id, "models/"):
		// Gemini "models/gemini-2.5-pro"; Vertex ".../publishers/google/models/...".
		id = id[strings.LastIndex(id, "models/")+len("models/"):]
	}
	if p, ok := c.shortest(providerType, id); ok {
		return p, true
	}
	// A cross-Region inference profile id is the model id behind a geography
	// prefix. Rows may price a prefix apart (global. is cheaper for Claude 4.5 and
	// later), which the attempt above found; otherwise the base model's row applies.
	if geo, rest, ok := strings.Cut(id, "."); ok && providerType == "bedrock" && isGeography(geo) {
		return c.shortest(providerType, rest)
	}
	return Price{}, false
}

// shortest looks id up, then id without its last version or date suffix, and so on.
func (c *Catalog) shortest(providerType, id string) (Price, bool) {
	for {
		if p, ok := c.rows[priceKey{providerType, id}]; ok {
			return p, true
		}
		shorter, ok := trimVersion(id)
		if !ok {
			return Price{}, false
		}
		id = shorter
	}
}

// isGeography reports whether s is the prefix of a Bedrock cross-Region inference
// profile (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html).
func isGeography(s string) bool {
	switch s {
	case "us", "us-gov", "eu", "apac", "jp", "au", "ca", "global":
		return true
	}
	return false
}

// trimVersion removes one trailing version or date: "@20251001" (Vertex),
// ":0" (Bedrock), "-v1" (Bedrock), "-20250514" (Anthropic), "-2024-08-06"
// (OpenAI) or "-001" (Gemini). Shorter numeric tails ("-4-5") are part of names.
func trimVersion(id string) (string, bool) {
	if i := strings.LastIndexByte(id, '@'); i > 0 {
		return id[:i], true
	}
	if i := strings.LastIndexByte(id, ':'); i > 0 && allDigits(id[i+1:]) {
		return id[:i], true
	}
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return id, false
	}
	tail := id[i+1:]
	switch {
	case len(tail) > 1 && tail[0] == 'v' && allDigits(tail[1:]):
		return id[:i], true
	case len(tail) == 8 && allDigits(tail), len(tail) == 3 && allDigits(tail):
		return id[:i], true
	case len(tail) == 2 && allDigits(tail):
		// -YYYY-MM-DD: the tail is DD; cut the whole date when it is one.
		if j := i - len("2024-08"); j > 0 && id[j-1] == '-' && isDate(id[j:]) {
			return id[:j-1], true
		}
	}
	return id, false
}

// isDate reports whether s is YYYY-MM-DD.
func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' &&
		allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
