package providers

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// The events of a Messages API stream
// (https://platform.claude.com/docs/en/build-with-claude/streaming).
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// EventName returns the event name of raw as one of the constants above, so that
// naming a known event costs no allocation; other names are copied.
func EventName(raw []byte) string {
	switch string(raw) {
	case EventContentBlockDelta:
		return EventContentBlockDelta
	case EventContentBlockStart:
		return EventContentBlockStart
	case EventContentBlockStop:
		return EventContentBlockStop
	case EventMessageStart:
		return EventMessageStart
	case EventMessageDelta:
		return EventMessageDelta
	case EventMessageStop:
		return EventMessageStop
	case EventPing:
		return EventPing
	case EventError:
		return EventError
	}
	return string(raw)
}

// EventHasContent reports whether a Messages stream event carries something the
// client must see: a block's delta or end, the message's end. message_start, the
// content_block_start before the first delta and ping do not, so the executor
// holds them back until the first event that does, and a failure before it stays
// invisible (failover before the first byte). Unknown events are held too: they
// go out with the next content event.
func EventHasContent(event string) bool {
	switch event {
	case EventContentBlockDelta, EventContentBlockStop, EventMessageDelta, EventMessageStop:
		return true
	}
	return false
}

// CarriesContent reports whether the executor must stop holding chunks back at c:
// for a Messages event, EventHasContent; for a chat.completion.chunk,
// ChunkHasContent (usage-only chunks never do).
func CarriesContent(c Chunk) bool {
	if c.Event != "" {
		return EventHasContent(c.Event)
	}
	return !c.UsageOnly && ChunkHasContent(c.Data)
}

// MessagesUsage is Anthropic's token count. input_tokens excludes the prompt
// tokens read from or written to the prompt cache, which are counted apart
// (https://platform.claude.com/docs/en/build-with-claude/prompt-caching).
type MessagesUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// Canonical is the usage in OpenAI terms: every prompt token is a prompt token,
// cache reads are the cached ones and cache writes the cache-write ones.
func (u MessagesUsage) Canonical() Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	return Usage{
		PromptTokens:     prompt,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      prompt + u.OutputTokens,
		PromptTokensDetails: &PromptTokensDetails{CachedTokens: u.CacheReadInputTokens,
			CacheWriteTokens: u.CacheCreationInputTokens},
	}
}

// MessageHead reads what the gateway needs of a Message JSON document (a
// non-streamed answer, relayed byte for byte): its usage and model, after
// checking that it is valid JSON and a "message". One pass over the members,
// without reflection.
func MessageHead(body []byte) (u MessagesUsage, model string, err error) {
	if !json.Valid(body) {
		return u, "", errors.New("response is not valid JSON")
	}
	isMessage := false
	var bad error
	err = jsonfield.Each(body, func(k, v []byte) bool {
		switch string(k) {
		case "type":
			isMessage = string(v) == `"message"`
		case "model":
			if s, ok := jsonstr.String(v); ok {
				model = s
			}
		case "usage":
			bad = readUsage(v, &u)
		}
		return bad == nil
	})
	switch {
	case err != nil:
		return u, "", err
	case bad != nil:
		return u, "", bad
	case !isMessage:
		return u, "", errors.New(`response is not a "message" object`)
	}
	return u, model, nil
}

// readUsage reads Anthropic's token counts; a count that is not a
// non-negative integer (or null) is an error.
func readUsage(v []byte, u *MessagesUsage) error {
	if string(v) == "null" {
		return nil
	}
	var bad error
	err := jsonfield.Each(v, func(k, n []byte) bool {
		var dst *int
		switch string(k) {
		case "input_tokens":
			dst = &u.InputTokens
		case "output_tokens":
			dst = &u.OutputTokens
		case "cache_creation_input_tokens":
			dst = &u.CacheCreationInputTokens
		case "cache_read_input_tokens":
			dst = &u.CacheReadInputTokens
		default:
			return true
		}
		if string(n) == "null" {
			*dst = 0
			return true
		}
		if *dst = jsonstr.Index(n); *dst < 0 {
			bad = errors.New("usage." + string(k) + " is not a token count")
		}
		return bad == nil
	})
	if err != nil {
		return errors.New("usage is not an object")
	}
	return bad
}

// MessagesEvents follows one native Messages stream for the provider that reads
// it: it names each event, keeps the running usage (Anthropic reports the input
// and cache counts in message_start and the cumulative output in message_delta,
// which newer API versions let repeat the input counts), and knows when the
// stream ended. The provider classifies "error" events itself.
type MessagesEvents struct {
	usage   MessagesUsage
	started bool
	stopped bool
}

// Next turns one event into a chunk. name is the SSE event name; when empty (a
// Bedrock chunk carries only the JSON) the data's "type" names it. The chunk's
// Data is data itself. Data that is not a JSON object, a malformed message_start
// or message_delta, or an event before message_start is a decode error.
func (m *MessagesEvents) Next(name, data []byte) (Chunk, error) {
	// The data goes to the client as it is: it must be valid JSON (jsonfield.Each
	// below checks structure only, and would let `{"type":"x"}0` through), an
	// object whose "type" names a nameless event.
	if !jsonscan.Valid(data) {
		return Chunk{}, malformedEvent(errors.New("an event that is not valid JSON"))
	}
	var typ []byte
	if err := jsonfield.Each(data, func(k, v []byte) bool {
		if string(k) == "type" {
			typ = v
		}
		return true
	}); err != nil {
		return Chunk{}, malformedEvent(err)
	}
	if len(name) == 0 {
		s, _, ok := jsonstr.Decode(nil, typ)
		if !ok || len(s) == 0 || bytes.ContainsAny(s, "\r\n") {
			// A name goes out on an "event:" line: it must be one line.
			return Chunk{}, malformedEvent(errors.New(`event without a one-line string "type"`))
		}
		name = s
	}
	c := Chunk{Event: EventName(name), Data: data}
	switch c.Event {
	case EventMessageStart:
		if m.started {
			return Chunk{}, malformedEvent(errors.New("second message_start"))
		}
		var ev struct {
			Message struct {
				Usage MessagesUsage `json:"usage"`
			} `json:"message"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return Chunk{}, malformedEvent(err)
		}
		m.started = true
		m.usage = ev.Message.Usage
		c.Usage = m.running()
	case EventMessageDelta:
		var ev struct {
			Usage struct {
				InputTokens              *int `json:"input_tokens"`
				OutputTokens             *int `json:"output_tokens"`
				CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
				CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return Chunk{}, malformedEvent(err)
		}
		set := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		set(&m.usage.InputTokens, ev.Usage.InputTokens)
		set(&m.usage.OutputTokens, ev.Usage.OutputTokens)
		set(&m.usage.CacheCreationInputTokens, ev.Usage.CacheCreationInputTokens)
		set(&m.usage.CacheReadInputTokens, ev.Usage.CacheReadInputTokens)
		c.Usage = m.running()
	case EventMessageStop:
		m.stopped = true
	case EventPing, EventError:
		return c, nil
	}
	if !m.started {
		return Chunk{}, malformedEvent(errors.New(c.Event + " before message_start"))
	}
	return c, nil
}

// Stopped reports whether message_stop was seen: the stream ended well.
func (m *MessagesEvents) Stopped() bool { return m.stopped }

// Usage is the usage so far, in Anthropic's terms.
func (m *MessagesEvents) Usage() MessagesUsage { return m.usage }

// running is the canonical usage so far. Each is its own value: an executor may
// hold a chunk while it reads the next ones, and two events a stream carry one.
func (m *MessagesEvents) running() *Usage {
	u := m.usage.Canonical()
	return &u
}

func malformedEvent(err error) *Error {
	return &Error{Class: ClassDecode, Err: err, Message: "upstream sent a malformed stream event"}
}
