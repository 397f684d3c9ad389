// Package anthropic is the Anthropic Messages dialect's translation, without HTTP:
// the wire types of POST /v1/messages and /v1/messages/count_tokens
// (https://platform.claude.com/docs/en/api/messages), the translation of a
// Messages request into the canonical chat request (request.go) so that targets
// that do not speak Messages can serve it, of a canonical answer back into a
// Message (response.go) and of a canonical stream into Anthropic's stream events
// (stream.go), errors in Anthropic's shape (errors.go), and the local token
// estimate for count_tokens (count.go).
//
// Targets that speak Messages natively (providers.Messenger) are served by
// pass-through and need none of this but the error shape and AppendEvent.
package anthropic

import "encoding/json"

// The wire types. Every JSON name was checked against the API reference and the
// official SDK (github.com/anthropics/anthropic-sdk-go/v2 v2.15.0: MessageNewParams,
// ContentBlockParamUnion, ToolParam, ToolChoiceUnionParam, ThinkingConfigParamUnion,
// OutputConfigParam, Message, Usage, the MessageStreamEvent types).

// Request is a Messages request (or a count_tokens request, which has no
// max_tokens). Members this package does not know are listed in Unknown.
type Request struct {
	Model         string         `json:"model"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	Messages      []MessageParam `json:"messages"`
	System        *Content       `json:"system,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          *int           `json:"top_k,omitempty"`
	Tools         []Tool         `json:"tools,omitempty"`
	ToolChoice    *ToolChoice    `json:"tool_choice,omitempty"`
	Metadata      *Metadata      `json:"metadata,omitempty"`
	Thinking      *Thinking      `json:"thinking,omitempty"`
	OutputConfig  *OutputConfig  `json:"output_config,omitempty"`
	// Hints about how to serve the request, not what to answer: carried where a
	// target takes them, left out elsewhere (see Canonical).
	ServiceTier  string          `json:"service_tier,omitempty"`
	InferenceGeo string          `json:"inference_geo,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
	Speed        string          `json:"speed,omitempty"`
	Diagnostics  json.RawMessage `json:"diagnostics,omitempty"`
	// Features of Anthropic's platform that only native targets have.
	Container         json.RawMessage `json:"container,omitempty"`
	MCPServers        json.RawMessage `json:"mcp_servers,omitempty"`
	ContextManagement json.RawMessage `json:"context_management,omitempty"`

	// Unknown are the top-level members not declared above, by name.
	Unknown []string `json:"-"`
}

// MessageParam is one turn: role "user" or "assistant", content a string or
// blocks.
type MessageParam struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a string or an array of content blocks (message content, system
// prompts, tool results).
type Content struct {
	Text     string
	Blocks   []Block
	IsBlocks bool
}

// Block is any content block of a request: text, image, document, tool_use,
// tool_result, thinking, redacted_thinking, and the types only native targets
// take (search_result, server tool blocks, container_upload, ...). The members
// of each type are exclusive.
type Block struct {
	Type string `json:"type"`
	// text
	Text      string          `json:"text,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"`
	// image, document
	Source *Source `json:"source,omitempty"`
	Title  string  `json:"title,omitempty"`
	// tool_use (and server_tool_use)
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string   `json:"tool_use_id,omitempty"`
	Content   *Content `json:"content,omitempty"`
	IsError   *bool    `json:"is_error,omitempty"`
	// thinking, redacted_thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`

	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// Source is an image's or a document's source: base64 (media_type, data), url,
// text (a plain-text document), or file (file_id, Files API).
type Source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
	FileID    string `json:"file_id,omitempty"`
}

// CacheControl is a prompt-cache breakpoint: {"type":"ephemeral","ttl"?}.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// Tool is a client tool (type absent or "custom": name, description,
// input_schema) or a server tool (a versioned type such as web_search_20250305,
// bash_20250124, text_editor_20250728, computer_20250124, with its own members).
type Tool struct {
	Type         string          `json:"type,omitempty"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	Strict       *bool           `json:"strict,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
}

// ToolChoice is auto, any, tool (with name) or none.
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

// Metadata of a request.
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// Thinking configures extended thinking: enabled (with budget_tokens), adaptive,
// or disabled.
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"`
}

// OutputConfig sets the effort and the output format (structured outputs).
type OutputConfig struct {
	Effort string        `json:"effort,omitempty"`
	Format *OutputFormat `json:"format,omitempty"`
}

// OutputFormat is {"type":"json_schema","schema":{...}}.
type OutputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

// Message is a Messages API response.
type Message struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"` // "message"
	Role         string         `json:"role"` // "assistant"
	Model        string         `json:"model"`
	Content      []ContentBlock `json:"content"`
	StopReason   string         `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
}

// ContentBlock is a response content block: text, thinking, redacted_thinking or
// tool_use.
type ContentBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	Data      string          `json:"data,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

// Usage is Anthropic's token count: input_tokens excludes the tokens read from
// or written to the prompt cache.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// CountTokensResponse is count_tokens' answer.
type CountTokensResponse struct {
	InputTokens int `json:"input_tokens"`
}

// Stop reasons (https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons).
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopSequence     = "stop_sequence"
	StopToolUse      = "tool_use"
	StopRefusal      = "refusal"
	StopPauseTurn    = "pause_turn"
	StopContextLimit = "model_context_window_exceeded"
)
