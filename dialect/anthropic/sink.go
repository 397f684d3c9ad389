package anthropic

import (
	"io"

	"github.com/switchyard/switchyard/providers"
)

// nativeSink relays a native target's events as they came, in Anthropic's framing:
// the stream's own message_stop ends it.
type nativeSink struct{ buf []byte }

func (s *nativeSink) Chunk(w io.Writer, c providers.Chunk) error {
	s.buf = AppendEvent(s.buf[:0], c.Event, c.Data)
	_, err := w.Write(s.buf)
	return err
}

func (*nativeSink) Done(io.Writer) error { return nil }

func (s *nativeSink) Fail(w io.Writer, e *providers.Error) error {
	s.buf = ErrorEvent(s.buf[:0], FromProvider(e))
	_, err := w.Write(s.buf)
	return err
}

// translatedSink turns a canonical stream into Anthropic's events. A chunk it cannot
// translate ends the stream with an error event; what follows is dropped.
type translatedSink struct {
	t      *StreamTranslator
	failed bool
}

func (s *translatedSink) Chunk(w io.Writer, c providers.Chunk) error {
	if s.failed {
		return nil
	}
	out, err := s.t.Chunk(c.Data)
	if err != nil {
		s.failed = true
		out = s.t.Fail(FromProvider(providers.AsError(err)))
	} else if c.Usage != nil {
		s.t.SetUsage(*c.Usage)
	}
	_, werr := w.Write(out)
	return werr
}

func (s *translatedSink) Done(w io.Writer) error {
	if s.failed {
		return nil
	}
	_, err := w.Write(s.t.Finish())
	return err
}

func (s *translatedSink) Fail(w io.Writer, e *providers.Error) error {
	if s.failed {
		return nil
	}
	_, err := w.Write(s.t.Fail(FromProvider(e)))
	return err
}
