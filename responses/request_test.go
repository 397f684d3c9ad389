package responses

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

const pngURL = "data:image/png;base64,iVBORw0KGgo="

func TestDecodeCreateAcceptsTheDocumentedShapes(t *testing.T) {
	body := `{
		"model": "gpt-4o",
		"instructions": "Be brief.",
		"input": [
			{"role": "developer", "content": "Answer in French."},
			{"type": "message", "role": "user", "content": [
				{"type": "input_text", "text": "What is in this image?"},
				{"type": "input_image", "image_url": "` + pngURL + `", "detail": "low"}
			]},
			{"role": "assistant", "content": [{"type": "output_text", "text": "A cat."}, {"type": "refusal", "refusal": "No."}]},
			{"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":1}"},
			{"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_text", "text": "42"}]}
		],
		"tools": [{"type": "function", "name": "lookup", "description": "Look up.", "parameters": {"type": "object"}, "strict": false}],
		"tool_choice": {"type": "function", "name": "lookup"},
		"temperature": 0.5, "top_p": 0.9, "max_output_tokens": 100,
		"metadata": {"tags": "a,b"}, "store": false, "previous_response_id": "resp_abc",
		"stream": true, "truncation": "auto", "parallel_tool_calls": false,
		"text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}},
		"reasoning": {"effort": "low"}, "user": "u1",
		"background": false, "top_logprobs": 0, "service_tier": "auto", "include": ["message.input_image.image_url"],
		"prompt_cache_key": "k", "safety_identifier": "s", "stream_options": {"include_obfuscation": false},
		"conversation": null
	}`
	r, err := DecodeCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "gpt-4o" || *r.Instructions != "Be brief." || len(r.Input) != 5 || !r.Stream ||
		r.Truncation != TruncationAuto || r.ShouldStore() || r.PreviousResponseID != "resp_abc" ||
		*r.Temperature != 0.5 || *r.TopP != 0.9 || *r.MaxOutputTokens != 100 || *r.ParallelToolCalls ||
		r.Metadata["tags"] != "a,b" || *r.ReasoningEffort != "low" || *r.User != "u1" {
		t.Fatalf("decoded %+v", r)
	}
	if r.ToolChoice.Function != "lookup" || len(r.Tools) != 1 || r.Tools[0].Name != "lookup" || *r.Tools[0].Strict {
		t.Fatalf("tools %+v choice %+v", r.Tools, r.ToolChoice)
	}
	if f := r.Text.Format; f.Type != "json_schema" || f.Name != "answer" || string(f.Schema) != `{"type": "object"}` || !*f.Strict {
		t.Fatalf("text %+v", f)
	}
	dev, user, asst, call, out := r.Input[0], r.Input[1], r.Input[2], r.Input[3], r.Input[4]
	if dev.Type != ItemMessage || dev.Role != "developer" || dev.Content[0] != (Part{Type: PartInputText, Text: "Answer in French."}) {
		t.Fatalf("developer %+v", dev)
	}
	if user.Content[1] != (Part{Type: PartInputImage, ImageURL: pngURL, Detail: "low"}) {
		t.Fatalf("image %+v", user.Content[1])
	}
	if asst.Content[0].Type != PartOutputText || asst.Content[1] != (Part{Type: PartRefusal, Text: "No."}) {
		t.Fatalf("assistant %+v", asst)
	}
	if call.ID != "fc_1" || call.CallID != "call_1" || call.Name != "lookup" || call.Arguments != `{"q":1}` {
		t.Fatalf("call %+v", call)
	}
	if out.CallID != "call_1" || !out.Output.IsParts || out.Output.AllText() != "42" {
		t.Fatalf("output %+v", out)
	}
}

func TestDecodeCreateStringInputIsOneUserMessage(t *testing.T) {
	r, err := DecodeCreate([]byte(`{"model":"m","input":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Item{Type: ItemMessage, Status: StatusCompleted, Role: "user", Content: []Part{{Type: PartInputText, Text: "hi"}}}
	if len(r.Input) != 1 || r.Input[0].Role != want.Role || r.Input[0].Content[0] != want.Content[0] {
		t.Fatalf("input %+v", r.Input)
	}
	if !r.ShouldStore() || r.Truncation != "" || r.Stream {
		t.Fatalf("defaults %+v", r)
	}
}

// Every refusal names the parameter, so that a client can see what to change.
func TestDecodeCreateRejectsWithTheParameterNamed(t *testing.T) {
	for _, tc := range []struct {
		name, body, param, code string
	}{
		{"not json", `{`, "", ""},
		{"not an object", `[]`, "", ""},
		{"no model", `{"input":"x"}`, "model", ""},
		{"no input", `{"model":"m"}`, "input", ""},
		{"empty input", `{"model":"m","input":[]}`, "input", ""},
		{"unknown parameter", `{"model":"m","input":"x","frequency":1}`, "frequency", ""},
		{"built-in tool", `{"model":"m","input":"x","tools":[{"type":"web_search"}]}`, "tools[0].type", "unsupported_parameter"},
		{"tool without name", `{"model":"m","input":"x","tools":[{"type":"function"}]}`, "tools[0].name", ""},
		{"background", `{"model":"m","input":"x","background":true}`, "background", "unsupported_parameter"},
		{"conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, "conversation", "unsupported_parameter"},
		{"prompt template", `{"model":"m","input":"x","prompt":{"id":"p"}}`, "prompt", "unsupported_parameter"},
		{"logprobs", `{"model":"m","input":"x","top_logprobs":3}`, "top_logprobs", "unsupported_parameter"},
		{"flex tier", `{"model":"m","input":"x","service_tier":"flex"}`, "service_tier", "unsupported_parameter"},
		{"reasoning summary", `{"model":"m","input":"x","reasoning":{"effort":"low","summary":"verbose"}}`, "reasoning.summary", ""},
		{"include unknown", `{"model":"m","input":"x","include":["reasoning.encrypted_content","file_search_call.results"]}`, "include[1]", "unsupported_parameter"},
		{"verbosity", `{"model":"m","input":"x","text":{"verbosity":"low"}}`, "text.verbosity", "unsupported_parameter"},
		{"schema without name", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name", ""},
		{"bad format", `{"model":"m","input":"x","text":{"format":{"type":"xml"}}}`, "text.format.type", ""},
		{"bad truncation", `{"model":"m","input":"x","truncation":"middle"}`, "truncation", ""},
		{"temperature type", `{"model":"m","input":"x","temperature":"hot"}`, "temperature", ""},
		{"temperature range", `{"model":"m","input":"x","temperature":3}`, "temperature", ""},
		{"tiny max_output_tokens", `{"model":"m","input":"x","max_output_tokens":5}`, "max_output_tokens", "integer_below_min_value"},
		{"metadata value type", `{"model":"m","input":"x","metadata":{"a":1}}`, "metadata", ""},
		{"too much metadata", `{"model":"m","input":"x","metadata":{` + manyPairs(17) + `}}`, "metadata", ""},
		{"hosted tool choice", `{"model":"m","input":"x","tool_choice":{"type":"web_search_preview"}}`, "tool_choice", "unsupported_parameter"},
		{"tool choice not in tools", `{"model":"m","input":"x","tool_choice":{"type":"function","name":"f"}}`, "tool_choice", ""},
		{"reasoning item summary", `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":"x"}]}`, "input[0].summary", ""},
		{"item reference without id", `{"model":"m","input":[{"type":"item_reference"}]}`, "input[0].id", ""},
		{"web search call", `{"model":"m","input":["x",{"type":"web_search_call"}]}`, "input[0]", ""},
		{"bad role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", ""},
		{"input_text for the assistant", `{"model":"m","input":[{"role":"assistant","content":[{"type":"input_text","text":"x"}]}]}`, "input[0].content[0].type", ""},
		{"image for the system", `{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":"` + pngURL + `"}]}]}`, "input[0].content[0].type", ""},
		{"remote image", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://example.com/a.png"}]}]}`, "input[0].content[0].image_url", ""},
		{"file id image", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}`, "input[0].content[0].file_id", "unsupported_parameter"},
		{"file input", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}`, "input[0].content[0].type", "unsupported_parameter"},
		{"call without arguments", `{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f"}]}`, "input[0].arguments", ""},
		{"output without call_id", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", ""},
		{"image in a tool output", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"` + pngURL + `"}]}]}`, "input[0].output[0].type", "unsupported_parameter"},
		{"content of the wrong type", `{"model":"m","input":[{"role":"user","content":5}]}`, "input[0].content", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCreate([]byte(tc.body))
			var e *providers.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *providers.Error", err)
			}
			if e.Status != 400 || e.Type != "invalid_request_error" || e.Param != tc.param || e.Code != tc.code || e.Message == "" {
				t.Fatalf("got %d %s param=%q code=%q %q; want param %q code %q", e.Status, e.Type, e.Param, e.Code, e.Message, tc.param, tc.code)
			}
		})
	}
}

func manyPairs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('a'+i)) + `":"v"`)
	}
	return b.String()
}
