package openai

import (
	"reflect"
	"strings"
	"testing"
)

// completion1K is a typical non-streamed answer: a 1 KiB completion with usage.
var completion1K = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("abcdefgh", 128) + `","refusal":null},` +
	`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":256,"total_tokens":286,` +
	`"prompt_tokens_details":{"cached_tokens":12,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":7,"audio_tokens":0}}}`)

func TestDecodeUsage(t *testing.T) {
	u, model, err := decodeUsage(completion1K)
	if err != nil || model != "gpt-4o-2024" || u.PromptTokens != 30 || u.CompletionTokens != 256 || u.TotalTokens != 286 ||
		u.CachedTokens() != 12 || u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens != 7 {
		t.Fatalf("got %+v %q %v", u, model, err)
	}
}

// usageCases are the documents where the fast path must hand over to
// encoding/json, or agree with it.
var usageCases = []string{
	`{"model":"m","usage":null}`,
	`{"model":null}`,
	`{}`,
	`null`,
	`[]`,
	`{"model":5}`,
	`{"model":"m\u00e9","usage":{"prompt_tokens":1}}`,
	`{"Model":"upper","USAGE":{"Prompt_Tokens":4}}`,
	`{"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}}`,
	`{"usage":{"prompt_tokens":1.0}}`,
	`{"usage":{"prompt_tokens":1e2}}`,
	`{"usage":{"prompt_tokens":null,"total_tokens":-0}}`,
	`{"usage":{"prompt_tokens":99999999999999999999}}`,
	`{"usage":{"prompt_tokens_details":null,"completion_tokens_details":{}}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":3,"cached_tokens":4}}}`,
	`{"usage":{"prompt_tokens_details":{"Cached_Tokens":3}}}`,
	`{"usage":{"pr\u006fmpt_tokens":3}}`,
	`{"usage":"none"}`,
	`{"usage":[1]}`,
	`{"model":"a","usage":{"prompt_tokens":1}`,
	`{"model":"` + "\xff" + `"}`,
	`{"model":"a","extra":{"nested":[1,2,{"x":"y"}]},"usage":{"total_tokens":3,"other":{"a":[]}}}`,
	`not json`,
}

func TestDecodeUsageAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range append(usageCases, string(completion1K)) {
		checkDecodeUsage(t, []byte(c))
	}
}

func checkDecodeUsage(t *testing.T, body []byte) {
	t.Helper()
	u, m, err := decodeUsage(body)
	wu, wm, werr := decodeUsageSlow(body)
	if (err == nil) != (werr == nil) || m != wm || !reflect.DeepEqual(u, wu) {
		t.Fatalf("%s:\n got %+v %q %v\nwant %+v %q %v", body, u, m, err, wu, wm, werr)
	}
}

// FuzzDecodeUsage holds the fast decoder to encoding/json's answer on any input.
func FuzzDecodeUsage(f *testing.F) {
	for _, c := range usageCases {
		f.Add([]byte(c))
	}
	f.Add(completion1K)
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeUsage(t, body) })
}

func BenchmarkDecodeUsage(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(completion1K)))
	for b.Loop() {
		if _, _, err := decodeUsage(completion1K); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeUsageEncodingJSON is the yardstick: encoding/json alone.
func BenchmarkDecodeUsageEncodingJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(completion1K)))
	for b.Loop() {
		if _, _, err := decodeUsageSlow(completion1K); err != nil {
			b.Fatal(err)
		}
	}
}
