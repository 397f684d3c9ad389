package bedrock

import (
	"encoding/json"
	"errors"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// A stream sends one contentBlockDelta per few tokens, so that event is read
// without encoding/json: its members are found in place with jsonfield, and the
// text is unescaped into a reused buffer only when it has escapes. The other
// events come a few times per stream and decode into the structs of wire.go.

type eventKind uint8

const (
	evOther eventKind = iota // contentBlockStop, unknown events: no chunk
	evMessageStart
	evBlockStart
	evDelta
	evMessageStop
	evMetadata
	evBlockStop
)

// event is one decoded ConverseStream event. Its byte slices point into the
// frame's payload or the decoder's buffer: valid until the next event is read.
type event struct {
	kind  eventKind
	index int // contentBlockIndex of a block event

	// evDelta: text of a text delta, or the fragment of a toolUse delta.
	// Citation deltas have neither.
	text      []byte
	toolInput bool // text is a toolUse input fragment
	// reasoning: a reasoningContent delta; text is its text, or its signature
	// (signature set), or the base64 of redactedContent (redacted set).
	reasoning, signature, redacted bool

	// evBlockStart of a toolUse block.
	toolUse    bool
	toolUseID  string
	toolName   string
	stopReason string      // evMessageStop
	usage      *tokenUsage // evMetadata
}

// jsonDecoder reads Bedrock's JSON in place: stream event payloads, and the
// Converse response (answer.go). Its buffer is reused from value to value.
type jsonDecoder struct {
	str []byte // the last unescaped string
}

var errMalformedEvent = errors.New("malformed event payload")

// decode fills ev from the payload of an event message named eventType.
func (d *jsonDecoder) decode(eventType, payload []byte, ev *event) error {
	*ev = event{}
	switch string(eventType) {
	case "contentBlockDelta":
		ev.kind = evDelta
		return d.scanDelta(payload, ev)
	case "messageStart":
		ev.kind = evMessageStart // its only member is the role, always assistant
		return nil
	case "contentBlockStart":
		var v contentBlockStartEvent
		if err := json.Unmarshal(payload, &v); err != nil {
			return err
		}
		ev.kind, ev.index = evBlockStart, v.ContentBlockIndex
		if tu := v.Start.ToolUse; tu != nil {
			ev.toolUse, ev.toolUseID, ev.toolName = true, tu.ToolUseID, tu.Name
		}
		return nil
	case "messageStop":
		var v messageStopEvent
		if err := json.Unmarshal(payload, &v); err != nil {
			return err
		}
		ev.kind, ev.stopReason = evMessageStop, v.StopReason
		return nil
	case "contentBlockStop":
		var v struct {
			ContentBlockIndex int `json:"contentBlockIndex"`
		}
		if err := json.Unmarshal(payload, &v); err != nil {
			return err
		}
		ev.kind, ev.index = evBlockStop, v.ContentBlockIndex
		return nil
	case "metadata":
		var v metadataEvent
		if err := json.Unmarshal(payload, &v); err != nil {
			return err
		}
		ev.kind, ev.usage = evMetadata, v.Usage
		return nil
	}
	return nil // events added later
}

// scanDelta reads {"contentBlockIndex": n, "delta": {"text": "..."} or
// {"toolUse": {"input": "..."}} or another member} (API_runtime_ContentBlockDeltaEvent.html,
// API_runtime_ContentBlockDelta.html); Bedrock adds a "p" member of padding.
func (d *jsonDecoder) scanDelta(payload []byte, ev *event) error {
	var index, delta []byte
	err := jsonfield.Each(payload, func(k, v []byte) bool {
		switch string(k) {
		case "contentBlockIndex":
			index = v
		case "delta":
			delta = v
		}
		return true
	})
	if err != nil || delta == nil {
		return errMalformedEvent
	}
	if ev.index = jsonstr.Index(index); ev.index < 0 {
		return errMalformedEvent
	}
	var text, toolUse, reasoning []byte
	if jsonfield.Each(delta, func(k, v []byte) bool {
		switch string(k) {
		case "text":
			text = v
		case "toolUse":
			toolUse = v
		case "reasoningContent":
			reasoning = v
		}
		return true
	}) != nil {
		return errMalformedEvent
	}
	if reasoning != nil {
		return d.scanReasoning(reasoning, ev)
	}
	if toolUse != nil {
		if text, err = jsonfield.Get(toolUse, "input"); err != nil {
			return errMalformedEvent
		}
		ev.toolInput = true
	}
	if text == nil || string(text) == "null" {
		return nil // reasoningContent, citation: no chat.completion field
	}
	if ev.text, err = d.unquote(text); err != nil {
		return errMalformedEvent
	}
	return nil
}

// scanReasoning reads a ReasoningContentBlockDelta: {"text"}, {"signature"} or
// {"redactedContent"} (API_runtime_ReasoningContentBlockDelta.html).
func (d *jsonDecoder) scanReasoning(v []byte, ev *event) error {
	var val []byte
	if jsonfield.Each(v, func(k, x []byte) bool {
		switch string(k) {
		case "text":
			val = x
		case "signature":
			val, ev.signature = x, true
		case "redactedContent":
			val, ev.redacted = x, true
		}
		return true
	}) != nil {
		return errMalformedEvent
	}
	ev.reasoning = true
	if val == nil || string(val) == "null" {
		return nil
	}
	var err error
	if ev.text, err = d.unquote(val); err != nil {
		return errMalformedEvent
	}
	return nil
}

var errBadString = errors.New("malformed JSON string")

// unquote decodes a raw JSON string value: in place when it has no escape, else
// into the decoder's reused buffer.
func (d *jsonDecoder) unquote(v []byte) ([]byte, error) {
	out, buf, ok := jsonstr.Decode(d.str, v)
	d.str = buf
	if !ok {
		return nil, errBadString
	}
	return out, nil
}

// malformed is the error of an event whose payload could not be read.
func malformed(eventType []byte, err error) *providers.Error {
	return &providers.Error{Class: providers.ClassDecode, Err: err,
		Message: "Bedrock sent a malformed " + string(eventType) + " event"}
}
