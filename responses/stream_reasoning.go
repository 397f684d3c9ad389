package responses

import (
	"encoding/json"

	"github.com/switchyard/switchyard/providers"
)

// The reasoning item of a stream: opened by the first reasoning_content or
// thinking_blocks delta, closed when the answer's text or a tool call begins (or
// the stream ends). With reasoning.summary asked for, its text streams as
// response.reasoning_summary_part.added, response.reasoning_summary_text.delta...,
// .done and part.done; either way the item's output_item.added and .done frame it,
// .done with the summary and, when included, encrypted_content.

// maxSummaryBytes bounds one reasoning item's accumulated text.
const maxSummaryBytes = 16 << 20

func (b *StreamBuilder) openReasoning() *streamItem {
	if b.rs != nil {
		return b.rs
	}
	b.closeMessage(StatusCompleted)
	r := &streamItem{reasoning: true, id: newItemID(prefixReasoning, b.base.ID), index: len(b.items)}
	b.items = append(b.items, r)
	b.rs = r
	b.begin("response.output_item.added")
	b.outputIndex(r)
	b.out = append(b.out, `,"item":`...)
	b.out = appendItem(b.out, &Item{Type: ItemReasoning, ID: r.id, Status: StatusInProgress})
	b.end()
	return r
}

func (b *StreamBuilder) summarized() bool { return b.base.Reasoning.Summary != nil }

// reasoningText adds a reasoning_content delta.
func (b *StreamBuilder) reasoningText(body []byte) {
	if len(body) == 0 {
		return
	}
	body = b.sanitize(body)
	r := b.openReasoning()
	if len(r.summary)+len(body) > maxSummaryBytes {
		return
	}
	if !b.summarized() {
		r.summary = append(r.summary, body...)
		return
	}
	if len(r.summary) == 0 {
		b.begin("response.reasoning_summary_part.added")
		b.summaryRef(r)
		b.out = append(b.out, `,"part":{"type":"summary_text","text":""}`...)
		b.end()
	}
	r.summary = append(r.summary, body...)
	b.begin("response.reasoning_summary_text.delta")
	b.summaryRef(r)
	b.out = append(b.out, `,"delta":"`...)
	b.out = append(b.out, body...)
	b.out = append(b.out, '"')
	b.end()
}

// thinkingBlocks adds the finished thinking blocks of a delta.
func (b *StreamBuilder) thinkingBlocks(v []byte) {
	var blocks []providers.ThinkingBlock
	if json.Unmarshal(v, &blocks) != nil || len(blocks) == 0 {
		return
	}
	r := b.openReasoning()
	r.blocks = append(r.blocks, blocks...)
}

// closeReasoning ends the open reasoning item.
func (b *StreamBuilder) closeReasoning(status string) {
	r := b.rs
	if r == nil {
		return
	}
	b.rs = nil
	r.closed, r.status = true, status
	if b.summarized() && len(r.summary) > 0 {
		b.begin("response.reasoning_summary_text.done")
		b.summaryRef(r)
		b.out = append(b.out, `,"text":"`...)
		b.out = append(b.out, r.summary...)
		b.out = append(b.out, '"')
		b.end()
		b.begin("response.reasoning_summary_part.done")
		b.summaryRef(r)
		b.out = append(b.out, `,"part":{"type":"summary_text","text":"`...)
		b.out = append(b.out, r.summary...)
		b.out = append(b.out, `"}`...)
		b.end()
	}
	it := b.reasoningSnapshot(r, status)
	b.begin("response.output_item.done")
	b.outputIndex(r)
	b.out = append(b.out, `,"item":`...)
	b.out = appendItem(b.out, &it)
	b.end()
}

// reasoningSnapshot is the reasoning item as it stands.
func (b *StreamBuilder) reasoningSnapshot(r *streamItem, status string) Item {
	it := Item{Type: ItemReasoning, ID: r.id, Status: status, Encrypted: encodeThinking(r.blocks),
		showEncrypted: b.base.includeEncrypted}
	if b.summarized() && len(r.summary) > 0 {
		it.Content = []Part{{Type: PartSummaryText, Text: unescape(r.summary)}}
	}
	return it
}

// summaryRef writes item_id, output_index and summary_index (one summary part).
func (b *StreamBuilder) summaryRef(r *streamItem) {
	b.out = append(b.out, `,"item_id":`...)
	b.out = providers.AppendJSONString(b.out, r.id)
	b.outputIndex(r)
	b.out = append(b.out, `,"summary_index":0`...)
}
