package registry

import (
	"context"
	"io"

	"github.com/switchyard/switchyard/internal/scrub"
	"github.com/switchyard/switchyard/providers"
)

// scrubbed wraps a provider so that every error it returns, from Chat, ChatStream,
// Embed and a stream's Recv, is an *providers.Error whose text holds no secret:
// upstream error messages (whatever their status) may quote the credential the
// gateway sent, and they reach clients and logs from here. Two scrubbers apply: the
// provider's own credentials, which its upstream may echo even after a reload
// replaced them, and the configuration's secrets in force.
type scrubbed struct {
	p     providers.Provider
	own   *scrub.Scrubber
	every *scrub.Holder
}

type scrubbedEmbedder struct{ *scrubbed }

// scrubbedMessenger keeps the Messages capabilities (Messenger with TokenCounter, as
// every Messenger has them today), with or without Embedder.
type scrubbedMessenger struct{ *scrubbed }

type scrubbedMessengerEmbedder struct{ scrubbedMessenger }

func (m scrubbedMessengerEmbedder) Embed(ctx context.Context, call *providers.EmbedCall) (*providers.Response, error) {
	return scrubbedEmbedder{m.scrubbed}.Embed(ctx, call)
}

var (
	_ providers.Provider     = (*scrubbed)(nil)
	_ providers.Embedder     = scrubbedEmbedder{}
	_ providers.Messenger    = scrubbedMessenger{}
	_ providers.TokenCounter = scrubbedMessenger{}
	_ providers.Embedder     = scrubbedMessengerEmbedder{}
	_ providers.Messenger    = scrubbedMessengerEmbedder{}
)

// withScrubbing wraps p, keeping the optional capabilities it has (callers find them
// by type assertion): Embedder, and Messenger with TokenCounter.
func withScrubbing(p providers.Provider, own *scrub.Scrubber, every *scrub.Holder) providers.Provider {
	s := &scrubbed{p: p, own: own, every: every}
	_, embeds := p.(providers.Embedder)
	_, messenger := p.(providers.Messenger)
	_, counter := p.(providers.TokenCounter)
	messages := messenger && counter // every Messenger counts tokens today
	switch {
	case embeds && messages:
		return scrubbedMessengerEmbedder{scrubbedMessenger{s}}
	case messages:
		return scrubbedMessenger{s}
	case embeds:
		return scrubbedEmbedder{s}
	}
	return s
}

func (m scrubbedMessenger) SpeaksMessages(model string) bool {
	return m.p.(providers.Messenger).SpeaksMessages(model)
}

func (m scrubbedMessenger) Messages(ctx context.Context, call *providers.MessagesCall) (*providers.Response, error) {
	resp, err := m.p.(providers.Messenger).Messages(ctx, call)
	if err != nil {
		return nil, m.clean(err)
	}
	return resp, nil
}

func (m scrubbedMessenger) MessagesStream(ctx context.Context, call *providers.MessagesCall) (providers.Stream, error) {
	st, err := m.p.(providers.Messenger).MessagesStream(ctx, call)
	if err != nil {
		return nil, m.clean(err)
	}
	return &scrubbedStream{Stream: st, s: m.scrubbed}, nil
}

func (m scrubbedMessenger) CountTokens(ctx context.Context, call *providers.MessagesCall) (int, error) {
	n, err := m.p.(providers.TokenCounter).CountTokens(ctx, call)
	if err != nil {
		return n, m.clean(err)
	}
	return n, nil
}

func (s *scrubbed) Chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	resp, err := s.p.Chat(ctx, call)
	if err != nil {
		return nil, s.clean(err)
	}
	return resp, nil
}

func (s *scrubbed) ChatStream(ctx context.Context, call *providers.Call) (providers.Stream, error) {
	st, err := s.p.ChatStream(ctx, call)
	if err != nil {
		return nil, s.clean(err)
	}
	return &scrubbedStream{Stream: st, s: s}, nil
}

func (e scrubbedEmbedder) Embed(ctx context.Context, call *providers.EmbedCall) (*providers.Response, error) {
	resp, err := e.p.(providers.Embedder).Embed(ctx, call)
	if err != nil {
		return nil, e.clean(err)
	}
	return resp, nil
}

type scrubbedStream struct {
	providers.Stream
	s *scrubbed
}

func (st *scrubbedStream) Recv() (providers.Chunk, error) {
	c, err := st.Stream.Recv()
	if err != nil && err != io.EOF { // io.EOF is compared by identity
		return c, st.s.clean(err)
	}
	return c, err
}

// clean returns err as a new *providers.Error with its text fields scrubbed and its
// cause's text too (errors.Is still reaches the cause). The provider's error is
// copied, never changed: it may be shared.
func (s *scrubbed) clean(err error) *providers.Error {
	e := *providers.AsError(err)
	every := s.every.Load()
	text := func(v string) string { return every.String(s.own.String(v)) }
	e.Message, e.Type, e.Code, e.Param = text(e.Message), text(e.Type), text(e.Code), text(e.Param)
	if e.Err != nil {
		e.Err = every.Error(s.own.Error(e.Err))
	}
	return &e
}
