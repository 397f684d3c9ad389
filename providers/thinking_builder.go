package providers

import "strings"

// ThinkingBuilder accumulates a thinking block streamed in deltas. Appends
// amortize; string concatenation would copy the whole block so far at every
// delta, quadratic in the deltas up to the block's cap (an upstream sending 16
// MiB a few bytes at a time would cost terabytes of copying).
type ThinkingBuilder struct {
	Type                      string
	thinking, signature, data strings.Builder
}

// NewThinkingBuilder starts a block as its start event opened it: its type and
// whatever text it came with.
func NewThinkingBuilder(b ThinkingBlock) *ThinkingBuilder {
	t := &ThinkingBuilder{Type: b.Type}
	t.thinking.WriteString(b.Thinking)
	t.signature.WriteString(b.Signature)
	t.data.WriteString(b.Data)
	return t
}

// Len is the block's length so far, in bytes.
func (t *ThinkingBuilder) Len() int { return t.thinking.Len() + t.signature.Len() + t.data.Len() }

func (t *ThinkingBuilder) AddThinking(s string)  { t.thinking.WriteString(s) }
func (t *ThinkingBuilder) AddSignature(s string) { t.signature.WriteString(s) }
func (t *ThinkingBuilder) AddData(s string)      { t.data.WriteString(s) }

// Block is the block as accumulated.
func (t *ThinkingBuilder) Block() ThinkingBlock {
	return ThinkingBlock{Type: t.Type, Thinking: t.thinking.String(), Signature: t.signature.String(), Data: t.data.String()}
}
