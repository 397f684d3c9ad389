package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/switchyard/switchyard/providers"
)

// Item types this gateway can carry between clouds (reasoning items: reasoning.go).
// Built-in tool calls have no chat equivalent and are refused when decoded; item
// references are resolved from the store (references.go).
const (
	ItemMessage            = "message"
	ItemFunctionCall       = "function_call"
	ItemFunctionCallOutput = "function_call_output"
	ItemReference          = "item_reference"
)

// Content part types.
const (
	PartInputText  = "input_text"
	PartInputImage = "input_image"
	PartOutputText = "output_text"
	PartRefusal    = "refusal"
)

// Item statuses.
const (
	StatusCompleted  = "completed"
	StatusInProgress = "in_progress"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

// Item is one conversation item, as an input item of a request, an output item of a
// Response, or an entry of an input_items list. One struct covers the three kinds;
// only the fields of its Type are meaningful.
type Item struct {
	Type   string
	ID     string
	Status string

	// message: Role is user, system, developer or assistant. Content is always a
	// list of parts: string content is stored as one input_text (output_text for
	// the assistant) part, as OpenAI lists it.
	Role    string
	Content []Part

	// function_call: CallID ties the call to its output.
	CallID    string
	Name      string
	Arguments string

	// function_call_output (CallID as well).
	Output Output

	// reasoning: Content holds the summary_text parts; Encrypted is
	// encrypted_content (reasoning.go), written only when showEncrypted is set
	// (the request included reasoning.encrypted_content, or the store writes).
	Encrypted     string
	showEncrypted bool
}

// Part is one content part of a message.
type Part struct {
	Type     string // input_text, input_image, output_text or refusal
	Text     string // the text of input_text and output_text, the refusal of refusal
	ImageURL string // input_image: a base64 data: URL
	Detail   string // input_image: low, high or auto
}

// Output is a function call's output: a string, or a list of input_text parts.
type Output struct {
	Text    string
	Parts   []Part
	IsParts bool
}

// AllText is the output as one string, the text parts concatenated.
func (o Output) AllText() string {
	if !o.IsParts {
		return o.Text
	}
	var b bytes.Buffer
	for _, p := range o.Parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// MarshalJSON writes the item as OpenAI lists it; see appendItem.
func (it Item) MarshalJSON() ([]byte, error) { return appendItem(nil, &it), nil }

// UnmarshalJSON reads an item as a client may send it (see decodeItem).
func (it *Item) UnmarshalJSON(data []byte) error {
	v, err := decodeItem(data, "item")
	if err != nil {
		return err
	}
	*it = v
	return nil
}

// appendItem writes the item in its output shape. Field order follows OpenAI's own
// answers; every member the SDK marks required is present.
func appendItem(b []byte, it *Item) []byte {
	b = append(b, `{"id":`...)
	b = providers.AppendJSONString(b, it.ID)
	b = append(b, `,"type":`...)
	b = providers.AppendJSONString(b, it.Type)
	b = append(b, `,"status":`...)
	b = providers.AppendJSONString(b, it.Status)
	switch it.Type {
	case ItemMessage:
		b = append(b, `,"role":`...)
		b = providers.AppendJSONString(b, it.Role)
		b = append(b, `,"content":[`...)
		for i := range it.Content {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPart(b, &it.Content[i])
		}
		b = append(b, ']')
	case ItemFunctionCall:
		b = append(b, `,"arguments":`...)
		b = providers.AppendJSONString(b, it.Arguments)
		b = append(b, `,"call_id":`...)
		b = providers.AppendJSONString(b, it.CallID)
		b = append(b, `,"name":`...)
		b = providers.AppendJSONString(b, it.Name)
	case ItemReasoning:
		b = appendReasoning(b, it)
	case ItemFunctionCallOutput:
		b = append(b, `,"call_id":`...)
		b = providers.AppendJSONString(b, it.CallID)
		b = append(b, `,"output":`...)
		if it.Output.IsParts {
			b = append(b, '[')
			for i := range it.Output.Parts {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendPart(b, &it.Output.Parts[i])
			}
			b = append(b, ']')
		} else {
			b = providers.AppendJSONString(b, it.Output.Text)
		}
	}
	return append(b, '}')
}

// appendPart writes one content part. output_text carries empty annotations and
// logprobs, as OpenAI's answers do (the SDK marks annotations required).
func appendPart(b []byte, p *Part) []byte {
	b = append(b, `{"type":`...)
	b = providers.AppendJSONString(b, p.Type)
	switch p.Type {
	case PartInputImage:
		b = append(b, `,"detail":`...)
		b = providers.AppendJSONString(b, p.Detail)
		b = append(b, `,"file_id":null,"image_url":`...)
		b = providers.AppendJSONString(b, p.ImageURL)
	case PartOutputText:
		b = append(b, `,"annotations":[],"logprobs":[],"text":`...)
		b = providers.AppendJSONString(b, p.Text)
	case PartRefusal:
		b = append(b, `,"refusal":`...)
		b = providers.AppendJSONString(b, p.Text)
	default:
		b = append(b, `,"text":`...)
		b = providers.AppendJSONString(b, p.Text)
	}
	return append(b, '}')
}

// wireItem is every member of the item kinds we accept; the rest are ignored, as
// they annotate output items (namespace, caller, phase) without changing meaning.
type wireItem struct {
	Type      *string         `json:"type"`
	ID        *string         `json:"id"`
	Status    *string         `json:"status"`
	Role      *string         `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    *string         `json:"call_id"`
	Name      *string         `json:"name"`
	Arguments *string         `json:"arguments"`
	Output    json.RawMessage `json:"output"`
	// reasoning
	Summary          json.RawMessage `json:"summary"`
	EncryptedContent *string         `json:"encrypted_content"`
}

// decodeItem reads one input item. param is its path in the request ("input[2]"),
// named by every error.
func decodeItem(raw []byte, param string) (Item, error) {
	var w wireItem
	if err := json.Unmarshal(raw, &w); err != nil {
		return Item{}, invalid(param, "Invalid item at '%s': %s.", param, jsonProblem(err))
	}
	typ := deref(w.Type)
	if typ == "" && w.Role != nil {
		typ = ItemMessage // EasyInputMessage: {"role", "content"} without a type
	}
	it := Item{Type: typ, ID: deref(w.ID), Status: deref(w.Status)}
	if it.Status == "" {
		it.Status = StatusCompleted
	}
	switch typ {
	case ItemMessage:
		return decodeMessage(it, &w, param)
	case ItemFunctionCall:
		switch {
		case w.CallID == nil || *w.CallID == "":
			return Item{}, invalid(param+".call_id", "Missing required parameter: '%s.call_id'.", param)
		case w.Name == nil || *w.Name == "":
			return Item{}, invalid(param+".name", "Missing required parameter: '%s.name'.", param)
		case w.Arguments == nil:
			return Item{}, invalid(param+".arguments", "Missing required parameter: '%s.arguments'.", param)
		}
		it.CallID, it.Name, it.Arguments = *w.CallID, *w.Name, *w.Arguments
		return it, nil
	case ItemFunctionCallOutput:
		if w.CallID == nil || *w.CallID == "" {
			return Item{}, invalid(param+".call_id", "Missing required parameter: '%s.call_id'.", param)
		}
		it.CallID = *w.CallID
		out, err := decodeOutput(w.Output, param+".output")
		if err != nil {
			return Item{}, err
		}
		it.Output = out
		return it, nil
	case "":
		return Item{}, invalid(param+".type", "Missing required parameter: '%s.type'.", param)
	case ItemReasoning:
		return decodeReasoningItem(it, &w, param)
	case ItemReference:
		if it.ID == "" {
			return Item{}, invalid(param+".id", "Missing required parameter: '%s.id'.", param)
		}
		return it, nil
	}
	return Item{}, unsupported(param+".type", "Item type '%s' (a built-in tool or feature) is not supported by this gateway: only message, function_call and function_call_output items are.", typ)
}

func decodeMessage(it Item, w *wireItem, param string) (Item, error) {
	it.Role = deref(w.Role)
	switch it.Role {
	case "user", "system", "developer", "assistant":
	case "":
		return Item{}, invalid(param+".role", "Missing required parameter: '%s.role'.", param)
	default:
		return Item{}, invalid(param+".role", "Invalid value: '%s'. Supported values are: 'user', 'system', 'developer' and 'assistant'.", it.Role)
	}
	content := bytes.TrimSpace(w.Content)
	textType := PartInputText
	if it.Role == "assistant" {
		textType = PartOutputText
	}
	switch {
	case len(content) == 0 || bytes.Equal(content, []byte("null")):
		return Item{}, invalid(param+".content", "Missing required parameter: '%s.content'.", param)
	case content[0] == '"':
		var s string
		if err := json.Unmarshal(content, &s); err != nil {
			return Item{}, invalid(param+".content", "Invalid '%s.content': %s.", param, jsonProblem(err))
		}
		it.Content = []Part{{Type: textType, Text: s}}
		return it, nil
	case content[0] != '[':
		return Item{}, invalid(param+".content", "Invalid type for '%s.content': expected a string or an array of content parts.", param)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(content, &raws); err != nil {
		return Item{}, invalid(param+".content", "Invalid '%s.content': %s.", param, jsonProblem(err))
	}
	it.Content = make([]Part, 0, len(raws))
	for i, raw := range raws {
		p, err := decodePart(raw, param+".content["+strconv.Itoa(i)+"]", it.Role)
		if err != nil {
			return Item{}, err
		}
		it.Content = append(it.Content, p)
	}
	return it, nil
}

type wirePart struct {
	Type     *string `json:"type"`
	Text     *string `json:"text"`
	Refusal  *string `json:"refusal"`
	ImageURL *string `json:"image_url"`
	FileID   *string `json:"file_id"`
	Detail   *string `json:"detail"`
}

// decodePart reads one content part of a message with the given role. As OpenAI
// does, assistant messages take output_text and refusal parts, the other roles
// input parts; images only in user messages, where chat models accept them.
func decodePart(raw []byte, param, role string) (Part, error) {
	var w wirePart
	if err := json.Unmarshal(raw, &w); err != nil {
		return Part{}, invalid(param, "Invalid content part at '%s': %s.", param, jsonProblem(err))
	}
	typ := deref(w.Type)
	assistant := role == "assistant"
	switch {
	case assistant && (typ == PartOutputText || typ == PartRefusal):
	case !assistant && (typ == PartInputText || typ == PartInputImage):
	case typ == "":
		return Part{}, invalid(param+".type", "Missing required parameter: '%s.type'.", param)
	case typ == "input_file":
		return Part{}, unsupported(param+".type", "File inputs are not supported by this gateway.")
	case assistant:
		return Part{}, invalid(param+".type", "Invalid value: '%s'. Supported values are: 'output_text' and 'refusal'.", typ)
	default:
		return Part{}, invalid(param+".type", "Invalid value: '%s'. Supported values are: 'input_text', 'input_image' and 'input_file'.", typ)
	}
	p := Part{Type: typ}
	switch typ {
	case PartInputText, PartOutputText:
		if w.Text == nil {
			return Part{}, invalid(param+".text", "Missing required parameter: '%s.text'.", param)
		}
		p.Text = *w.Text
	case PartRefusal:
		if w.Refusal == nil {
			return Part{}, invalid(param+".refusal", "Missing required parameter: '%s.refusal'.", param)
		}
		p.Text = *w.Refusal
	case PartInputImage:
		return decodeImage(&w, param, role)
	}
	return p, nil
}

// decodeImage accepts base64 data: URLs only. The gateway never fetches remote URLs
// (SSRF), and a data URL is what every cloud accepts, so a conversation holding the
// image can move to any target.
func decodeImage(w *wirePart, param, role string) (Part, error) {
	if role != "user" {
		return Part{}, invalid(param+".type", "Images are only supported in user messages.")
	}
	if deref(w.FileID) != "" {
		return Part{}, unsupported(param+".file_id", "File ids are not supported by this gateway: send the image inline as a base64 data URL in 'image_url'.")
	}
	url := deref(w.ImageURL)
	if url == "" {
		return Part{}, invalid(param+".image_url", "Missing required parameter: '%s.image_url'.", param)
	}
	if _, err := providers.ParseImageURL(url); err != nil {
		e := providers.AsError(err)
		e.Param = param + ".image_url"
		return Part{}, e
	}
	p := Part{Type: PartInputImage, ImageURL: url, Detail: deref(w.Detail)}
	switch p.Detail {
	case "":
		p.Detail = "auto"
	case "auto", "low", "high":
	default:
		return Part{}, unsupported(param+".detail", "Image detail '%s' is not supported by this gateway: use 'low', 'high' or 'auto'.", p.Detail)
	}
	return p, nil
}

// decodeOutput reads a function call's output: a string, or text parts. Chat tool
// messages carry text only, so image and file parts are refused.
func decodeOutput(raw json.RawMessage, param string) (Output, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return Output{}, invalid(param, "Missing required parameter: '%s'.", param)
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Output{}, invalid(param, "Invalid '%s': %s.", param, jsonProblem(err))
		}
		return Output{Text: s}, nil
	case raw[0] != '[':
		return Output{}, invalid(param, "Invalid type for '%s': expected a string or an array of input_text parts.", param)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		return Output{}, invalid(param, "Invalid '%s': %s.", param, jsonProblem(err))
	}
	out := Output{IsParts: true, Parts: make([]Part, 0, len(raws))}
	for i, r := range raws {
		pp := param + "[" + strconv.Itoa(i) + "]"
		var w wirePart
		if err := json.Unmarshal(r, &w); err != nil {
			return Output{}, invalid(pp, "Invalid content part at '%s': %s.", pp, jsonProblem(err))
		}
		if deref(w.Type) != PartInputText {
			return Output{}, unsupported(pp+".type", "Function call outputs can only carry input_text parts through this gateway (chat tool messages are text).")
		}
		if w.Text == nil {
			return Output{}, invalid(pp+".text", "Missing required parameter: '%s.text'.", pp)
		}
		out.Parts = append(out.Parts, Part{Type: PartInputText, Text: *w.Text})
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// jsonProblem describes a decode error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return "not valid JSON"
	}
	if te.Field == "" {
		return "expected " + jsonKind(te.Type.Kind().String()) + ", got " + te.Value
	}
	return "'" + te.Field + "' must be " + jsonKind(te.Type.Kind().String()) + ", not " + te.Value
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "another type"
}
