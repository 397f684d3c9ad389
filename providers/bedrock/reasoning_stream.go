package bedrock

import (
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// maxReasoningBytes bounds one accumulated reasoning block.
const maxReasoningBytes = 16 << 20

// reasoning translates a reasoningContent delta: its text goes to the client as
// reasoning_content (unless hidden) and into the block being built; a signature
// or redacted content completes the block, sent whole at contentBlockStop.
func (t *translator) reasoning(ev *event) (providers.Chunk, step, error) {
	if t.thinking == nil || t.thinkingIndex != ev.index {
		t.thinking, t.thinkingIndex = &providers.ThinkingBuilder{Type: "thinking"}, ev.index
	}
	b := t.thinking
	if b.Len()+len(ev.text) > maxReasoningBytes {
		return providers.Chunk{}, stepSkip, &providers.Error{Class: providers.ClassDecode, Message: "Bedrock sent a reasoning block too large"}
	}
	switch {
	case ev.signature:
		b.AddSignature(string(ev.text))
		return providers.Chunk{}, stepSkip, nil
	case ev.redacted:
		b.Type = "redacted_thinking"
		b.AddData(string(ev.text))
		return providers.Chunk{}, stepSkip, nil
	}
	b.AddThinking(string(ev.text))
	if len(ev.text) == 0 || t.hideReasoning {
		return providers.Chunk{}, stepSkip, nil
	}
	return providers.Chunk{Data: t.enc.Reasoning(jsonstr.View(ev.text))}, stepEmit, nil
}

// reasoningStop sends the reasoning block that ends, when it can go back (signed
// or redacted); DeepSeek R1's unsigned reasoning was text only.
func (t *translator) reasoningStop(index int) (providers.Chunk, step, error) {
	b := t.thinking
	if b == nil || t.thinkingIndex != index {
		return providers.Chunk{}, stepSkip, nil
	}
	t.thinking = nil
	block := b.Block()
	if !providers.SignedBlock(block) {
		return providers.Chunk{}, stepSkip, nil
	}
	return providers.Chunk{Data: t.enc.Thinking(block)}, stepEmit, nil
}
