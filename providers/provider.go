// Package providers holds the canonical request and response types (OpenAI's Chat
// Completions format), the Provider interface every backend implements, and the one
// classification of upstream failures. Each wire format lives in a subpackage.
package providers

import (
	"context"
	"net/http"
)

// Provider sends chat requests to one upstream account, region or endpoint.
type Provider interface {
	// Chat sends a non-streamed request.
	Chat(ctx context.Context, call *Call) (*Response, error)
	// ChatStream sends a streamed request. It returns once the upstream accepted it
	// (status 200); failures after that surface from Stream.Recv.
	ChatStream(ctx context.Context, call *Call) (Stream, error)
}

// Embedder is the optional capability of providers that serve embeddings.
type Embedder interface {
	Embed(ctx context.Context, call *EmbedCall) (*Response, error)
}

// Call is one attempt of a chat request on one target.
type Call struct {
	Request *Request
	// Model is the upstream model id of the target (Azure: the deployment name).
	Model string
	// Header carries request-scoped headers to forward upstream (traceparent); the
	// client's own headers, credentials above all, are never forwarded.
	Header http.Header
	// HideReasoning is set for aliases that opted out of reasoning text
	// (models[].reasoning_content: false): translating providers leave
	// reasoning_content out of answers and streams. Thinking blocks, which a
	// client must send back to continue a tool loop, still travel.
	HideReasoning bool
}

// EmbedCall is one attempt of an embeddings request on one target.
type EmbedCall struct {
	// Body is the client's embeddings request JSON.
	Body []byte
	// Input is the decoded request, for translating providers.
	Input  *EmbeddingRequest
	Model  string
	Header http.Header
}

// Response is a complete upstream answer in OpenAI's wire format.
type Response struct {
	// Body is an OpenAI chat.completion (or embeddings list) JSON document.
	Body  []byte
	Usage Usage
	// Model is the model the upstream says served the request, when known.
	Model string
}

// Stream is an upstream stream, translated to OpenAI chat.completion.chunk events.
// Recv is not safe for concurrent use; Close may be called at any time, once.
type Stream interface {
	// Recv returns the next chunk. Its Data is valid until the next call. After the
	// upstream's terminal event it returns io.EOF; a stream that ends without one
	// returns an *Error wrapping ErrTruncated; an error event inside the stream is an
	// *Error of its class.
	Recv() (Chunk, error)
	Close() error
}

// Chunk is one chat.completion.chunk, or one event of a Messages API stream.
type Chunk struct {
	// Data is the chunk's JSON, without SSE framing.
	Data []byte
	// Event is the Messages API event name (message_start, content_block_delta,
	// ...) of a native Messages stream; empty for chat.completion.chunks.
	Event string
	// Usage is set on the chunk that carries the request's usage. In a Messages
	// stream it is the running total: the last chunk that carries one holds the
	// request's usage.
	Usage *Usage
	// UsageOnly marks the final usage chunk (empty choices), sent to the client only
	// when it asked for stream usage.
	UsageOnly bool
}
