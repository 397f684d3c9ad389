package responses

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

// Truncation strategies.
const (
	TruncationAuto     = "auto"
	TruncationDisabled = "disabled"
)

// CreateRequest is a validated POST /v1/responses body.
type CreateRequest struct {
	Model string
	// Input is the new input items; a string input is one user message.
	Input []Item
	// Instructions is this request's system message. Instructions of earlier
	// responses are not carried over (API reference, CreateResponse.instructions).
	Instructions       *string
	Tools              []FunctionTool
	ToolChoice         *ToolChoice
	Temperature        *float64
	TopP               *float64
	MaxOutputTokens    *int
	MaxToolCalls       *int
	Metadata           map[string]string
	Store              *bool
	PreviousResponseID string
	Stream             bool
	// Truncation is auto or disabled; empty means disabled (the API's default).
	Truncation        string
	ParallelToolCalls *bool
	Text              *TextConfig
	ReasoningEffort   *string
	// ReasoningSummary is reasoning.summary (auto, concise or detailed): the
	// reasoning text the target returns goes to the reasoning item's summary.
	ReasoningSummary *string
	// IncludeEncrypted: include has "reasoning.encrypted_content".
	IncludeEncrypted bool
	User             *string
}

// ShouldStore reports whether the response is kept for later retrieval and for
// previous_response_id: store defaults to true.
func (r *CreateRequest) ShouldStore() bool { return r.Store == nil || *r.Store }

// Metadata limits of the API reference: 16 pairs, keys up to 64 characters, values
// up to 512.
const (
	maxMetadataPairs = 16
	maxMetadataKey   = 64
	maxMetadataValue = 512
)

// DecodeCreate validates a create request body. Every error is a 400 in OpenAI's
// shape naming the offending parameter. Parameters the gateway cannot honour on
// every cloud (built-in tools, background mode, conversations, prompt templates,
// reasoning summaries, logprobs, ...) are refused rather than silently dropped;
// parameters that are only hints to OpenAI's own infrastructure (prompt cache keys,
// safety identifiers, stream obfuscation) are accepted and ignored. Unknown
// parameters are refused, as OpenAI refuses them.
func DecodeCreate(body []byte) (*CreateRequest, error) {
	if !json.Valid(body) {
		return nil, invalid("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)")
	}
	r := &CreateRequest{}
	var inputRaw []byte
	var failure error
	err := jsonfield.Each(body, func(k, v []byte) bool {
		key := string(k)
		if isNull(v) && key != "input" && key != "model" {
			return true // null is every optional parameter's default
		}
		if key == "input" {
			inputRaw = v
			return true
		}
		failure = r.member(key, v)
		return failure == nil
	})
	switch {
	case err != nil:
		return nil, invalid("", "The request body must be a JSON object.")
	case failure != nil:
		return nil, failure
	case r.Model == "":
		return nil, invalid("model", "Missing required parameter: 'model'.")
	}
	if r.Input, err = decodeInput(inputRaw); err != nil {
		return nil, err
	}
	if r.ToolChoice != nil && r.ToolChoice.Function != "" && !r.hasTool(r.ToolChoice.Function) {
		return nil, invalid("tool_choice", "Tool choice '%s' not found in 'tools' parameter.", r.ToolChoice.Function)
	}
	return r, nil
}

func (r *CreateRequest) hasTool(name string) bool {
	for _, t := range r.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// member decodes one top-level member.
func (r *CreateRequest) member(key string, v []byte) error {
	switch key {
	case "model":
		return decodeInto(v, &r.Model, key)
	case "instructions":
		return decodeInto(v, &r.Instructions, key)
	case "tools":
		return r.decodeTools(v)
	case "tool_choice":
		var tc ToolChoice
		if err := json.Unmarshal(v, &tc); err != nil {
			return unsupported(key, "Invalid 'tool_choice': this gateway supports 'none', 'auto', 'required' and {\"type\":\"function\",\"name\":...}.")
		}
		r.ToolChoice = &tc
		return nil
	case "temperature":
		if err := decodeInto(v, &r.Temperature, key); err != nil {
			return err
		}
		return inRange(key, *r.Temperature, 0, 2)
	case "top_p":
		if err := decodeInto(v, &r.TopP, key); err != nil {
			return err
		}
		return inRange(key, *r.TopP, 0, 1)
	case "max_output_tokens":
		if err := decodeInto(v, &r.MaxOutputTokens, key); err != nil {
			return err
		}
		if *r.MaxOutputTokens < 16 {
			// OpenAI's own floor for max_output_tokens, with its error.
			e := invalid(key, "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got %d instead.", *r.MaxOutputTokens)
			e.Code = "integer_below_min_value"
			return e
		}
		return nil
	case "max_tool_calls":
		// Bounds built-in tool calls only; there are none here, so it is only echoed.
		return decodeInto(v, &r.MaxToolCalls, key)
	case "metadata":
		return r.decodeMetadata(v)
	case "store":
		return decodeInto(v, &r.Store, key)
	case "previous_response_id":
		return decodeInto(v, &r.PreviousResponseID, key)
	case "stream":
		return decodeInto(v, &r.Stream, key)
	case "truncation":
		if err := decodeInto(v, &r.Truncation, key); err != nil {
			return err
		}
		if r.Truncation != TruncationAuto && r.Truncation != TruncationDisabled {
			return invalid(key, "Invalid value: '%s'. Supported values are: 'auto' and 'disabled'.", r.Truncation)
		}
		return nil
	case "parallel_tool_calls":
		return decodeInto(v, &r.ParallelToolCalls, key)
	case "text":
		return r.decodeText(v)
	case "reasoning":
		return r.decodeReasoning(v)
	case "user":
		return decodeInto(v, &r.User, key)
	case "include":
		return r.decodeInclude(v, key)
	case "background":
		var on bool
		if err := decodeInto(v, &on, key); err != nil || !on {
			return err
		}
		return unsupported(key, "Background responses are not supported by this gateway; use stream or a plain request.")
	case "top_logprobs":
		var n int
		if err := decodeInto(v, &n, key); err != nil || n == 0 {
			return err
		}
		return unsupported(key, "Log probabilities are not supported by this gateway.")
	case "service_tier":
		var tier string
		if err := decodeInto(v, &tier, key); err != nil || tier == "auto" || tier == "default" {
			return err
		}
		return unsupported(key, "Service tier '%s' cannot be honoured across providers; use 'auto' or 'default'.", tier)
	case "conversation":
		return unsupported(key, "Conversation objects are not supported by this gateway; continue conversations with previous_response_id.")
	case "prompt":
		return unsupported(key, "Prompt templates are not supported by this gateway; send instructions and input instead.")
	case "context_management":
		return unsupported(key, "Context management (compaction) is not supported by this gateway; use truncation: 'auto'.")
	case "moderation", "access_programs", "image":
		return unsupported(key, "The '%s' parameter is not supported by this gateway.", key)
	case "stream_options", "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options", "safety_identifier":
		// Hints to OpenAI's own serving (obfuscation padding, cache routing, abuse
		// detection) with no meaning on other clouds and no effect on the output.
		return nil
	}
	return invalid(key, "Unknown parameter: '%s'.", key)
}

func (r *CreateRequest) decodeTools(v []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		return invalid("tools", "Invalid type for 'tools': expected an array of tools.")
	}
	r.Tools = make([]FunctionTool, 0, len(raws))
	for i, raw := range raws {
		param := "tools[" + strconv.Itoa(i) + "]"
		var t FunctionTool
		if err := json.Unmarshal(raw, &t); err != nil {
			return invalid(param, "Invalid tool at '%s': %s.", param, jsonProblem(err))
		}
		switch {
		case t.Type == "":
			return invalid(param+".type", "Missing required parameter: '%s.type'.", param)
		case t.Type != "function":
			return unsupported(param+".type", "Tool type '%s' is not supported by this gateway: only function tools can be served by every cloud.", t.Type)
		case t.Name == "":
			return invalid(param+".name", "Missing required parameter: '%s.name'.", param)
		}
		if p := bytes.TrimSpace(t.Parameters); len(p) > 0 && p[0] != '{' && !isNull(p) {
			return invalid(param+".parameters", "Invalid type for '%s.parameters': expected a JSON Schema object.", param)
		}
		r.Tools = append(r.Tools, t)
	}
	return nil
}

func (r *CreateRequest) decodeMetadata(v []byte) error {
	if err := decodeInto(v, &r.Metadata, "metadata"); err != nil {
		return err
	}
	if len(r.Metadata) > maxMetadataPairs {
		return invalid("metadata", "Invalid 'metadata': too many properties. Expected an object with at most %d properties, but got an object with %d properties instead.", maxMetadataPairs, len(r.Metadata))
	}
	for k, val := range r.Metadata {
		if utf8.RuneCountInString(k) > maxMetadataKey {
			return invalid("metadata", "Invalid 'metadata': key '%s' is longer than %d characters.", k, maxMetadataKey)
		}
		if utf8.RuneCountInString(val) > maxMetadataValue {
			return invalid("metadata", "Invalid 'metadata': the value of '%s' is longer than %d characters.", k, maxMetadataValue)
		}
	}
	return nil
}

func (r *CreateRequest) decodeText(v []byte) error {
	var w struct {
		Format    json.RawMessage `json:"format"`
		Verbosity *string         `json:"verbosity"`
	}
	if err := json.Unmarshal(v, &w); err != nil {
		return invalid("text", "Invalid 'text': %s.", jsonProblem(err))
	}
	if w.Verbosity != nil && *w.Verbosity != "medium" {
		// Only OpenAI's newest models take verbosity; elsewhere it cannot be honoured.
		return unsupported("text.verbosity", "Text verbosity '%s' is not supported by this gateway.", *w.Verbosity)
	}
	cfg := &TextConfig{Format: TextFormat{Type: "text"}}
	if len(w.Format) > 0 && !isNull(w.Format) {
		if err := json.Unmarshal(w.Format, &cfg.Format); err != nil {
			return invalid("text.format", "Invalid 'text.format': %s.", jsonProblem(err))
		}
	}
	f := &cfg.Format
	switch f.Type {
	case "text", "json_object":
		f.Name, f.Schema, f.Description, f.Strict = "", nil, "", nil
	case "json_schema":
		if f.Name == "" {
			return invalid("text.format.name", "Missing required parameter: 'text.format.name'.")
		}
		if s := bytes.TrimSpace(f.Schema); len(s) == 0 || s[0] != '{' {
			return invalid("text.format.schema", "Missing required parameter: 'text.format.schema' (a JSON Schema object).")
		}
	case "":
		return invalid("text.format.type", "Missing required parameter: 'text.format.type'.")
	default:
		return invalid("text.format.type", "Invalid value: '%s'. Supported values are: 'text', 'json_schema' and 'json_object'.", f.Type)
	}
	r.Text = cfg
	return nil
}

func (r *CreateRequest) decodeReasoning(v []byte) error {
	var w struct {
		Effort          *string `json:"effort"`
		Summary         *string `json:"summary"`
		GenerateSummary *string `json:"generate_summary"`
		Context         *string `json:"context"`
	}
	if err := json.Unmarshal(v, &w); err != nil {
		return invalid("reasoning", "Invalid 'reasoning': %s.", jsonProblem(err))
	}
	if w.Context != nil {
		return unsupported("reasoning.context", "Reasoning context is not supported by this gateway.")
	}
	summary := w.Summary
	if summary == nil {
		summary = w.GenerateSummary // the deprecated name of summary
	}
	if summary != nil {
		switch *summary {
		case "auto", "concise", "detailed":
		default:
			return invalid("reasoning.summary", "Invalid value: '%s'. Supported values are: 'auto', 'concise', and 'detailed'.", *summary)
		}
	}
	r.ReasoningEffort, r.ReasoningSummary = w.Effort, summary
	return nil
}

// decodeInclude accepts reasoning.encrypted_content (reasoning items then carry
// the target's thinking blocks, reasoning.go) and input image URLs, which are
// always kept and listed anyway.
func (r *CreateRequest) decodeInclude(v []byte, key string) error {
	var list []string
	if err := decodeInto(v, &list, key); err != nil {
		return err
	}
	for i, s := range list {
		switch s {
		case "message.input_image.image_url":
		case "reasoning.encrypted_content":
			r.IncludeEncrypted = true
		default:
			return unsupported(key+"["+strconv.Itoa(i)+"]", "Include '%s' is not supported by this gateway: only 'reasoning.encrypted_content' and 'message.input_image.image_url' are.", s)
		}
	}
	return nil
}

// decodeInput reads input: a string (one user message) or a list of items.
func decodeInput(raw []byte) ([]Item, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || isNull(raw):
		return nil, invalid("input", "Missing required parameter: 'input'.")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("input", "Invalid 'input': %s.", jsonProblem(err))
		}
		return []Item{{Type: ItemMessage, Status: StatusCompleted, Role: "user", Content: []Part{{Type: PartInputText, Text: s}}}}, nil
	case raw[0] != '[':
		return nil, invalid("input", "Invalid type for 'input': expected a string or an array of input items.")
	}
	var items []Item
	var failure error
	i := 0
	err := jsonfield.EachElement(raw, func(v []byte) bool {
		var it Item
		it, failure = decodeItem(v, "input["+strconv.Itoa(i)+"]")
		items = append(items, it)
		i++
		return failure == nil
	})
	switch {
	case err != nil:
		return nil, invalid("input", "Invalid type for 'input': expected a string or an array of input items.")
	case failure != nil:
		return nil, failure
	case len(items) == 0:
		return nil, invalid("input", "Invalid 'input': empty array. Expected an array with minimum length 1.")
	}
	return items, nil
}

// decodeInto unmarshals v into dst, naming key in the error.
func decodeInto(v []byte, dst any, key string) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return invalid(key, "Invalid type for '%s': %s.", key, jsonProblem(err))
	}
	return nil
}

func inRange(key string, f, lo, hi float64) error {
	if f < lo || f > hi {
		return invalid(key, "Invalid '%s': expected a value between %g and %g, but got %g instead.", key, lo, hi, f)
	}
	return nil
}

func isNull(v []byte) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }
