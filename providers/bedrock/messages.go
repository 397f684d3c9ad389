package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// Claude through InvokeModel and InvokeModelWithResponseStream: the native
// Messages path (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html).
// The body is the client's Messages body without "model" (it is in the path)
// and "stream" (the operation says it), with "anthropic_version":
// "bedrock-2023-05-31" and the client's anthropic-beta flags as the body's
// "anthropic_beta" array. InvokeModel answers the Message JSON as Anthropic
// would; the stream is AWS event-stream framing whose "chunk" events carry
// {"bytes": base64 of one Anthropic stream event}. CountTokens
// (API_runtime_CountTokens.html) counts an InvokeModel body exactly.

const (
	opInvokeStream = "invoke-with-response-stream"
	opCountTokens  = "count-tokens"
	// bedrockVersion is the anthropic_version Bedrock requires ("The value must
	// be bedrock-2023-05-31").
	bedrockVersion = "bedrock-2023-05-31"
)

// bedrockBeta are the anthropic_beta values Bedrock documents for Claude (the
// anthropic_beta parameter of the page above); Bedrock answers any other with
// ValidationException "invalid beta flag" (anthropics/claude-code#49370,
// #56595), so a client's flag outside the list is dropped and reported
// (MessagesCall.DroppedBeta), never sent. A flag AWS adds later is dropped until
// it is listed here.
var bedrockBeta = map[string]bool{
	"computer-use-2024-10-22":          true,
	"computer-use-2025-01-24":          true,
	"computer-use-2025-11-24":          true,
	"token-efficient-tools-2025-02-19": true,
	"interleaved-thinking-2025-05-14":  true,
	"output-128k-2025-02-19":           true,
	"dev-full-thinking-2025-05-14":     true,
	"context-1m-2025-08-07":            true,
	"context-management-2025-06-27":    true,
	"effort-2025-11-24":                true,
	"tool-search-tool-2025-10-19":      true,
	"tool-examples-2025-10-29":         true,
}

var (
	_ providers.Messenger    = (*Provider)(nil)
	_ providers.TokenCounter = (*Provider)(nil)
)

// SpeaksMessages reports whether model is a Claude model (a model id, an
// inference profile such as us.anthropic.claude-..., or an ARN naming one):
// those take Anthropic's Messages body through InvokeModel.
func (p *Provider) SpeaksMessages(model string) bool {
	return strings.Contains(model, "anthropic.claude")
}

// Messages sends a Messages request through InvokeModel.
func (p *Provider) Messages(ctx context.Context, call *providers.MessagesCall) (*providers.Response, error) {
	body, err := invokeBody(call.Body, p.messagesBeta(call), false)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, opInvoke, call.Model, plainBody(body), call.Header)
	if err != nil {
		return nil, err
	}
	raw, err := providers.ReadResponse(resp, p.limit.Chat())
	if err != nil {
		return nil, err
	}
	u, model, err := providers.MessageHead(raw)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode, Err: err,
			Message: "Bedrock sent an unreadable Claude response"}
	}
	if model == "" {
		model = call.Model
	}
	return &providers.Response{Body: raw, Usage: u.Canonical(), Model: model}, nil
}

// MessagesStream sends a Messages request through InvokeModelWithResponseStream.
func (p *Provider) MessagesStream(ctx context.Context, call *providers.MessagesCall) (providers.Stream, error) {
	body, err := invokeBody(call.Body, p.messagesBeta(call), false)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, opInvokeStream, call.Model, plainBody(body), call.Header)
	if err != nil {
		return nil, err
	}
	if err := checkEventStream(resp); err != nil {
		return nil, err
	}
	return &messagesStream{body: resp.Body, frames: newFrameReader(resp.Body)}, nil
}

// CountTokens counts the input tokens of a count_tokens request with Bedrock's
// CountTokens: {"input":{"invokeModel":{"body": base64 of the InvokeModel
// body}}} → {"inputTokens": N}. The body is validated as an InvokeModel body,
// which needs max_tokens; count_tokens requests have none, so max_tokens 1 is
// added (it does not change the input count). CountTokens takes foundation
// model ids, not inference profiles, so a cross-region profile's geography
// prefix (us., eu., apac., global., ...) is removed: the tokenizer is the
// model's.
func (p *Provider) CountTokens(ctx context.Context, call *providers.MessagesCall) (int, error) {
	inner, err := invokeBody(call.Body, p.messagesBeta(call), true)
	if err != nil {
		return 0, err
	}
	body := make([]byte, 0, base64.StdEncoding.EncodedLen(len(inner))+40)
	body = append(body, `{"input":{"invokeModel":{"body":"`...)
	body = base64.StdEncoding.AppendEncode(body, inner)
	body = append(body, `"}}}`...)
	resp, err := p.send(ctx, opCountTokens, FoundationModel(call.Model), plainBody(body), call.Header)
	if err != nil {
		return 0, err
	}
	raw, err := providers.ReadResponse(resp, 1<<20) // {"inputTokens": N}
	if err != nil {
		return 0, err
	}
	var doc struct {
		InputTokens *int `json:"inputTokens"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.InputTokens == nil {
		return 0, &providers.Error{Class: providers.ClassDecode, Status: resp.StatusCode, Err: err,
			Message: "Bedrock sent an unreadable token count"}
	}
	return *doc.InputTokens, nil
}

// FoundationModel is the foundation model id of a cross-region inference
// profile id ("us.anthropic.claude-..." → "anthropic.claude-..."); other ids are
// returned as they are.
func FoundationModel(model string) string {
	if geo, rest, ok := strings.Cut(model, "."); ok && strings.HasPrefix(rest, "anthropic.") &&
		len(geo) <= 7 && !strings.Contains(geo, ":") {
		return rest
	}
	return model
}

// messagesBeta is the client's flags Bedrock accepts; the others are reported.
func (p *Provider) messagesBeta(call *providers.MessagesCall) []string {
	kept, dropped := providers.FilterBeta(call.Beta, bedrockBeta)
	call.Dropped(dropped)
	return kept
}

// invokeBody builds the InvokeModel body of a Messages (or count_tokens) body in
// one pass: anthropic_version and anthropic_beta first, then the client's
// members in order, without model, stream and the client's own
// anthropic_version or anthropic_beta. Values are copied as they are.
// withMaxTokens adds max_tokens 1 when the body has none (CountTokens).
func invokeBody(body []byte, beta []string, withMaxTokens bool) ([]byte, error) {
	out := make([]byte, 0, len(body)+64)
	out = append(out, `{"anthropic_version":"`+bedrockVersion+`"`...)
	if len(beta) > 0 {
		out = append(out, `,"anthropic_beta":[`...)
		for i, f := range beta {
			if i > 0 {
				out = append(out, ',')
			}
			out = providers.AppendJSONString(out, f)
		}
		out = append(out, ']')
	}
	hasMax := false
	err := jsonfield.Each(body, func(k, v []byte) bool {
		switch string(k) {
		case "model", "stream", "anthropic_version", "anthropic_beta":
			return true
		case "max_tokens":
			hasMax = true
		}
		out = append(out, ',', '"')
		out = append(out, k...)
		out = append(out, '"', ':')
		out = append(out, v...)
		return true
	})
	if err != nil {
		return nil, providers.InvalidRequest("", "The request body must be a JSON object.")
	}
	if withMaxTokens && !hasMax {
		out = append(out, `,"max_tokens":1`...)
	}
	return append(out, '}'), nil
}

// messagesStream reads InvokeModelWithResponseStream: each "chunk" event's
// bytes are one Anthropic stream event, relayed as it came, named by its
// "type", with the running usage on message_start and message_delta.
type messagesStream struct {
	body   io.ReadCloser
	frames *frameReader
	f      frame
	buf    []byte // the decoded event, reused
	ev     providers.MessagesEvents
	done   bool
}

func (s *messagesStream) Recv() (providers.Chunk, error) {
	for {
		if s.done {
			_, _ = io.CopyN(io.Discard, s.body, maxDrain)
			return providers.Chunk{}, io.EOF
		}
		if err := readEvent(s.frames, &s.f); err != nil {
			return providers.Chunk{}, err
		}
		if string(s.f.eventType) != "chunk" {
			continue // no other event type is documented; a new one is not ours to read
		}
		data, err := s.decode(s.f.payload)
		if err != nil {
			return providers.Chunk{}, malformed(s.f.eventType, err)
		}
		c, err := s.ev.Next(nil, data)
		if err != nil {
			return providers.Chunk{}, err
		}
		if c.Event == providers.EventError {
			return providers.Chunk{}, anthropicStreamError(data)
		}
		s.done = s.ev.Stopped()
		return c, nil
	}
}

// decode returns the event JSON of a chunk payload, {"bytes": "<base64>"}.
func (s *messagesStream) decode(payload []byte) ([]byte, error) {
	v, err := jsonfield.Get(payload, "bytes")
	if err != nil {
		return nil, err
	}
	b64, ok := jsonstr.Contents(v)
	if !ok {
		return nil, fmt.Errorf(`chunk without "bytes"`)
	}
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	n, err = base64.StdEncoding.Decode(s.buf[:n], b64)
	if err != nil {
		return nil, err
	}
	return s.buf[:n], nil
}

func (s *messagesStream) Close() error {
	_ = s.body.Close()
	return nil
}

// anthropicStreamError classifies an Anthropic "error" event inside a chunk
// (Bedrock reports its own failures as exceptions; the model's arrive this way):
// {"type":"error","error":{"type":"overloaded_error","message":...}}.
func anthropicStreamError(data []byte) *providers.Error {
	var doc struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &doc)
	e := &providers.Error{Type: doc.Error.Type, Message: doc.Error.Message}
	switch doc.Error.Type {
	case "rate_limit_error":
		e.Class, e.Status = providers.ClassRateLimited, 429
	case "invalid_request_error":
		e.Class, e.Status = providers.ClassInvalidRequest, 400
	default: // overloaded_error, api_error, and what a later API version adds
		e.Class = providers.ClassUnavailable
	}
	if e.Message == "" {
		e.Message = "Claude failed while streaming"
	}
	return e
}
