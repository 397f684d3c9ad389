package policy

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEstimateFollowsOpenAIMessageAccounting(t *testing.T) {
	cases := []struct {
		name, messages string
		want           int
	}{
		// Cookbook: 3 per message, the tokens of every value, 3 priming the reply.
		{"no messages", `[]`, 3},
		{"empty content", `[{"role":"user","content":""}]`, 3 + 1 + 3},
		{"two messages", `[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]`,
			(3 + 1 + 3) + (3 + 1 + 1) + 3}, // "Be brief." = Be, brief, "."
		{"a name costs one more", `[{"role":"user","name":"ann","content":"Hi"}]`, 3 + 1 + (1 + 1) + 1 + 3},
		{"null content", `[{"role":"assistant","content":null,"tool_calls":[]}]`, 3 + 1 + 3},
	}
	for _, c := range cases {
		if got := EstimatePromptTokens([]byte(c.messages)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestEstimateCountsImagesNotTheirBytes(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(make([]byte, 200_000))
	for _, url := range []string{"data:image/png;base64," + img, "https://example.com/cat.png"} {
		msgs := `[{"role":"user","content":[{"type":"text","text":"What is this?"},` +
			`{"type":"image_url","image_url":{"url":"` + url + `","detail":"auto"}}]}]`
		got := EstimatePromptTokens([]byte(msgs))
		// role, "text", "What is this?", "image_url", "auto": about 8 tokens of text.
		if got < imageTokens+6 || got > imageTokens+20 {
			t.Errorf("image %.30q...: estimate %d, want about %d", url, got, imageTokens+14)
		}
	}
}

func TestEstimateDecodesEscapes(t *testing.T) {
	plain, _ := json.Marshal("中文和日本語のテキスト 👍🏽\n\t\"quoted\"")
	escaped := []byte(`"\u4e2d\u6587\u548c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud83d\udc4d\ud83c\udffd\n\t\"quoted\""`)
	a, endA := stringTokens(plain, 1)
	b, endB := stringTokens(escaped, 1)
	if a != b || endA != len(plain) || endB != len(escaped) {
		t.Errorf("escaped and raw text differ: %v (end %d) vs %v (end %d)", b, endB, a, endA)
	}
}

func TestEstimateScalesWithText(t *testing.T) {
	one := EstimatePromptTokens(chatOf(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10)))
	ten := EstimatePromptTokens(chatOf(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)))
	// 10 tokens a sentence, plus the fixed overhead of the two messages.
	if one < 100 || ten < 10*(one-30) || ten > 10*one {
		t.Errorf("estimates %d for 10 sentences and %d for 100", one, ten)
	}
}

func TestEstimateSurvivesMalformedInput(t *testing.T) {
	for _, in := range []string{``, `[`, `"`, `[{"content":"unterminated`, `[{"content":"\`, `"\u12`, `"\ud83d\u"`, `]]]}}}`, "\xff\xfe"} {
		if got := EstimatePromptTokens([]byte(in)); got < replyPriming {
			t.Errorf("%q: %d", in, got)
		}
	}
}

func FuzzEstimatePromptTokens(f *testing.F) {
	f.Add([]byte(`[{"role":"user","content":"Hello, world"}]`))
	f.Add([]byte(`[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]`))
	f.Add([]byte(`[{"role":"user","name":"x","content":"\u4e2d\ud83d\ude00\n\\\""}]`))
	f.Add([]byte(`[{"content":"\ud800`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got := EstimatePromptTokens(data); got < replyPriming {
			t.Fatalf("estimate %d below the reply priming", got)
		}
	})
}

// benchPrompt is a 2 KB messages array: a system prompt, a question with code, and
// an earlier answer.
func benchPrompt() []byte {
	msgs := []map[string]string{
		{"role": "system", "content": "You are a careful senior engineer. Answer with short paragraphs and cite line numbers when you refer to code."},
		{"role": "user", "content": strings.Repeat("Why does this function allocate on every call?\n\nfunc (c *Cache) Get(key string) (Value, bool) {\n\tc.mu.RLock()\n\tdefer c.mu.RUnlock()\n\te, ok := c.items[key]\n\treturn e.value, ok\n}\n", 8)},
		{"role": "assistant", "content": "It does not allocate by itself; the map lookup with a string key is allocation-free. Check the caller: converting a []byte to string to build the key allocates unless the compiler can prove it does not escape."},
	}
	b, _ := json.Marshal(msgs)
	return b
}

func BenchmarkEstimatePromptTokens(b *testing.B) {
	msgs := benchPrompt()
	b.SetBytes(int64(len(msgs)))
	b.ReportAllocs()
	for b.Loop() {
		EstimatePromptTokens(msgs)
	}
}

// stringTokensBytewise is stringTokens as it was, every byte through the
// estimator alone: the reading stringTokens must agree with to the last bit.
func stringTokensBytewise(b []byte, start int) (float64, int) {
	var t textEstimator
	i := start
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			t.flush()
			return t.total, i + 1
		case c == '\\' && i+1 < len(b):
			r, n := unescape(b[i:])
			t.add(r)
			i += n
		case c < utf8.RuneSelf:
			t.addASCII(c)
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			t.add(r)
			i += n
		}
	}
	t.flush()
	return t.total, len(b)
}

// FuzzStringTokens is differential: runs taken whole and escapes looked up give
// the total and the end that reading byte by byte gives.
func FuzzStringTokens(f *testing.F) {
	for _, s := range []string{`Hello, world"`, `camelCaseWord and HTTPServer 12345 ... "`, `a\nb\t\"c\\d\/e\bf\u00e9\ud83d\ude00"`,
		"caf\u00e9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80\"", `unterminated \`, `\x\u12 "`, "tab\there  \n\n  --==++ 007\""} {
		f.Add([]byte(s))
	}
	f.Add(benchPrompt())
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotEnd := stringTokens(b, 0)
		want, wantEnd := stringTokensBytewise(b, 0)
		if math.Float64bits(got) != math.Float64bits(want) || gotEnd != wantEnd {
			t.Fatalf("%q: %v tokens, end %d; byte by byte %v, end %d", b, got, gotEnd, want, wantEnd)
		}
	})
}
