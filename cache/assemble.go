package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

// maxAssembled bounds the text, arguments and log probabilities one Assembler
// holds: about 250k tokens, far beyond an answer worth keeping in memory.
const maxAssembled = 1 << 20

var (
	// ErrIncomplete is returned for a stream that ended before its finish reason:
	// a cut stream must not be cached.
	ErrIncomplete = errors.New("cache: stream ended without a finish reason")
	// ErrTooLarge is returned once an answer outgrows what an Assembler holds.
	ErrTooLarge = errors.New("cache: streamed answer too large to cache")
)

// Assembler rebuilds the chat.completion of a relayed stream, so that a streamed
// answer can be cached too. The proxy feeds it every chunk's JSON as it relays;
// the first error is sticky and frees what was held, so the proxy may ignore Add's
// result and ask Completion once at the end. The zero value is ready; it is not
// safe for concurrent use.
//
// It reads the members of a delta a replay reproduces (role, content, refusal,
// tool_calls) and refuses, with ErrNotReplayable, a delta carrying anything else
// that is not null or "" (audio, function_call, a reasoning_content of some
// OpenAI-compatible servers): an answer replayed without it would not be the answer
// given. Choices other than index 0 are refused too (n > 1 is never cached).
type Assembler struct {
	err  error
	size int

	id, model, fingerprint, tier string
	created                      int64
	role                         string
	content, refusal             []byte
	tools                        []assembledTool
	logprobs                     *logprobs
	finish                       string
	usage                        json.RawMessage
}

type assembledTool struct {
	id, typ    string
	name, args []byte
}

// Add takes the JSON of the next chat.completion.chunk; data is not kept.
func (a *Assembler) Add(data []byte) error {
	if a.err != nil {
		return a.err
	}
	if err := a.add(data); err != nil {
		*a = Assembler{err: err}
	}
	return a.err
}

func (a *Assembler) add(data []byte) error {
	var c chunkIn
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("cache: stream chunk: %w", err)
	}
	// Azure's first chunk (prompt filter results) has an empty id and model: the
	// first non-empty values are the answer's.
	setOnce(&a.id, c.ID)
	setOnce(&a.model, c.Model)
	setOnce(&a.fingerprint, c.SystemFingerprint)
	setOnce(&a.tier, c.ServiceTier)
	if a.created == 0 {
		a.created = c.Created
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			return ErrNotReplayable
		}
		if err := a.delta(ch.Delta); err != nil {
			return err
		}
		if err := a.addLogprobs(ch.Logprobs); err != nil {
			return err
		}
		if ch.FinishReason != nil {
			a.finish = *ch.FinishReason
		}
	}
	if !isNull(c.Usage) {
		// Checked now, so that a replay of the assembled answer cannot fail on it.
		var u providers.Usage
		if err := json.Unmarshal(c.Usage, &u); err != nil {
			return fmt.Errorf("cache: stream usage: %w", err)
		}
		a.usage = append(a.usage[:0], c.Usage...)
	}
	if a.size > maxAssembled {
		return ErrTooLarge
	}
	return nil
}

func (a *Assembler) delta(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	unknown := false
	if err := jsonfield.Each(raw, func(k, v []byte) bool {
		switch string(k) {
		case "role", "content", "refusal", "tool_calls":
		default:
			unknown = !isNull(v) && !bytes.Equal(v, []byte(`""`))
		}
		return !unknown
	}); err != nil {
		return fmt.Errorf("cache: stream delta: %w", err)
	}
	if unknown {
		return ErrNotReplayable
	}
	var d delta
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("cache: stream delta: %w", err)
	}
	if d.Role != "" {
		a.role = d.Role
	}
	if d.Content != nil {
		a.content = append(a.content, *d.Content...)
		a.size += len(*d.Content)
	}
	if d.Refusal != nil {
		a.refusal = append(a.refusal, *d.Refusal...)
		a.size += len(*d.Refusal)
	}
	for _, tc := range d.ToolCalls {
		// Calls are opened in order, index 0 first, as OpenAI streams them; a gap
		// would leave a call this package cannot fill in.
		if tc.Index == nil || *tc.Index < 0 || *tc.Index > len(a.tools) {
			return ErrNotReplayable
		}
		if *tc.Index == len(a.tools) {
			a.tools = append(a.tools, assembledTool{})
		}
		t := &a.tools[*tc.Index]
		if tc.Type != "" && tc.Type != "function" {
			return ErrNotReplayable
		}
		setOnce(&t.id, tc.ID)
		setOnce(&t.typ, tc.Type)
		// Name fragments are joined, as openai-go's accumulator joins them.
		t.name = append(t.name, tc.Function.Name...)
		t.args = append(t.args, tc.Function.Arguments...)
		a.size += len(tc.ID) + len(tc.Function.Name) + len(tc.Function.Arguments)
	}
	return nil
}

func (a *Assembler) addLogprobs(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var lp logprobs
	if err := json.Unmarshal(raw, &lp); err != nil {
		return fmt.Errorf("cache: stream logprobs: %w", err)
	}
	if a.logprobs == nil {
		a.logprobs = new(logprobs)
	}
	a.logprobs.Content = append(a.logprobs.Content, lp.Content...)
	a.logprobs.Refusal = append(a.logprobs.Refusal, lp.Refusal...)
	a.size += len(raw)
	return nil
}

// Completion is the chat.completion of the stream so far; ErrIncomplete until a
// finish reason was seen. The content is null, as in OpenAI's non-streamed answers,
// when the message is only tool calls or a refusal.
func (a *Assembler) Completion() ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	if a.finish == "" {
		return nil, ErrIncomplete
	}
	m := message{Role: a.role}
	if m.Role == "" {
		m.Role = "assistant"
	}
	if len(a.content) > 0 || (len(a.tools) == 0 && len(a.refusal) == 0) {
		s := string(a.content)
		m.Content = &s
	}
	if len(a.refusal) > 0 {
		s := string(a.refusal)
		m.Refusal = &s
	}
	for _, t := range a.tools {
		typ := t.typ
		if typ == "" {
			typ = "function"
		}
		m.ToolCalls = append(m.ToolCalls, toolCall{ID: t.id, Type: typ, Function: function{Name: string(t.name), Arguments: string(t.args)}})
	}
	ch := choice{Message: m, FinishReason: a.finish}
	if a.logprobs != nil {
		lp, err := encode(a.logprobs)
		if err != nil {
			return nil, err
		}
		ch.Logprobs = lp
	}
	return encode(completion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model,
		Choices: []choice{ch}, Usage: a.usage, SystemFingerprint: a.fingerprint, ServiceTier: a.tier,
	})
}

func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
