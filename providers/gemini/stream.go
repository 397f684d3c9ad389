package gemini

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/sse"
)

// streamGenerateContent?alt=sse sends each partial GenerateContentResponse as one
// SSE event. There is no terminal marker: the last event carries the finishReason
// (and the final usageMetadata) and the server closes the stream. So the finish
// and usage chunks are written at EOF, once the stream is known to be complete; an
// EOF before any finishReason is a cut stream. Gemini sends whole function calls,
// never fragments: each becomes a ToolCallStart and one ToolCallArgs chunk.

// phase is where a stream is after its upstream events.
type phase uint8

const (
	phaseEvents phase = iota // translating upstream events
	phaseFinish              // upstream ended after a finishReason: finish chunk next
	phaseUsage               // usage chunk next
	phaseDone                // io.EOF
)

type stream struct {
	body    io.ReadCloser
	r       *sse.Reader
	model   string
	created int64

	enc        *providers.StreamEncoder // made at the first event, which names the response
	responseID string
	view       eventView    // the current event
	parts      []streamPart // its parts not yet translated
	args       string       // arguments of the call whose ToolCallStart was sent, next to send
	textSig    string       // a text part's thought signature, sent next (toolids.go)
	text       []byte       // unescaped text of the current part
	tools      int          // function calls so far: the index of the next one
	finish     string       // the Gemini finishReason, once seen
	usage      usageMetadata
	final      providers.Usage // the usage chunk's, translated at the end
	phase      phase
}

func newStream(body io.ReadCloser, model string) *stream {
	return &stream{body: body, r: sse.NewReader(body), model: model, created: time.Now().Unix()}
}

func (s *stream) Recv() (providers.Chunk, error) {
	for {
		if s.textSig != "" {
			sig := s.textSig
			s.textSig = ""
			return providers.Chunk{Data: s.enc.Thinking(textSignatureBlock(sig))}, nil
		}
		if len(s.parts) > 0 {
			data, err := s.nextPart()
			if err != nil {
				return providers.Chunk{}, err
			}
			if data != nil {
				return providers.Chunk{Data: data}, nil
			}
			continue
		}
		switch s.phase {
		case phaseFinish:
			s.phase = phaseUsage
			return providers.Chunk{Data: s.enc.Finish(finishReason(s.finish, s.tools > 0))}, nil
		case phaseUsage:
			s.phase = phaseDone
			s.final = translateUsage(&s.usage)
			return providers.Chunk{Data: s.enc.Usage(s.final), Usage: &s.final, UsageOnly: true}, nil
		case phaseDone:
			return providers.Chunk{}, io.EOF
		}
		first := s.enc == nil
		if err := s.read(); err != nil {
			return providers.Chunk{}, err
		}
		if first && s.enc != nil {
			return providers.Chunk{Data: s.enc.Role()}, nil
		}
	}
}

// nextPart translates the next part, or returns nil for a part that says nothing
// to the client (empty text carrying only a signature). Thought summaries become
// reasoning_content.
func (s *stream) nextPart() ([]byte, error) {
	p := &s.parts[0]
	switch {
	case p.call != nil && !p.thought:
		if s.args == "" {
			var fc functionCall
			if err := json.Unmarshal(p.call, &fc); err != nil {
				return nil, malformed(err)
			}
			sig, ok := jsonstr.Unescape(nil, p.signature)
			if !ok {
				return nil, malformed(errMalformed)
			}
			s.args = argsString(fc.Args)
			id := toolCallID(s.responseID, s.tools, &fc, s.args, string(sig))
			return s.enc.ToolCallStart(s.tools, id, fc.Name), nil
		}
		args := s.args
		s.args = ""
		s.parts = s.parts[1:]
		s.tools++
		return s.enc.ToolCallArgs(s.tools-1, args), nil
	case len(p.text) == 0:
		s.parts = s.parts[1:]
		return nil, s.noteTextSignature(p)
	default:
		s.parts = s.parts[1:]
		if err := s.noteTextSignature(p); err != nil {
			return nil, err
		}
		text := p.text
		if p.escaped {
			var ok bool
			if s.text, ok = jsonstr.Unescape(s.text[:0], p.text); !ok {
				return nil, malformed(errMalformed)
			}
			text = s.text
		}
		if p.thought {
			// A thought summary (includeThoughts was asked for).
			return s.enc.Reasoning(jsonstr.View(text)), nil
		}
		return s.enc.Text(jsonstr.View(text)), nil
	}
}

// read takes the next upstream event, or moves to the finish at the end.
func (s *stream) read() error {
	ev, err := s.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if s.finish != "" && errors.Is(err, io.EOF) {
				s.phase = phaseFinish
				return nil
			}
			return &providers.Error{Class: providers.ClassConnection, Err: providers.ErrTruncated,
				Message: providers.ErrTruncated.Error()}
		}
		return providers.AsError(err)
	}
	if err := scanEvent(ev.Data, &s.view); err != nil {
		return malformed(err)
	}
	if s.view.special {
		if err := specialEvent(ev.Data); err != nil {
			return err
		}
	}
	if s.view.hasUsage {
		s.usage = s.view.usage
	}
	if s.enc == nil {
		s.startEncoder(string(s.view.responseID), string(s.view.modelVersion))
	}
	s.parts = s.view.parts
	if len(s.view.finishReason) > 0 {
		s.finish = string(s.view.finishReason)
	}
	return nil
}

func malformed(err error) *providers.Error {
	return &providers.Error{Class: providers.ClassDecode, Err: err, Message: "Gemini sent a malformed stream event"}
}

// specialEvent decodes an event with an error or promptFeedback member: the error
// it reports, or a blocked prompt (which Gemini reports in the first event, without
// candidates); nil when neither, and the event is translated as any other.
func specialEvent(data []byte) error {
	var g generateResponse
	if err := json.Unmarshal(data, &g); err != nil {
		return malformed(err)
	}
	if g.Error != nil {
		return streamError(g.Error)
	}
	if len(g.Candidates) == 0 {
		if e := blockedError(g.PromptFeedback); e != nil {
			return e
		}
	}
	return nil
}

// streamError classifies an error sent after the stream began. The caller's own
// mistakes were refused before the 200, so what is left says the upstream failed:
// only rate limits, quota, timeouts, context length and content filters keep
// their own class; everything else is the upstream being unavailable.
func streamError(ae *apiError) *providers.Error {
	e := classified(0, ae)
	switch e.Class {
	case providers.ClassRateLimited, providers.ClassQuota, providers.ClassContextLength,
		providers.ClassContentFilter, providers.ClassTimeout:
	default:
		e.Class = providers.ClassUnavailable
	}
	return e
}

func (s *stream) startEncoder(responseID, modelVersion string) {
	s.responseID = responseID
	if modelVersion != "" {
		s.model = modelVersion
	}
	s.enc = providers.NewStreamEncoder(completionID(responseID), s.model, s.created)
}

func (s *stream) Close() error { return s.body.Close() }
