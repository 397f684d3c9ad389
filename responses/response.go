package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// Response statuses.
const (
	ResponseCompleted  = "completed"
	ResponseFailed     = "failed"
	ResponseIncomplete = "incomplete"
	ResponseInProgress = "in_progress"
)

// Response is the Response object (object "response"). Members the API documents as
// nullable are pointers and written as null when unset; every member the openai-go
// SDK marks required is always written.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	CompletedAt        *int64             `json:"completed_at"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	MaxToolCalls       *int               `json:"max_tool_calls"`
	Model              string             `json:"model"`
	Output             []Item             `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          Reasoning          `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               TextConfig         `json:"text"`
	ToolChoice         ToolChoice         `json:"tool_choice"`
	Tools              []FunctionTool     `json:"tools"`
	TopP               *float64           `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *Usage             `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
	// includeEncrypted: reasoning items show encrypted_content (the request's
	// include); not stored, as stored records always keep it.
	includeEncrypted bool
}

// ResponseError is why a response failed. Code is one of the values the SDK lists
// for ResponseError.code: this gateway uses server_error, rate_limit_exceeded and
// invalid_prompt.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete: max_output_tokens or
// content_filter.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// Usage is the Responses usage object.
type Usage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails breaks input tokens down.
type InputTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// OutputTokensDetails breaks output tokens down.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// usageFromChat maps chat usage: prompt → input, completion → output.
func usageFromChat(u *providers.Usage) *Usage {
	if u == nil {
		return nil
	}
	out := &Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	out.InputTokensDetails.CachedTokens = u.CachedTokens()
	if u.CompletionTokensDetails != nil {
		out.OutputTokensDetails.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.InputTokens + out.OutputTokens
	}
	return out
}

// ChatUsage is the usage in chat terms, for cost accounting and budgets.
func (u *Usage) ChatUsage() providers.Usage {
	if u == nil {
		return providers.Usage{}
	}
	out := providers.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
	if u.InputTokensDetails.CachedTokens > 0 {
		out.PromptTokensDetails = &providers.PromptTokensDetails{CachedTokens: u.InputTokensDetails.CachedTokens}
	}
	if u.OutputTokensDetails.ReasoningTokens > 0 {
		out.CompletionTokensDetails = &providers.CompletionTokensDetails{ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
	}
	return out
}

// Reasoning echoes the request's reasoning options.
type Reasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

// TextConfig is the text member: the output format.
type TextConfig struct {
	Format TextFormat `json:"format"`
}

// TextFormat is {"type":"text"}, {"type":"json_object"} or a json_schema format,
// which in the Responses API is flat (name and schema beside type).
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Description string          `json:"description,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is "none", "auto", "required" or {"type":"function","name":…}: the
// Responses shape, flatter than chat's.
type ToolChoice struct {
	Mode     string
	Function string
}

// MarshalJSON writes a mode string or the function object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Function != "" {
		b := append([]byte(`{"type":"function","name":`), providers.AppendJSONString(nil, t.Function)...)
		return append(b, '}'), nil
	}
	return providers.AppendJSONString(nil, t.Mode), nil
}

// UnmarshalJSON reads either form; other tool choices (hosted tools, allowed_tools,
// mcp, custom) are refused.
func (t *ToolChoice) UnmarshalJSON(data []byte) error {
	*t = ToolChoice{}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &t.Mode); err != nil {
			return err
		}
		switch t.Mode {
		case "none", "auto", "required":
			return nil
		}
		return errors.New("tool_choice must be 'none', 'auto', 'required' or a function")
	}
	var named struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &named); err != nil {
		return err
	}
	if named.Type != "function" || named.Name == "" {
		return errors.New(`tool_choice object must be {"type":"function","name":...}`)
	}
	t.Function = named.Name
	return nil
}

// FunctionTool is a function the model may call, in the Responses API's flat shape.
// Strict is echoed as sent (null when absent): this gateway cannot promise strict
// schema adherence on every cloud, so it never claims it by default.
type FunctionTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

// ItemList is the answer of GET /v1/responses/{id}/input_items.
type ItemList struct {
	Object  string  `json:"object"`
	Data    []Item  `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// Deleted is the answer of DELETE /v1/responses/{id}.
type Deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// DeletedResponse is the delete answer for id.
func DeletedResponse(id string) Deleted { return Deleted{ID: id, Object: "response", Deleted: true} }

// NewResponse is the in_progress Response of req: the request's settings echoed as
// OpenAI echoes them (defaults filled in), no output yet. Model is the alias the
// client named: the upstream model differs per attempt and is reported in the
// X-Switchyard-Model header instead.
func NewResponse(req *CreateRequest, id string, created time.Time) *Response {
	r := &Response{
		ID: id, Object: "response", CreatedAt: created.Unix(), Status: ResponseInProgress,
		Instructions: req.Instructions, MaxOutputTokens: req.MaxOutputTokens, MaxToolCalls: req.MaxToolCalls,
		Model: req.Model, Output: []Item{}, ParallelToolCalls: true,
		Reasoning: Reasoning{Effort: req.ReasoningEffort, Summary: req.ReasoningSummary}, Store: req.ShouldStore(),
		Temperature: req.Temperature, Text: TextConfig{Format: TextFormat{Type: "text"}},
		ToolChoice: ToolChoice{Mode: "auto"}, Tools: req.Tools, TopP: req.TopP,
		Truncation: TruncationDisabled, User: req.User, Metadata: req.Metadata,
		includeEncrypted: req.IncludeEncrypted,
	}
	if req.PreviousResponseID != "" {
		prev := req.PreviousResponseID
		r.PreviousResponseID = &prev
	}
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.Text != nil {
		r.Text = *req.Text
	}
	if req.ToolChoice != nil {
		r.ToolChoice = *req.ToolChoice
	}
	if req.Truncation != "" {
		r.Truncation = req.Truncation
	}
	if r.Tools == nil {
		r.Tools = []FunctionTool{}
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	return r
}

// complete sets the terminal status from a chat finish reason: length and
// content_filter leave the response incomplete, as OpenAI reports them.
func (r *Response) complete(finish string, usage *Usage, now time.Time) {
	r.Usage = usage
	switch finish {
	case providers.FinishLength:
		r.Status = ResponseIncomplete
		r.IncompleteDetails = &IncompleteDetails{Reason: "max_output_tokens"}
	case providers.FinishContentFilter:
		r.Status = ResponseIncomplete
		r.IncompleteDetails = &IncompleteDetails{Reason: "content_filter"}
	default:
		r.Status = ResponseCompleted
		at := now.Unix()
		r.CompletedAt = &at
	}
}

// fail marks the response failed with the error the client should read.
func (r *Response) fail(e *providers.Error) {
	r.Status = ResponseFailed
	code := "server_error"
	switch e.Class {
	case providers.ClassRateLimited, providers.ClassQuota:
		code = "rate_limit_exceeded"
	case providers.ClassInvalidRequest, providers.ClassContextLength, providers.ClassContentFilter:
		code = "invalid_prompt"
	}
	msg := e.Message
	if msg == "" {
		msg = "The upstream failed while generating the response."
	}
	r.Error = &ResponseError{Code: code, Message: msg}
}

// OutputText is the concatenated text of the output messages, like the SDKs'
// output_text convenience.
func (r *Response) OutputText() string {
	var b bytes.Buffer
	for _, it := range r.Output {
		if it.Type != ItemMessage {
			continue
		}
		for _, p := range it.Content {
			if p.Type == PartOutputText {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}
