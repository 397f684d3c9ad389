package bedrock

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

// decodeConverse fills out from a Converse response body as encoding/json would
// with the tags of wire.go (FuzzDecodeConverse holds it to that), reading only
// the members the translation uses, in place: jsonfield finds them, strings are
// unescaped only when they have escapes, tool inputs stay views into raw. It
// costs a few allocations where encoding/json's reflection cost ~4 µs and 16 a
// response. Member names match exactly, as Bedrock writes them (encoding/json
// would also accept other cases).
func decodeConverse(raw []byte, out *converseResponse) error {
	var d jsonDecoder
	var err error
	if e := jsonfield.Each(raw, func(k, v []byte) bool {
		switch string(k) {
		case "output":
			err = d.output(v, out)
		case "stopReason":
			err = d.stringValue(v, &out.StopReason)
		case "usage":
			if isJSONNull(v) {
				out.Usage = nil
				return true
			}
			if out.Usage == nil {
				out.Usage = new(tokenUsage)
			}
			err = decodeUsage(v, out.Usage)
		}
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return err
}

func (d *jsonDecoder) output(v []byte, out *converseResponse) error {
	if isJSONNull(v) {
		return nil
	}
	var err error
	if e := jsonfield.Each(v, func(k, v []byte) bool {
		if string(k) != "message" {
			return true
		}
		if isJSONNull(v) {
			out.Output.Message = nil
			return true
		}
		if out.Output.Message == nil {
			out.Output.Message = new(message)
		}
		err = d.message(v, out.Output.Message)
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return err
}

func (d *jsonDecoder) message(v []byte, m *message) error {
	var err error
	if e := jsonfield.Each(v, func(k, v []byte) bool {
		switch string(k) {
		case "role":
			err = d.stringValue(v, &m.Role)
		case "content":
			m.Content, err = d.blocks(v)
		}
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return err
}

func (d *jsonDecoder) blocks(v []byte) ([]contentBlock, error) {
	if isJSONNull(v) {
		return nil, nil
	}
	blocks := []contentBlock{}
	var err error
	if e := jsonfield.EachElement(v, func(el []byte) bool {
		var b contentBlock
		if !isJSONNull(el) {
			err = d.block(el, &b)
		}
		blocks = append(blocks, b)
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return blocks, err
}

func (d *jsonDecoder) block(v []byte, b *contentBlock) error {
	var err error
	if e := jsonfield.Each(v, func(k, v []byte) bool {
		switch string(k) {
		case "text":
			err = d.stringValue(v, &b.Text)
		case "toolUse":
			if isJSONNull(v) {
				b.ToolUse = nil
				return true
			}
			if b.ToolUse == nil {
				b.ToolUse = new(toolUseBlock)
			}
			err = d.toolUse(v, b.ToolUse)
		case "reasoningContent":
			// Once per answer at most: encoding/json is cheap enough here.
			if isJSONNull(v) {
				b.ReasoningContent = nil
				return true
			}
			b.ReasoningContent = new(reasoningBlock)
			err = json.Unmarshal(v, b.ReasoningContent)
		}
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return err
}

func (d *jsonDecoder) toolUse(v []byte, t *toolUseBlock) error {
	var err error
	if e := jsonfield.Each(v, func(k, v []byte) bool {
		switch string(k) {
		case "toolUseId":
			err = d.stringValue(v, &t.ToolUseID)
		case "name":
			err = d.stringValue(v, &t.Name)
		case "input":
			t.Input = v
		}
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return err
}

// stringValue decodes a JSON string into dst; null leaves dst as it is.
func (d *jsonDecoder) stringValue(v []byte, dst *string) error {
	if isJSONNull(v) {
		return nil
	}
	s, err := d.unquote(v)
	if err != nil {
		return err
	}
	*dst = string(s)
	return nil
}

func decodeUsage(v []byte, u *tokenUsage) error {
	var err error
	if e := jsonfield.Each(v, func(k, v []byte) bool {
		switch string(k) {
		case "inputTokens":
			err = intValue(v, &u.InputTokens)
		case "outputTokens":
			err = intValue(v, &u.OutputTokens)
		case "totalTokens":
			err = intValue(v, &u.TotalTokens)
		case "cacheReadInputTokens":
			err = intValue(v, &u.CacheReadInputTokens)
		case "cacheWriteInputTokens":
			err = intValue(v, &u.CacheWriteInputTokens)
		}
		return err == nil
	}); e != nil && err == nil {
		err = e
	}
	return err
}

// intValue decodes a JSON integer; null leaves dst as it is.
func intValue(v []byte, dst *int) error {
	if isJSONNull(v) {
		return nil
	}
	if len(v) > 0 && v[0] == '+' {
		return strconv.ErrSyntax // JSON has no plus sign
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func isJSONNull(v []byte) bool { return bytes.Equal(v, []byte("null")) }
