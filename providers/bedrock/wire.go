package bedrock

import "encoding/json"

// The Converse wire types, shared by Converse and ConverseStream (same request
// body; the model id travels in the path). Every JSON name was checked against
// the API reference (API_runtime_Converse.html, API_runtime_Message.html,
// API_runtime_ContentBlock.html, API_runtime_ImageBlock.html,
// API_runtime_ToolUseBlock.html, API_runtime_ToolResultBlock.html,
// API_runtime_InferenceConfiguration.html, API_runtime_ToolConfiguration.html,
// API_runtime_ToolChoice.html, API_runtime_TokenUsage.html) and against the
// member names of the official SDK's schemas
// (aws-sdk-go-v2/service/bedrockruntime v1.63.13, schemas/schemas.go). Only the
// members this proxy writes or reads are declared; unknown response members
// (metrics, trace, additionalModelResponseFields, reasoning blocks) are ignored.

// The request body of Converse and ConverseStream is written by hand (request.go,
// conversation.go, settings.go): messages (of the message and contentBlock types
// below), system (SystemContentBlocks: text, or a cachePoint), inferenceConfig,
// toolConfig, outputConfig, additionalModelRequestFields.

// message is one turn; role is "user" or "assistant".
type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

// contentBlock is the ContentBlock union: exactly one member is set. Converse
// rejects blank text, so an empty Text never needs to be sent and omitempty
// cannot drop a meaningful value.
type contentBlock struct {
	Text       string           `json:"text,omitempty"`
	Image      *imageBlock      `json:"image,omitempty"`
	ToolUse    *toolUseBlock    `json:"toolUse,omitempty"`
	ToolResult *toolResultBlock `json:"toolResult,omitempty"`
	// ReasoningContent is a model's reasoning (reasoning.go); CachePoint a
	// prompt-cache breakpoint (cache.go).
	ReasoningContent *reasoningBlock  `json:"reasoningContent,omitempty"`
	CachePoint       *cachePointBlock `json:"cachePoint,omitempty"`
}

// reasoningBlock is a ReasoningContentBlock union (API_runtime_ReasoningContentBlock.html):
// reasoningText {text, signature}, or redactedContent (a blob: base64 in JSON).
type reasoningBlock struct {
	ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
	RedactedContent []byte         `json:"redactedContent,omitempty"`
}

type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// cachePointBlock is a CachePointBlock: type "default", ttl "5m" or "1h".
type cachePointBlock struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// imageBlock: format is png, jpeg, gif or webp; source.bytes is a blob, which the
// JSON protocol carries as standard base64 (encoding/json's []byte encoding).
type imageBlock struct {
	Format string      `json:"format"`
	Source imageSource `json:"source"`
}

type imageSource struct {
	Bytes []byte `json:"bytes"`
}

// toolUseBlock is a tool call; Input is a JSON object (a document), kept as the
// bytes the client or the model wrote so that numbers stay exact.
type toolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

// toolResultBlock answers the toolUse block with the same id.
type toolResultBlock struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
}

// toolResultContent is a ToolResultContentBlock union: only text is sent.
type toolResultContent struct {
	Text string `json:"text"`
}

// inferenceConfig: unset members take the model's defaults.
type inferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []tool      `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice,omitempty"`
}

// tool is a Tool union: toolSpec, or a cachePoint after the tools it caches.
type tool struct {
	ToolSpec   *toolSpec        `json:"toolSpec,omitempty"`
	CachePoint *cachePointBlock `json:"cachePoint,omitempty"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

// inputSchema is a ToolInputSchema union; json is the JSON Schema document.
type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// toolChoice is a ToolChoice union: any ({"any":{}}) or tool ({"tool":{"name"}}).
// auto is Converse's default and never sent (see toolConfig in request.go).
type toolChoice struct {
	Any  *struct{}     `json:"any,omitempty"`
	Tool *specificTool `json:"tool,omitempty"`
}

type specificTool struct {
	Name string `json:"name"`
}

// outputConfig carries effort (low, medium, high, xhigh, max).
type outputConfig struct {
	Effort string `json:"effort,omitempty"`
}

// converseResponse is the Converse response body, filled by decodeConverse
// (answer.go) as encoding/json would fill it.
type converseResponse struct {
	Output struct {
		Message *message `json:"message"`
	} `json:"output"`
	StopReason string      `json:"stopReason"`
	Usage      *tokenUsage `json:"usage"`
}

// tokenUsage: inputTokens excludes the prompt-cache reads and writes, which come
// separately (see usageOf).
type tokenUsage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}

// The ConverseStream events (API_runtime_ConverseStreamOutput.html), each the
// JSON payload of one event-stream message named by its :event-type header.
// contentBlockDelta, the hot one, is read by scanDelta instead (events.go).

// contentBlockStartEvent (API_runtime_ContentBlockStartEvent.html): start is a
// union; only toolUse blocks announce themselves.
type contentBlockStartEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Start             struct {
		ToolUse *struct {
			ToolUseID string `json:"toolUseId"`
			Name      string `json:"name"`
		} `json:"toolUse"`
	} `json:"start"`
}

// messageStopEvent (API_runtime_MessageStopEvent.html).
type messageStopEvent struct {
	StopReason string `json:"stopReason"`
}

// metadataEvent (API_runtime_ConverseStreamMetadataEvent.html), the terminal event.
type metadataEvent struct {
	Usage *tokenUsage `json:"usage"`
}

// errorBody is an error response body or a stream exception's payload: the
// restJson1 protocol puts the type in the X-Amzn-ErrorType header and, from some
// front ends, in __type or code; the message in message (Message from some).
// encoding/json matches member names case-insensitively, so Message is read too.
type errorBody struct {
	Type    string `json:"__type"`
	Code    any    `json:"code"`
	Message string `json:"message"`
}
