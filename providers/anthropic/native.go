package anthropic

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/sse"
)

// Native Messages: a Messages dialect client is served by pass-through. The
// client's body goes to POST /v1/messages with only "model" rewritten (and
// "stream" set to what the method says), with the provider's x-api-key and
// anthropic-version, and the client's anthropic-beta flags after the configured
// ones; the answer comes back byte for byte. count_tokens goes to POST
// /v1/messages/count_tokens (https://platform.claude.com/docs/en/api/messages-count-tokens),
// exact.

var (
	_ providers.Messenger    = (*Provider)(nil)
	_ providers.TokenCounter = (*Provider)(nil)
)

// SpeaksMessages: every model of the Anthropic API does.
func (p *Provider) SpeaksMessages(string) bool { return true }

// Messages sends a non-streamed Messages request by pass-through.
func (p *Provider) Messages(ctx context.Context, call *providers.MessagesCall) (*providers.Response, error) {
	body, err := nativeBody(call, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.postNative(ctx, p.url, body, call, false)
	if err != nil {
		return nil, err
	}
	return readMessage(resp, p.limit.Chat())
}

// MessagesStream sends a streamed Messages request by pass-through.
func (p *Provider) MessagesStream(ctx context.Context, call *providers.MessagesCall) (providers.Stream, error) {
	body, err := nativeBody(call, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.postNative(ctx, p.url, body, call, true)
	if err != nil {
		return nil, err
	}
	return openNativeStream(resp)
}

// CountTokens counts the input tokens of a count_tokens request, exactly.
func (p *Provider) CountTokens(ctx context.Context, call *providers.MessagesCall) (int, error) {
	body, err := setModel(call.Body, call.Model)
	if err != nil {
		return 0, err
	}
	resp, err := p.postNative(ctx, p.base+"/v1/messages/count_tokens", body, call, false)
	if err != nil {
		return 0, err
	}
	return readCount(resp)
}

// postNative posts a native body with the configured and the client's beta flags.
func (p *Provider) postNative(ctx context.Context, url string, body providers.Body, call *providers.MessagesCall, stream bool) (*http.Response, error) {
	req, err := providers.NewPostBody(ctx, url, body, p.headers, call.Header, stream)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassInternal, Err: err, Message: "building upstream request"}
	}
	if beta := providers.MergeBeta(p.beta, call.Beta); len(beta) > 0 {
		req.Header.Set("Anthropic-Beta", strings.Join(beta, ","))
	}
	return p.do(req)
}

// nativeBody is the client's body for the upstream model, with no copy and, when
// the dialect noted the body's layout, no second pass: "model" rewritten and
// "stream" as the method says (true added when absent, false written only where
// the client sent the member), every other byte the client's, sent in place. Not
// a decode and re-encode.
func nativeBody(call *providers.MessagesCall, stream bool) (providers.Body, error) {
	if call.Layout != nil {
		return jsonfield.SpliceAt(call.Body, *call.Layout, modelEdit(call.Model), streamEdit(stream)), nil
	}
	out, err := jsonfield.Splice(call.Body, modelEdit(call.Model), streamEdit(stream))
	if err != nil {
		return nil, notObject()
	}
	return out, nil
}

func setModel(body []byte, model string) (providers.Body, error) {
	out, err := jsonfield.Splice(body, modelEdit(model))
	if err != nil {
		return nil, notObject()
	}
	return out, nil
}

func modelEdit(model string) jsonfield.Edit {
	return jsonfield.Edit{Key: "model", Value: providers.AppendJSONString(nil, model), Add: true}
}

func streamEdit(stream bool) jsonfield.Edit {
	if stream {
		return jsonfield.Edit{Key: "stream", Value: []byte("true"), Add: true}
	}
	return jsonfield.Edit{Key: "stream", Value: []byte("false")}
}

func notObject() *providers.Error {
	return providers.InvalidRequest("", "The request body must be a JSON object.")
}

// readMessage reads a non-streamed answer: the upstream's bytes, and the usage
// and model they carry.
func readMessage(resp *http.Response, limit int64) (*providers.Response, error) {
	status := resp.StatusCode
	raw, err := providers.ReadResponse(resp, limit)
	if err != nil {
		return nil, err
	}
	u, model, err := providers.MessageHead(raw)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: status, Err: err,
			Message: "upstream sent an unreadable response"}
	}
	return &providers.Response{Body: raw, Usage: u.Canonical(), Model: model}, nil
}

// readCount reads a count_tokens answer, {"input_tokens": N}.
func readCount(resp *http.Response) (int, error) {
	status := resp.StatusCode
	raw, err := providers.ReadResponse(resp, 1<<20)
	if err != nil {
		return 0, err
	}
	var doc struct {
		InputTokens *int `json:"input_tokens"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.InputTokens == nil {
		return 0, &providers.Error{Class: providers.ClassDecode, Status: status, Err: err,
			Message: "upstream sent an unreadable token count"}
	}
	return *doc.InputTokens, nil
}

func openNativeStream(resp *http.Response) (providers.Stream, error) {
	if err := checkEventStream(resp); err != nil {
		return nil, err
	}
	return &nativeStream{body: resp.Body, r: sse.NewReader(resp.Body)}, nil
}

// nativeStream relays a Messages stream as it came: each event is a chunk, named,
// with the running usage on message_start and message_delta.
type nativeStream struct {
	body io.ReadCloser
	r    *sse.Reader
	ev   providers.MessagesEvents
	done bool
}

func (s *nativeStream) Recv() (providers.Chunk, error) {
	if s.done {
		return providers.Chunk{}, io.EOF
	}
	ev, err := s.r.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return providers.Chunk{}, &providers.Error{Class: providers.ClassConnection,
				Err: providers.ErrTruncated, Message: providers.ErrTruncated.Error()}
		}
		return providers.Chunk{}, providers.AsError(err)
	}
	c, err := s.ev.Next(ev.Name, ev.Data)
	if err != nil {
		return providers.Chunk{}, err
	}
	if c.Event == providers.EventError {
		return providers.Chunk{}, parseError(0, ev.Data)
	}
	s.done = s.ev.Stopped()
	return c, nil
}

func (s *nativeStream) Close() error { return s.body.Close() }
