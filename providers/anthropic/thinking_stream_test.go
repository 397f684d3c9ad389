package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// A thinking block streamed in many small deltas costs memory in proportion to
// its length, not to its length times the number of deltas: 20,000 eight-byte
// signature deltas, added by string concatenation, would copy 1.6 GB.
func TestThinkingDeltasAccumulateLinearly(t *testing.T) {
	const deltas, piece = 20000, "abcdefgh"
	var b bytes.Buffer
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\"," +
		"\"content\":[],\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n")
	b.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}\n\n")
	for range deltas {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":%q}}\n\n", piece)
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	s := newStream(io.NopCloser(bytes.NewReader(b.Bytes())), translation{})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	chunks, end := drain(s)
	runtime.ReadMemStats(&after)
	if end != io.EOF {
		t.Fatalf("stream ended with %v", end)
	}
	var signature string
	for _, c := range chunks {
		var ch struct {
			Choices []struct {
				Delta struct {
					ThinkingBlocks []struct {
						Signature string `json:"signature"`
					} `json:"thinking_blocks"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal(c.Data, &ch) == nil && len(ch.Choices) > 0 && len(ch.Choices[0].Delta.ThinkingBlocks) > 0 {
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
