package anthropic

import (
	"encoding/json"
	"errors"

	"github.com/switchyard/switchyard/providers"
)

// A streamed thinking block (https://platform.claude.com/docs/en/build-with-claude/extended-thinking,
// "Streaming thinking"): content_block_start {"type":"thinking","thinking":""},
// thinking_delta events with the text, one signature_delta just before
// content_block_stop; a redacted_thinking block arrives whole in its
// content_block_start. The text goes to the client as reasoning_content deltas
// (unless the alias hides it); the whole block, signature included, as one
// thinking_blocks delta when it ends.

// maxThinkingBytes bounds one accumulated thinking block; a real one is far
// smaller than the largest budget's text.
const maxThinkingBytes = 16 << 20

func (s *stream) thinkingStart(b *blockState, data []byte) ([]byte, bool, error) {
	var ev struct {
		ContentBlock struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
			Data      string `json:"data"`
		} `json:"content_block"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, malformed(err)
	}
	cb := ev.ContentBlock
	b.kind = kindThinking
	b.thinking = providers.NewThinkingBuilder(providers.ThinkingBlock{Type: cb.Type, Thinking: cb.Thinking, Signature: cb.Signature, Data: cb.Data})
	if cb.Type == "thinking" && cb.Thinking != "" && !s.tr.hideReasoning {
		return s.enc.Reasoning(cb.Thinking), true, nil
	}
	return nil, false, nil
}

// thinkingDelta adds a thinking_delta's text (sent on as reasoning_content) or
// a signature_delta's signature to the open thinking block.
func (s *stream) thinkingDelta(index int, signature bool, val []byte) ([]byte, bool, error) {
	b, err := s.block(index)
	if err != nil {
		return nil, false, err
	}
	if b.kind != kindThinking || b.thinking == nil {
		return nil, false, malformed(errors.New("thinking delta outside a thinking block"))
	}
	text, err := s.unquote(val)
	if err != nil {
		return nil, false, malformed(err)
	}
	t := b.thinking
	if t.Len()+len(text) > maxThinkingBytes {
		return nil, false, malformed(errors.New("thinking block too large"))
	}
	if signature {
		t.AddSignature(text)
		return nil, false, nil
	}
	t.AddThinking(text)
	if text == "" || s.tr.hideReasoning {
		return nil, false, nil
	}
	return s.enc.Reasoning(text), true, nil
}

// blockStop sends a finished thinking block whole; other blocks end silently.
func (s *stream) blockStop(data []byte) ([]byte, bool, error) {
	var ev struct {
		Index int `json:"index"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, malformed(err)
	}
	if ev.Index < 0 || ev.Index >= len(s.blocks) {
		return nil, false, nil
	}
	b := &s.blocks[ev.Index]
	if b.kind != kindThinking || b.thinking == nil {
		return nil, false, nil
	}
	t := b.thinking.Block()
	b.thinking = nil
	return s.enc.Thinking(t), true, nil
}
