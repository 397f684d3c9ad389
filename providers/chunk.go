package providers

import "encoding/json"

// ChunkHasContent reports whether a chat.completion.chunk carries something the client
// must see: text, a refusal, a tool call, or a finish reason. Role-only chunks, Azure's
// prompt_filter_results chunk and usage chunks do not; the executor holds those back
// until the first that does, so that failover stays invisible to the client. It is
// called only before the first content chunk, so the decode cost does not recur.
func ChunkHasContent(data []byte) bool {
	var c struct {
		Choices []struct {
			Delta struct {
				Content   *string           `json:"content"`
				Refusal   *string           `json:"refusal"`
				ToolCalls []json.RawMessage `json:"tool_calls"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
	}
	if json.Unmarshal(data, &c) != nil {
		return true // not ours to judge: let the client see it
	}
	for _, ch := range c.Choices {
		d := ch.Delta
		if (d.Content != nil && *d.Content != "") || (d.Refusal != nil && *d.Refusal != "") ||
			len(d.ToolCalls) > 0 || ch.FinishReason != nil {
			return true
		}
	}
	return false
}
