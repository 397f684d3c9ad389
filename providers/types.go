package providers

import (
	"bytes"
	"encoding/json"
	"errors"
)

// The canonical types are Go structs of OpenAI's Chat Completions wire format,
// https://platform.openai.com/docs/api-reference/chat. Translating providers decode
// a request into them; pass-through providers never need to.

// ChatRequest is a chat completion request.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Stop                Stop            `json:"stop,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
	Metadata            map[string]any  `json:"metadata,omitempty"`
	Logprobs            *bool           `json:"logprobs,omitempty"`
	TopLogprobs         *int            `json:"top_logprobs,omitempty"`
	LogitBias           map[string]any  `json:"logit_bias,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
}

// MaxOutputTokens is max_completion_tokens, or the deprecated max_tokens, or 0.
func (r *ChatRequest) MaxOutputTokens() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

// StreamOptions of a streamed request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one turn of a conversation.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Refusal    string     `json:"refusal,omitempty"`
	// ReasoningContent is the model's reasoning as text, in the field vLLM, DeepSeek
	// and LiteLLM-style clients read (assistant messages only).
	ReasoningContent string `json:"reasoning_content,omitempty"`
	// ThinkingBlocks are the Anthropic-family thinking blocks of an assistant turn,
	// signatures byte for byte, so that a client sending the turn back (tool loops
	// with thinking on) gets a request the cloud accepts. LiteLLM's field name.
	ThinkingBlocks []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// ThinkingBlock is one Anthropic thinking block: "thinking" with its text and
// signature, or "redacted_thinking" with its opaque data.
type ThinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// CacheControl is a prompt-cache breakpoint hint (Anthropic's cache_control, the
// convention OpenAI-compatible clients use for it): {"type": "ephemeral", "ttl"?}.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// Content is a message's content: a string, an array of parts, or null.
type Content struct {
	Text  string
	Parts []ContentPart
	// IsParts records that the client sent an array, even an empty one.
	IsParts bool
	// Null is set when the content is absent or JSON null (assistant tool calls).
	Null bool
}

// TextContent is plain string content.
func TextContent(s string) Content { return Content{Text: s} }

// AllText concatenates the text of a string content or of its text parts.
func (c Content) AllText() string {
	if !c.IsParts {
		return c.Text
	}
	var b bytes.Buffer
	for _, p := range c.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// MarshalJSON writes a string, an array or null.
func (c Content) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.value())
}

// UnmarshalJSON reads a string, an array of parts or null.
func (c *Content) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	*c = Content{}
	switch {
	case len(data) == 0 || bytes.Equal(data, []byte("null")):
		c.Null = true
		return nil
	case data[0] == '"':
		return json.Unmarshal(data, &c.Text)
	case data[0] == '[':
		c.IsParts = true
		return json.Unmarshal(data, &c.Parts)
	default:
		return errors.New("content must be a string, an array of content parts or null")
	}
}

// ContentPart is one element of array content.
type ContentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
	// CacheControl marks the end of a cacheable prefix (a hint, not content).
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ImageURL is an image part: an https URL or a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// ToolCall is a function call requested by the assistant.
type ToolCall struct {
	// Index is set in stream deltas only.
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its JSON arguments as a string.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Tool is a function the model may call.
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
	// CacheControl marks the tool list up to this tool as cacheable.
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// Function describes a callable function.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is "none", "auto", "required" or a named function.
type ToolChoice struct {
	Mode     string // none | auto | required; empty when Function is set
	Function string
}

// MarshalJSON writes a mode string or {"type":"function","function":{"name":...}}.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Function != "" {
		return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": t.Function}})
	}
	return json.Marshal(t.Mode)
}

// UnmarshalJSON reads either form.
func (t *ToolChoice) UnmarshalJSON(data []byte) error {
	*t = ToolChoice{}
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &t.Mode)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(data, &named); err != nil {
		return err
	}
	if named.Type != "function" || named.Function.Name == "" {
		return errors.New(`tool_choice object must be {"type":"function","function":{"name":...}}`)
	}
	t.Function = named.Function.Name
	return nil
}

// ResponseFormat asks for text, any JSON object, or JSON matching a schema.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the json_schema response format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Stop is a string or an array of up to four strings.
type Stop []string

// UnmarshalJSON reads either form.
func (s *Stop) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	if bytes.Equal(data, []byte("null")) {
		*s = nil
		return nil
	}
	return json.Unmarshal(data, (*[]string)(s))
}

// ChatResponse is a non-streamed chat completion.
type ChatResponse struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
}

// Choice is one completion.
type Choice struct {
	Index        int             `json:"index"`
	Message      Message         `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// ChatChunk is one chat.completion.chunk of a stream.
type ChatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is a streamed choice delta.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

// Delta is the increment of a streamed message.
type Delta struct {
	Role      string     `json:"role,omitempty"`
	Content   *string    `json:"content,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	Refusal   *string    `json:"refusal,omitempty"`
	// ReasoningContent is a piece of the model's reasoning text.
	ReasoningContent *string `json:"reasoning_content,omitempty"`
	// ThinkingBlocks carry a finished thinking block's signature (or a redacted
	// block) once the block ends.
	ThinkingBlocks []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// Usage counts the tokens of one request.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks prompt tokens down.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	// CacheWriteTokens are the prompt tokens written to the provider's prompt cache
	// (Anthropic's cache_creation_input_tokens, Bedrock's cacheWriteInputTokens),
	// priced above input there. Included in PromptTokens, as cached tokens are.
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// CompletionTokensDetails breaks completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens,omitempty"`
}

// CachedTokens are the prompt tokens served from the provider's prompt cache.
func (u *Usage) CachedTokens() int {
	if u == nil || u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CachedTokens
}

// CacheWriteTokens are the prompt tokens written to the provider's prompt cache.
func (u *Usage) CacheWriteTokens() int {
	if u == nil || u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CacheWriteTokens
}

// ReasoningTokens are the completion tokens spent reasoning, when the provider
// reports them apart (they are completion tokens either way).
func (u *Usage) ReasoningTokens() int {
	if u == nil || u.CompletionTokensDetails == nil {
		return 0
	}
	return u.CompletionTokensDetails.ReasoningTokens
}

// EmbeddingRequest is an embeddings request.
type EmbeddingRequest struct {
	Model          string         `json:"model"`
	Input          EmbeddingInput `json:"input"`
	EncodingFormat string         `json:"encoding_format,omitempty"`
	Dimensions     *int           `json:"dimensions,omitempty"`
	User           string         `json:"user,omitempty"`
}

// EmbeddingInput is a string or an array of strings. Token-array input is kept raw
// for pass-through providers and rejected by translating ones.
type EmbeddingInput struct {
	Texts []string
	Raw   json.RawMessage
}

// UnmarshalJSON reads a string, an array of strings, or keeps token arrays raw.
func (in *EmbeddingInput) UnmarshalJSON(data []byte) error {
	*in = EmbeddingInput{Raw: append(json.RawMessage(nil), data...)}
	var one string
	if json.Unmarshal(data, &one) == nil {
		in.Texts = []string{one}
		return nil
	}
	var many []string
	if json.Unmarshal(data, &many) == nil {
		in.Texts = many
	}
	return nil
}

// MarshalJSON writes the input as received.
func (in EmbeddingInput) MarshalJSON() ([]byte, error) {
	if in.Raw != nil {
		return in.Raw, nil
	}
	return json.Marshal(in.Texts)
}

// EmbeddingResponse is an embeddings list.
type EmbeddingResponse struct {
	Object string      `json:"object"`
	Data   []Embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  Usage       `json:"usage"`
}

// Embedding is one vector, as floats or (encoding_format=base64) a base64 string.
type Embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// LastCacheControl is the cache breakpoint of content that becomes one block
// upstream (a tool result, an assistant's text): the last part's that has one.
func (c Content) LastCacheControl() *CacheControl {
	var cc *CacheControl
	for _, p := range c.Parts {
		if p.CacheControl != nil {
			cc = p.CacheControl
		}
	}
	return cc
}
