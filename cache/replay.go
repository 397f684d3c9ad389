package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"unicode/utf8"

	"github.com/switchyard/switchyard/providers"
)

// maxPiece caps a replayed content delta in bytes when text has no whitespace to
// split at (CJK, base64, long URLs).
const maxPiece = 64

// Replay turns a cached answer into the chunks of a stream, in the order an upstream
// sends them: the role, the content in pieces of about a word (so a client renders a
// stream, not one block), a refusal likewise, each tool call as its id and name then
// its arguments, the finish reason, and the usage chunk (UsageOnly, which the proxy
// drops unless the client asked for usage). Every chunk has the stored id, created
// and model, as OpenAI's do.
//
// The usage reported is the stored completion's, the same a non-streamed hit shows
// (see the package comment); the proxy must not bill it. When the answer has log
// probabilities, its content goes out in one delta carrying all of them, since the
// token boundaries of a split would not match theirs.
func Replay(e *Entry) ([]providers.Chunk, error) {
	var c completion
	if err := json.Unmarshal(e.Completion, &c); err != nil {
		return nil, fmt.Errorf("cache: stored completion: %w", err)
	}
	if len(c.Choices) != 1 {
		return nil, ErrNotReplayable
	}
	ch := &c.Choices[0]
	m := &ch.Message
	if !isNull(m.Audio) || !isNull(m.FunctionCall) || !isEmptyList(m.Annotations) {
		return nil, ErrNotReplayable
	}
	for _, tc := range m.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			return nil, ErrNotReplayable
		}
	}
	r := replayer{
		head:  chunk{ID: c.ID, Object: "chat.completion.chunk", Created: c.Created, Model: c.Model, SystemFingerprint: c.SystemFingerprint, ServiceTier: c.ServiceTier},
		index: ch.Index,
	}
	if !isNull(ch.Logprobs) {
		r.logprobs = ch.Logprobs
	}
	r.size(m)
	empty := ""
	r.send(delta{Role: "assistant", Content: &empty}, nil, nil)
	r.text(m.Content, func(s *string) delta { return delta{Content: s} })
	r.text(m.Refusal, func(s *string) delta { return delta{Refusal: s} })
	for i, tc := range m.ToolCalls {
		r.send(delta{ToolCalls: []toolDelta{{Index: &i, ID: tc.ID, Type: "function", Function: functionDelta{Name: tc.Function.Name}}}}, nil, nil)
		if tc.Function.Arguments != "" {
			r.send(delta{ToolCalls: []toolDelta{{Index: &i, Function: functionDelta{Arguments: tc.Function.Arguments}}}}, nil, nil)
		}
	}
	finish := ch.FinishReason
	if finish == "" {
		finish = providers.FinishStop
	}
	r.send(delta{}, &finish, r.logprobs) // log probabilities not sent with text: a tool call answer's
	r.usage(c.Usage, e.Usage)
	if r.err != nil {
		return nil, r.err
	}
	return r.chunks, nil
}

type replayer struct {
	head     chunk
	index    int
	logprobs json.RawMessage // to send with the text, or the finish when there is none
	chunks   []providers.Chunk
	err      error

	// One encoder and one growing arena for every chunk's bytes: a replay of a long
	// answer writes hundreds of chunks, and allocating each apart dominated its cost.
	buf    bytes.Buffer
	enc    *json.Encoder
	arena  []byte
	choice [1]chunkChoice
}

// size allocates the chunks and their bytes at once: a chunk is its head, about
// chunkOverhead bytes of choice, and its piece of the answer.
func (r *replayer) size(m *message) {
	n := 4 + 2*len(m.ToolCalls) // role, finish, usage, and one spare
	for _, s := range []*string{m.Content, m.Refusal} {
		if s != nil {
			for range pieces(*s) {
				n++
			}
		}
	}
	const chunkOverhead = 160
	head := len(r.head.ID) + len(r.head.Model) + len(r.head.SystemFingerprint) + len(r.head.ServiceTier) + chunkOverhead
	text := len(r.logprobs)
	for _, s := range []*string{m.Content, m.Refusal} {
		if s != nil {
			text += len(*s) + len(*s)/8 // room for escapes
		}
	}
	for _, tc := range m.ToolCalls {
		text += len(tc.ID) + len(tc.Function.Name) + len(tc.Function.Arguments)*5/4
	}
	r.chunks = make([]providers.Chunk, 0, n)
	r.arena = make([]byte, 0, n*head+text)
}

// send emits one delta chunk, with log probabilities lp when not nil.
func (r *replayer) send(d delta, finish *string, lp json.RawMessage) {
	c := r.head
	r.choice[0] = chunkChoice{Index: r.index, Delta: d, Logprobs: lp, FinishReason: finish}
	c.Choices = r.choice[:]
	r.emit(c, nil)
}

func (r *replayer) emit(c chunk, u *providers.Usage) {
	if r.err != nil {
		return
	}
	if r.enc == nil {
		r.enc = json.NewEncoder(&r.buf)
		r.enc.SetEscapeHTML(false) // as encode: no HTML escaping
	}
	r.buf.Reset()
	if err := r.enc.Encode(c); err != nil {
		r.err = err
		return
	}
	start := len(r.arena)
	r.arena = append(r.arena, bytes.TrimSuffix(r.buf.Bytes(), []byte("\n"))...)
	// Capped, so that appending to one chunk's Data cannot overwrite the next.
	data := r.arena[start:len(r.arena):len(r.arena)]
	r.chunks = append(r.chunks, providers.Chunk{Data: data, Usage: u, UsageOnly: u != nil})
}

// text sends s in pieces, or whole with the pending log probabilities.
func (r *replayer) text(s *string, d func(*string) delta) {
	if s == nil || *s == "" {
		return
	}
	if r.logprobs != nil {
		r.send(d(s), nil, r.logprobs)
		r.logprobs = nil
		return
	}
	for p := range pieces(*s) {
		r.send(d(&p), nil, nil)
	}
}

// usage sends the usage chunk: the stored completion's usage object as it is (so
// details such as cached or reasoning tokens survive), or u when it had none.
func (r *replayer) usage(stored json.RawMessage, u providers.Usage) {
	if isNull(stored) {
		data, err := json.Marshal(u)
		if err != nil {
			r.err = err
			return
		}
		stored = data
	} else if err := json.Unmarshal(stored, &u); err != nil {
		r.err = fmt.Errorf("cache: stored usage: %w", err)
		return
	}
	c := r.head
	c.Choices = []chunkChoice{}
	c.Usage = stored
	r.emit(c, &u)
}

// pieces splits text into stream deltas: each word with the whitespace after it,
// and runs without whitespace every maxPiece bytes, on a rune boundary.
func pieces(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			i := 0
			for i < len(s) && i < maxPiece && !isSpace(s[i]) {
				i++
			}
			if i == maxPiece && i < len(s) {
				for i > 1 && !utf8.RuneStart(s[i]) {
					i--
				}
			}
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if !yield(s[:i]) {
				return
			}
			s = s[i:]
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// isEmptyList reports an absent, null or empty JSON array.
func isEmptyList(v json.RawMessage) bool {
	if isNull(v) {
		return true
	}
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '[' {
		return false
	}
	return len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}
