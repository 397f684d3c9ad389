package providers

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStreamEncoderProducesValidChunks(t *testing.T) {
	e := NewStreamEncoder("chatcmpl-1", "claude \"x\"", 1700000000)
	check := func(data []byte, want func(c *ChatChunk) bool) {
		t.Helper()
		var c ChatChunk
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("invalid chunk %s: %v", data, err)
		}
		if c.ID != "chatcmpl-1" || c.Object != "chat.completion.chunk" || c.Model != `claude "x"` || !want(&c) {
			t.Errorf("unexpected chunk %s", data)
		}
	}
	check(e.Role(), func(c *ChatChunk) bool { return c.Choices[0].Delta.Role == "assistant" })
	check(e.Text("a\n\"b\"\u2028é\x01"), func(c *ChatChunk) bool { return *c.Choices[0].Delta.Content == "a\n\"b\"\u2028é\x01" })
	check(e.ToolCallStart(1, "call_9", "get_weather"), func(c *ChatChunk) bool {
		tc := c.Choices[0].Delta.ToolCalls[0]
		return *tc.Index == 1 && tc.ID == "call_9" && tc.Function.Name == "get_weather"
	})
	check(e.ToolCallArgs(1, `{"city":`), func(c *ChatChunk) bool {
		return c.Choices[0].Delta.ToolCalls[0].Function.Arguments == `{"city":`
	})
	check(e.Finish(FinishToolCalls), func(c *ChatChunk) bool { return *c.Choices[0].FinishReason == "tool_calls" })
	check(e.Usage(Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 4}}),
		func(c *ChatChunk) bool {
			return len(c.Choices) == 0 && c.Usage.TotalTokens == 15 && c.Usage.CachedTokens() == 4
		})
}

func BenchmarkStreamEncoderText(b *testing.B) {
	e := NewStreamEncoder("chatcmpl-1", "model", 1700000000)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Text("Hello, world! ")
	}
}

// FuzzAppendJSONString: the output is valid JSON that decodes to the input (with
// invalid UTF-8 replaced, as encoding/json does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t", "\x00\x1f\u2028\u2029", "\xff\xfe", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, s, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte; compare by decoding theirs.
			ref, _ := json.Marshal(s)
			_ = json.Unmarshal(ref, &want)
		}
		if got != want {
			t.Fatalf("round trip %q -> %q, want %q", s, got, want)
		}
	})
}

func TestParseImageURL(t *testing.T) {
	img, err := ParseImageURL("data:image/png;base64,iVBORw0KGgo=")
	if err != nil || img.MediaType != "image/png" || len(img.Data) != 8 {
		t.Fatalf("%+v %v", img, err)
	}
	for _, bad := range []string{"https://example.com/cat.png", "data:image/png,raw", "data:text/plain;base64,aGk=", "data:image/png;base64,!!!"} {
		if _, err := ParseImageURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestChunkHasContent(t *testing.T) {
	cases := map[string]bool{
		`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`: false,
		`{"choices":[],"prompt_filter_results":[]}`:                                                false,
		`{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`:                  true,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0}]},"finish_reason":null}]}`:      true,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`:                              true,
	}
	for in, want := range cases {
		if got := ChunkHasContent([]byte(in)); got != want {
			t.Errorf("%s: %v", in, got)
		}
	}
}

// FuzzChunkHasContent holds ChunkHasContent's plain reading to encoding/json's
// decoding of the chunk, on any input.
func FuzzChunkHasContent(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"choices":[],"prompt_filter_results":[]}`, `null`, `[]`, `{"choices":null}`, `{"choices":[null,1]}`,
		`{"choices":[{"delta":{"content":"Hi"}}],"choices":[]}`, `{"Choices":[{"delta":{"content":"x"}}]}`,
		`{"choices":[{"delta":{"tool_calls":[ ]}},{"delta":{"thinking_blocks":[null]}}]}`,
		`{"choices":[{"delta":{"reasoning_content":"\u0000"},"finish_reason":""}]}`,
		`{"choices":[{"delta":{"content":1}}]}`, `{"choices":[{"delta":null,"finish_reason":3}]}`,
		`{"choices":[{"delta":{"cont\u0065nt":"x","refusal":null}}]}`, `{"choices":[{"delta":"x"}]}`,
		`{"choices":[{"delta":{"content":"x"},"delta":{}}]}`, `{"choices":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := ChunkHasContent(data), decodedHasContent(data); got != want {
			t.Fatalf("%s: plain reading %v, encoding/json %v", data, got, want)
		}
	})
}
