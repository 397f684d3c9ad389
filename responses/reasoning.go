package responses

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// Reasoning items (ItemReasoning). A target that reasons returns its reasoning
// text and, on Claude, signed thinking blocks; the Responses API carries them as a
// reasoning output item before the answer:
//
//	{"id":"rs_…","type":"reasoning","summary":[{"type":"summary_text","text":…}],
//	 "encrypted_content":null}
//
// summary holds the reasoning text the target returned (Claude's and Gemini's are
// already summaries) when the request asked for reasoning.summary, and is empty
// otherwise, as OpenAI leaves it. encrypted_content is given only when the request
// includes "reasoning.encrypted_content"; it is the target's thinking blocks,
// opaque to the client: signed by the cloud (redacted ones encrypted by it), not
// encrypted by Switchyard. The store always keeps them, so a reasoning item sent
// back by id, as the OpenAI Agents SDK sends it, is resolved there, and one sent
// back with encrypted_content is read from it: either way the next Claude turn
// gets its thinking blocks back byte for byte.

// ItemReasoning is a reasoning item.
const ItemReasoning = "reasoning"

// PartSummaryText is a reasoning summary part.
const PartSummaryText = "summary_text"

// encryptedPrefix marks the encoding of encrypted_content: a version, then the
// thinking blocks as base64url JSON.
const encryptedPrefix = "sy1."

func encodeThinking(blocks []providers.ThinkingBlock) string {
	if len(blocks) == 0 {
		return ""
	}
	raw, _ := json.Marshal(blocks) // plain strings: always encodes
	return encryptedPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// decodeThinking reads encrypted_content; content this gateway did not write
// (another gateway's, OpenAI's own) carries nothing it can use.
func decodeThinking(s string) ([]providers.ThinkingBlock, bool) {
	rest, ok := strings.CutPrefix(s, encryptedPrefix)
	if !ok {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, false
	}
	var blocks []providers.ThinkingBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return nil, false
	}
	return blocks, true
}

// reasoningItem is the reasoning output item of an assistant message, or false
// when it has none.
func reasoningItem(m *providers.Message, base *Response, status string) (Item, bool) {
	if m.ReasoningContent == "" && len(m.ThinkingBlocks) == 0 {
		return Item{}, false
	}
	it := Item{Type: ItemReasoning, ID: newItemID(prefixReasoning, base.ID), Status: status,
		Encrypted: encodeThinking(m.ThinkingBlocks), showEncrypted: base.includeEncrypted}
	if base.Reasoning.Summary != nil && m.ReasoningContent != "" {
		it.Content = []Part{{Type: PartSummaryText, Text: m.ReasoningContent}}
	}
	return it, true
}

// appendReasoning writes a reasoning item's members after its status.
func appendReasoning(b []byte, it *Item) []byte {
	b = append(b, `,"summary":[`...)
	for i := range it.Content {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"summary_text","text":`...)
		b = providers.AppendJSONString(b, it.Content[i].Text)
		b = append(b, '}')
	}
	b = append(b, `],"encrypted_content":`...)
	if it.showEncrypted && it.Encrypted != "" {
		b = providers.AppendJSONString(b, it.Encrypted)
		return b
	}
	return append(b, "null"...)
}

// decodeReasoningItem reads a reasoning input item: its summary (the text a
// target without signatures can be told again) and its encrypted_content.
func decodeReasoningItem(it Item, w *wireItem, param string) (Item, error) {
	if len(w.Summary) > 0 && string(w.Summary) != "null" {
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(w.Summary, &parts); err != nil {
			return Item{}, invalid(param+".summary", "Invalid '%s.summary': %s.", param, jsonProblem(err))
		}
		for _, p := range parts {
			it.Content = append(it.Content, Part{Type: PartSummaryText, Text: p.Text})
		}
	}
	it.Encrypted = deref(w.EncryptedContent)
	it.showEncrypted = it.Encrypted != ""
	return it, nil
}

// summaryText is the reasoning text of a reasoning item.
func summaryText(it *Item) string {
	var b strings.Builder
	for _, p := range it.Content {
		b.WriteString(p.Text)
	}
	return b.String()
}
