package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// UnmarshalJSON reads a string or an array of blocks.
//
// encoding/json hands a custom decoder bytes it has already validated; decoding
// them again with json.Unmarshal validates every byte of a conversation once more
// per level of nesting (message content, then tool_result content), the largest
// part of translating an agent-sized request. So the blocks of every request are
// read here in one pass, and whatever this reader does not take (a member it does
// not know, a repeated member, a null, a value of the wrong type, a name written
// in another case or with escapes, text that is not UTF-8) goes to encoding/json
// whole, which decides it exactly as it always did. FuzzContentDecode holds the
// two to the same result on every input.
func (c *Content) UnmarshalJSON(data []byte) error {
	*c = Content{}
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > 0 && data[0] == '"':
		if s, ok := jsonstr.String(data); ok {
			c.Text = s
			return nil
		}
		return json.Unmarshal(data, &c.Text)
	case len(data) > 0 && data[0] == '[':
		c.IsBlocks = true
		if blocks, ok := quickBlocks(data); ok {
			c.Blocks = blocks
			return nil
		}
		return json.Unmarshal(data, &c.Blocks)
	}
	return errors.New("content must be a string or an array of content blocks")
}

// MarshalJSON writes a string or an array.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.IsBlocks {
		if c.Blocks == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Blocks)
	}
	return json.Marshal(c.Text)
}

// quickBlocks reads an array of blocks, or reports false for encoding/json to.
func quickBlocks(arr []byte) ([]Block, bool) {
	blocks := []Block{}
	ok := true
	if err := jsonfield.EachElement(arr, func(v []byte) bool {
		var b Block
		if ok = quickBlock(&b, v); ok {
			blocks = append(blocks, b)
		}
		return ok
	}); err != nil || !ok {
		return nil, false
	}
	return blocks, true
}

// The members quickBlock reads, each once.
const (
	seenType = 1 << iota
	seenText
	seenCitations
	seenSource
	seenTitle
	seenID
	seenName
	seenInput
	seenToolUseID
	seenContent
	seenIsError
	seenThinking
	seenSignature
	seenData
	seenCacheControl
)

// quickBlock reads one block object into b, or reports false.
func quickBlock(b *Block, obj []byte) bool {
	if len(obj) == 0 || obj[0] != '{' {
		return false
	}
	seen := 0
	str := func(bit int, dst *string, v []byte) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		var ok bool
		*dst, ok = jsonstr.String(v)
		return ok
	}
	raw := func(bit int, dst *json.RawMessage, v []byte) bool {
		if seen&bit != 0 || string(v) == "null" {
			return false
		}
		seen |= bit
		*dst = append(json.RawMessage(nil), v...)
		return true
	}
	small := func(bit int, dst any, v []byte) bool {
		if seen&bit != 0 || v[0] != '{' {
			return false
		}
		seen |= bit
		return json.Unmarshal(v, dst) == nil
	}
	member := func(k, v []byte) bool {
		switch string(k) {
		case "type":
			return str(seenType, &b.Type, v)
		case "text":
			return str(seenText, &b.Text, v)
		case "title":
			return str(seenTitle, &b.Title, v)
		case "id":
			return str(seenID, &b.ID, v)
		case "name":
			return str(seenName, &b.Name, v)
		case "tool_use_id":
			return str(seenToolUseID, &b.ToolUseID, v)
		case "thinking":
			return str(seenThinking, &b.Thinking, v)
		case "signature":
			return str(seenSignature, &b.Signature, v)
		case "data":
			return str(seenData, &b.Data, v)
		case "citations":
			return raw(seenCitations, &b.Citations, v)
		case "input":
			return raw(seenInput, &b.Input, v)
		case "source":
			b.Source = new(Source)
			return small(seenSource, b.Source, v)
		case "cache_control":
			b.CacheControl = new(CacheControl)
			return small(seenCacheControl, b.CacheControl, v)
		case "is_error":
			if seen&seenIsError != 0 || (string(v) != "true" && string(v) != "false") {
				return false
			}
			seen |= seenIsError
			isErr := string(v) == "true"
			b.IsError = &isErr
			return true
		case "content":
			if seen&seenContent != 0 || (v[0] != '"' && v[0] != '[') {
				return false
			}
			seen |= seenContent
			b.Content = new(Content)
			return b.Content.UnmarshalJSON(v) == nil
		}
		return false
	}
	taken := true
	err := jsonfield.Each(obj, func(k, v []byte) bool {
		taken = member(k, v)
		return taken
	})
	return err == nil && taken
}
