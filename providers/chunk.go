package providers

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonscan"
)

// ChunkHasContent reports whether a chat.completion.chunk carries something the client
// must see: text, a refusal, reasoning (its text or a thinking block), a tool call,
// or a finish reason. Role-only chunks, Azure's
// prompt_filter_results chunk and usage chunks do not; the executor holds those back
// until the first that does, so that failover stays invisible to the client.
//
// It reads the chunk as encoding/json would decode it (decodedHasContent), without
// its reflection: the decoder's recursion grew the stack of every streaming
// request's goroutine to 16 KiB, which it then kept for the whole stream. A chunk
// the plain reading cannot judge alike (a member written with another case or
// escapes, repeated, of an unexpected type) goes to the decoder.
func ChunkHasContent(data []byte) bool {
	found := false
	err := jsonscan.Members(data, chunkMembers, func(name, v []byte) error {
		if string(name) != "choices" || isNull(v) {
			return nil
		}
		if v[0] != '[' {
			return errUnusual
		}
		var err error
		_ = jsonfield.EachElement(v, func(choice []byte) bool {
			var has bool
			has, err = choiceHasContent(choice)
			found = found || has
			return !found && err == nil
		})
		return err
	})
	if err != nil {
		return decodedHasContent(data)
	}
	return found
}

// errUnusual: the chunk is valid JSON that the plain reading leaves to the decoder.
var errUnusual = errors.New("providers: unusual chunk")

var (
	chunkMembers  = jsonscan.NewNames("choices")
	choiceMembers = jsonscan.NewNames("delta", "finish_reason")
	deltaMembers  = jsonscan.NewNames("content", "refusal", "tool_calls", "reasoning_content", "thinking_blocks")
)

// choiceHasContent reads one element of choices.
func choiceHasContent(choice []byte) (bool, error) {
	if isNull(choice) {
		return false, nil
	}
	found := false
	err := jsonscan.Members(choice, choiceMembers, func(name, v []byte) error {
		switch {
		case string(name) != "delta" && string(name) != "finish_reason", isNull(v):
		case string(name) == "finish_reason" && v[0] == '"':
			found = true // any finish reason, "" included, ends the held chunks
		case string(name) == "delta" && v[0] == '{':
			has, err := deltaHasContent(v)
			found = found || has
			return err
		default:
			return errUnusual
		}
		return nil
	})
	return found, err
}

// deltaHasContent reads a choice's delta: a non-empty string of text, refusal or
// reasoning, or a non-empty list of tool calls or thinking blocks.
func deltaHasContent(delta []byte) (bool, error) {
	found := false
	err := jsonscan.Members(delta, deltaMembers, func(name, v []byte) error {
		if isNull(v) {
			return nil
		}
		switch string(name) {
		case "tool_calls", "thinking_blocks":
			if v[0] != '[' {
				return errUnusual
			}
			found = found || len(bytes.TrimLeft(v[1:], " \t\r\n")) > 1 // more than "]"
		case "content", "refusal", "reasoning_content":
			if v[0] != '"' {
				return errUnusual
			}
			found = found || len(v) > 2 // a string is empty only as ""
		}
		return nil
	})
	return found, err
}

// decodedHasContent is ChunkHasContent by encoding/json's decoding: the meaning the
// plain reading keeps.
func decodedHasContent(data []byte) bool {
	var c struct {
		Choices []struct {
			Delta struct {
				Content   *string           `json:"content"`
				Refusal   *string           `json:"refusal"`
				ToolCalls []json.RawMessage `json:"tool_calls"`
				// Reasoning counts: a thinking model may reason for a long time
				// before its first word, and holding that back would hold it all
				// in memory and hide it from the client.
				Reasoning      *string           `json:"reasoning_content"`
				ThinkingBlocks []json.RawMessage `json:"thinking_blocks"`
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
			(d.Reasoning != nil && *d.Reasoning != "") || len(d.ThinkingBlocks) > 0 ||
			len(d.ToolCalls) > 0 || ch.FinishReason != nil {
			return true
		}
	}
	return false
}
