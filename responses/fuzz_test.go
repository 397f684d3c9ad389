package responses

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// FuzzDecodeCreate: any body is refused with an error or decodes into a request
// that converts to chat (or is refused there) and whose Response encodes; nothing
// panics.
func FuzzDecodeCreate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.in.json")
	for _, name := range files {
		raw, _ := os.ReadFile(name)
		var c struct {
			Request json.RawMessage `json:"request"`
		}
		if json.Unmarshal(raw, &c) == nil {
			f.Add([]byte(c.Request))
		}
	}
	f.Add([]byte(`{"model":"m","input":"hi"}`))
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x"}]}]}`))
	f.Add([]byte(`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]}],"tool_choice":"auto"}`))
	f.Add([]byte(`{"model":"m","input":"x","text":{"format":{"type":"json_object"}},"metadata":{"a":"b"},"truncation":"auto"}`))
	f.Add([]byte(`{"model":null,"input":null,"tools":[{"type":"function","name":"f","parameters":5}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeCreate(body)
		if err != nil {
			if providers.AsError(err).Status != 400 {
				t.Fatalf("non-400 refusal %v", err)
			}
			return
		}
		if req.Model == "" || len(req.Input) == 0 {
			t.Fatalf("accepted without model or input: %s", body)
		}
		if _, err := ToChat(nil, req); err != nil && providers.AsError(err).Status != 400 {
			t.Fatalf("ToChat: %v", err)
		}
		if _, err := Fit(nil, req, 10, estimateChars); err != nil && providers.AsError(err).Code != "context_length_exceeded" {
			t.Fatalf("Fit: %v", err)
		}
		r := NewResponse(req, NewResponseID(), time.Unix(0, 0))
		raw, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("Response does not encode: %v", err)
		}
		var back Response
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("Response does not decode back: %v\n%s", err, raw)
		}
		for _, it := range req.Input {
			var item Item
			if err := json.Unmarshal(appendItem(nil, &it), &item); err != nil {
				t.Fatalf("input item does not round trip: %v", err)
			}
		}
	})
}

// FuzzStreamChunks: chunks (one per line of the input) never make the builder panic,
// and every event it writes, to the end, is a framed event with valid JSON data.
func FuzzStreamChunks(f *testing.F) {
	enc := providers.NewStreamEncoder("c", "m", 1)
	seed := [][]byte{
		bytes.Clone(enc.Role()), bytes.Clone(enc.Text("héllo \"x\"\n")), bytes.Clone(enc.ToolCallStart(0, "call_1", "f")),
		bytes.Clone(enc.ToolCallArgs(0, `{"a":`)), bytes.Clone(enc.ToolCallStart(2, "", "g")), bytes.Clone(enc.ToolCallArgs(0, `1}`)),
		bytes.Clone(enc.Finish(providers.FinishLength)), bytes.Clone(enc.Usage(providers.Usage{PromptTokens: 1, CompletionTokens: 2})),
	}
	f.Add(bytes.Join(seed, []byte("\n")))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"refusal":"no"}}]}` + "\n" + `{"choices":[{"delta":{"content":"\ud83d\ude00 \u0000"}}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"x"}}]}}]}` + "\n{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}"))
	f.Add([]byte(`{"choices":"x","usage":{"prompt_tokens":-1}}` + "\n[]\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewStreamBuilder(streamBase())
		check := func(out []byte) {
			for len(out) > 0 {
				end := bytes.Index(out, []byte("\n\n"))
				if end < 0 {
					t.Fatalf("unterminated event %q", out)
				}
				_, ev, ok := bytes.Cut(out[:end], []byte("\ndata: "))
				if !ok || !json.Valid(ev) {
					t.Fatalf("invalid event %q", out[:end])
				}
				out = out[end+2:]
			}
		}
		check(b.Start())
		for _, chunk := range bytes.Split(data, []byte("\n")) {
			out, err := b.Chunk(chunk)
			if err == nil {
				check(out)
			}
		}
		out, final := b.Finish()
		check(out)
		if _, err := json.Marshal(final); err != nil {
			t.Fatal(err)
		}
	})
}
