package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// refContent and refBlock are Content and Block decoded by encoding/json alone,
// at every level: what Content.UnmarshalJSON decided before it read blocks
// itself, and the oracle it is held to.
type refContent struct {
	Text     string
	Blocks   []refBlock
	IsBlocks bool
}

type refBlock struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Citations    json.RawMessage `json:"citations,omitempty"`
	Source       *Source         `json:"source,omitempty"`
	Title        string          `json:"title,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      *refContent     `json:"content,omitempty"`
	IsError      *bool           `json:"is_error,omitempty"`
	Thinking     string          `json:"thinking,omitempty"`
	Signature    string          `json:"signature,omitempty"`
	Data         string          `json:"data,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
}

func (c *refContent) UnmarshalJSON(data []byte) error {
	*c = refContent{}
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > 0 && data[0] == '"':
		return json.Unmarshal(data, &c.Text)
	case len(data) > 0 && data[0] == '[':
		c.IsBlocks = true
		return json.Unmarshal(data, &c.Blocks)
	}
	return errors.New("content must be a string or an array of content blocks")
}

func (c refContent) MarshalJSON() ([]byte, error) {
	if c.IsBlocks {
		if c.Blocks == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Blocks)
	}
	return json.Marshal(c.Text)
}

var contentSeeds = []string{
	`"plain"`, `"esc\"aped\n\u00e9 \ud83d\ude00 \ud83d"`, "\"bad \xff utf8\"", `[]`, ` [ ] `,
	`[{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}}]`,
	`[{"type":"tool_use","id":"t1","name":"read","input":{"path":"a b","n":[1,2.5e3,null]}}]`,
	`[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":[{"type":"text","text":"no"}]}]`,
	`[{"type":"tool_result","tool_use_id":"t1","content":"plain result"}]`,
	`[{"type":"tool_result","tool_use_id":"t1","content":null}]`,
	`[{"type":"thinking","thinking":"hmm","signature":"c2ln"},{"type":"redacted_thinking","data":"ZGF0YQ=="}]`,
	`[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]`,
	`[{"type":"text","text":"a","text":"b"}]`, `[{"type":"text","Text":"case"}]`, `[{"type":"text","te\u0078t":"esc"}]`,
	`[{"type":"text","text":null}]`, `[{"type":"text","text":5}]`, `[null]`, `[{"type":"text","unknown":1}]`,
	`[{"type":"tool_result","is_error":"yes"}]`, `[{"type":"document","citations":{"enabled":true},"title":"t"}]`,
	`[{"type":"text","text":"x"},]`, `{"type":"text"}`, `5`, `null`,
}

// FuzzContentDecode holds Content's own block reader to encoding/json: the same
// error or none, and the same content, on every input.
func FuzzContentDecode(f *testing.F) {
	for _, s := range contentSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got Content
		var want refContent
		errGot, errWant := json.Unmarshal(data, &got), json.Unmarshal(data, &want)
		if (errGot == nil) != (errWant == nil) {
			t.Fatalf("%q: error %v, encoding/json alone %v", data, errGot, errWant)
		}
		if errGot != nil {
			return
		}
		g, err1 := json.Marshal(got)
		w, err2 := json.Marshal(want)
		if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
			t.Fatalf("%q:\n got %s (%v)\nwant %s (%v)", data, g, err1, w, err2)
		}
	})
}

// The blocks of an ordinary request are read without encoding/json's second pass.
func TestContentQuickPathTakesOrdinaryBlocks(t *testing.T) {
	for _, s := range append(contentSeeds[3:9:9], contentSeeds[10:12]...) {
		arr := bytes.TrimSpace([]byte(s))
		if _, ok := quickBlocks(arr); !ok {
			t.Errorf("%s: left to encoding/json", s)
		}
	}
}
