package providers

import (
	"context"
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

// Messenger is the optional capability of providers whose targets speak Anthropic's
// Messages API natively (Anthropic itself, Claude on Bedrock through InvokeModel,
// Claude on Vertex AI through rawPredict), found by type assertion like Embedder.
// A client of the Messages dialect is then served by pass-through: the client's
// body goes upstream with only "model" rewritten (and what the cloud requires moved
// where it requires it), and the upstream's answer comes back byte for byte, so that
// thinking blocks and their signatures, cache_control, citations, server tools and
// fields Switchyard does not know survive in both directions.
type Messenger interface {
	// SpeaksMessages reports whether the target's upstream model is served through
	// the Messages API (on Bedrock: Claude models only).
	SpeaksMessages(model string) bool
	// Messages sends a non-streamed request. Response.Body is the upstream's
	// Message JSON byte for byte; Response.Usage is in canonical terms
	// (MessagesUsage.Canonical).
	Messages(ctx context.Context, call *MessagesCall) (*Response, error)
	// MessagesStream sends a streamed request; its chunks are the upstream's
	// events (Chunk.Event names each, Chunk.Data is its JSON). It returns once
	// the upstream accepted the request; failures after that, an "error" event
	// included, surface from Recv as *Error.
	MessagesStream(ctx context.Context, call *MessagesCall) (Stream, error)
}

// TokenCounter is the optional capability of Messengers whose cloud counts the
// input tokens of a Messages request exactly (Anthropic's count_tokens, Bedrock's
// CountTokens, Vertex AI's count-tokens). Without it the dialect estimates.
type TokenCounter interface {
	// CountTokens returns the input tokens of call.Body, a count_tokens request
	// (a Messages request without max_tokens).
	CountTokens(ctx context.Context, call *MessagesCall) (int, error)
}

// MessagesCall is one attempt of a Messages API request on one target.
type MessagesCall struct {
	// Body is the client's Messages (or count_tokens) request JSON. Providers copy
	// before editing; it is never modified. Whether the upstream streams is the
	// method's decision (Messages or MessagesStream), whatever "stream" says.
	Body []byte
	// Layout, when set, is where Body's top-level members lie (at least "model"
	// and "stream"), noted by the dialect's own pass over it, so that a native
	// provider edits Body without a second pass over hundreds of kilobytes.
	Layout *jsonfield.Layout
	// Model is the upstream model id of the target.
	Model string
	// Beta are the client's anthropic-beta flags, one per element. Providers send
	// them where their cloud takes them, with their own configured flags, and drop
	// the ones their cloud rejects (reporting them to DroppedBeta).
	Beta []string
	// Header carries request-scoped headers to forward upstream (traceparent);
	// never the client's credentials.
	Header http.Header
	// DroppedBeta, when set, is told the flags a provider did not send because
	// its cloud would reject the request for them (the dialect logs them at
	// debug level: a client asking for a beta the cloud lacks is normal).
	DroppedBeta func(flags []string)
}

// Dropped reports flags to the call's DroppedBeta.
func (c *MessagesCall) Dropped(flags []string) {
	if len(flags) > 0 && c.DroppedBeta != nil {
		c.DroppedBeta(flags)
	}
}

// SplitBeta splits anthropic-beta header values ("a,b", possibly repeated) into
// flags, without empty ones or duplicates.
func SplitBeta(values []string) []string {
	var out []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" && !containsString(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// MergeBeta joins configured flags and the client's, without duplicates, the
// configured ones first.
func MergeBeta(configured, client []string) []string {
	out := make([]string, 0, len(configured)+len(client))
	for _, f := range configured {
		if !containsString(out, f) {
			out = append(out, f)
		}
	}
	for _, f := range client {
		if !containsString(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// FilterBeta keeps the flags the allow list holds and returns the others apart.
func FilterBeta(flags []string, allow map[string]bool) (kept, dropped []string) {
	for _, f := range flags {
		if allow[f] {
			kept = append(kept, f)
		} else {
			dropped = append(dropped, f)
		}
	}
	return kept, dropped
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
