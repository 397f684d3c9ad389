package gemini

import (
	"encoding/json"
	"errors"
	"io"
	"time"

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
	parts      []part // parts of candidate 0 of the current event not yet translated
	argsNext   bool   // the first part's ToolCallStart was sent; its arguments are next
	tools      int    // function calls so far: the index of the next one
	finish     string // the Gemini finishReason, once seen
	usage      providers.Usage
	phase      phase
}

func newStream(body io.ReadCloser, model string) *stream {
	return &stream{body: body, r: sse.NewReader(body), model: model, created: time.Now().Unix()}
}

func (s *stream) Recv() (providers.Chunk, error) {
	for {
		if len(s.parts) > 0 {
			if data := s.nextPart(); data != nil {
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
			return providers.Chunk{Data: s.enc.Usage(s.usage), Usage: &s.usage, UsageOnly: true}, nil
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
// to the client (thought summaries, empty text carrying only a signature).
func (s *stream) nextPart() []byte {
	p := &s.parts[0]
	switch {
	case p.FunctionCall != nil && !p.Thought:
		if !s.argsNext {
			s.argsNext = true
			id := toolCallID(s.responseID, s.tools, p.FunctionCall, p.ThoughtSignature)
			return s.enc.ToolCallStart(s.tools, id, p.FunctionCall.Name)
		}
		s.argsNext = false
		s.parts = s.parts[1:]
		s.tools++
		return s.enc.ToolCallArgs(s.tools-1, argsString(p.FunctionCall.Args))
	case p.Thought || p.Text == "":
		s.parts = s.parts[1:]
		return nil
	default:
		s.parts = s.parts[1:]
		return s.enc.Text(p.Text)
	}
}

// read decodes the next upstream event, or moves to the finish at the end.
func (s *stream) read() error {
	ev, err := s.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if s.finish != "" && errors.Is(err, io.EOF) {
				s.startEncoder("", "")
				s.phase = phaseFinish
				return nil
			}
			return &providers.Error{Class: providers.ClassConnection, Err: providers.ErrTruncated,
				Message: providers.ErrTruncated.Error()}
		}
		return providers.AsError(err)
	}
	g, err := decodeEvent(ev.Data)
	if err != nil {
		return err
	}
	if g.UsageMetadata != nil {
		s.usage = translateUsage(g.UsageMetadata)
	}
	s.startEncoder(g.ResponseID, g.ModelVersion)
	for i := range g.Candidates {
		c := &g.Candidates[i]
		if c.Index != 0 {
			continue // n > 1 is refused for streams; ignore strays
		}
		s.parts = c.Content.Parts
		if c.FinishReason != "" {
			s.finish = c.FinishReason
		}
	}
	return nil
}

// decodeEvent reads one event: a partial response, an error object, or a blocked
// prompt (which Gemini reports in the first event, without candidates).
func decodeEvent(data []byte) (*generateResponse, error) {
	var g generateResponse
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err,
			Message: "Gemini sent a malformed stream event"}
	}
	if g.Error != nil {
		return nil, streamError(g.Error)
	}
	if len(g.Candidates) == 0 {
		if e := blockedError(g.PromptFeedback); e != nil {
			return nil, e
		}
	}
	return &g, nil
}

// streamError classifies an error sent after the stream began. The caller's own
// mistakes were refused before the 200, so what is left says the upstream failed:
// only rate limits, context length and content filters keep their own class.
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
	if s.enc != nil {
		return
	}
	s.responseID = responseID
	if modelVersion != "" {
		s.model = modelVersion
	}
	s.enc = providers.NewStreamEncoder(completionID(responseID), s.model, s.created)
}

func (s *stream) Close() error { return s.body.Close() }
