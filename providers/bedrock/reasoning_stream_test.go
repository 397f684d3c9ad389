package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// A reasoning block streamed in many small deltas costs memory in proportion to
// its length: 20,000 eight-byte signature deltas, added by string
// concatenation, would copy 1.6 GB.
func TestReasoningDeltasAccumulateLinearly(t *testing.T) {
	const deltas, piece = 20000, "abcdefgh"
	var body bytes.Buffer
	body.Write(encodeFrame(t, "messageStart", "", []byte(`{"role":"assistant"}`)))
	body.Write(encodeFrame(t, "contentBlockDelta", "", []byte(`{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hm"}}}`)))
	for range deltas {
		body.Write(encodeFrame(t, "contentBlockDelta", "",
			fmt.Appendf(nil, `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":%q}}}`, piece)))
	}
	body.Write(encodeFrame(t, "contentBlockStop", "", []byte(`{"contentBlockIndex":0}`)))
	body.Write(encodeFrame(t, "messageStop", "", []byte(`{"stopReason":"end_turn"}`)))
	body.Write(encodeFrame(t, "metadata", "", []byte(`{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`)))
	s, err := openStream(t, newFixture(t, 200, eventStreamHeader, nil), body.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	data, _, end := drain(t, s)
	runtime.ReadMemStats(&after)
	if end != io.EOF {
		t.Fatalf("stream ended with %v", end)
	}
	var signature string
	for _, d := range data {
		var ch struct {
			Choices []struct {
				Delta struct {
					ThinkingBlocks []struct {
						Signature string `json:"signature"`
					} `json:"thinking_blocks"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(d), &ch) == nil && len(ch.Choices) > 0 && len(ch.Choices[0].Delta.ThinkingBlocks) > 0 {
			signature = ch.Choices[0].Delta.ThinkingBlocks[0].Signature
		}
	}
	if signature != strings.Repeat(piece, deltas) {
		t.Fatalf("signature of %d bytes, want %d", len(signature), deltas*len(piece))
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d deltas, %d-byte signature: %d bytes allocated", deltas, len(signature), allocated)
	if limit := uint64(64 * len(signature)); allocated > limit {
		t.Errorf("%d bytes allocated for a %d-byte block: quadratic in the deltas", allocated, len(signature))
	}
}
