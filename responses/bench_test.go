package responses

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// chain20 is a 20-turn conversation: a user question, an assistant answer with a
// tool call every fourth turn, answered in the next turn's input.
func chain20() ([]*Stored, *CreateRequest) {
	var chain []*Stored
	pending := ""
	for i := range 20 {
		var in []Item
		if pending != "" {
			in = append(in, outputItem(pending, `{"result":"some tool output of moderate length"}`))
			pending = ""
		}
		in = append(in, userText(fmt.Sprintf("Question %d: %s", i, strings.Repeat("please explain in detail ", 8))))
		out := []Item{assistantText(strings.Repeat("Here is a fairly long answer sentence. ", 10))}
		if i%4 == 3 {
			pending = fmt.Sprintf("call_%d", i)
			out = append(out, Item{Type: ItemFunctionCall, CallID: pending, Name: "lookup", Arguments: `{"q":"x"}`})
		}
		chain = append(chain, storedTurn(in, out...))
	}
	req := &CreateRequest{Model: "gpt-4o", Input: []Item{outputItem(pending, "ok"), userText("And now?")},
		Tools: []FunctionTool{{Type: "function", Name: "lookup", Parameters: []byte(`{"type":"object"}`)}}}
	if pending == "" {
		req.Input = req.Input[1:]
	}
	return chain, req
}

func BenchmarkToChat20Turns(b *testing.B) {
	chain, req := chain20()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToChat(chain, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFit20Turns(b *testing.B) {
	chain, req := chain20()
	req.Truncation = TruncationAuto
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(chain, req, 2000, estimateChars); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamChunk is the per-chunk cost of a streamed answer: one text delta
// chunk in, its output_text.delta event out.
func BenchmarkStreamChunk(b *testing.B) {
	enc := providers.NewStreamEncoder("chatcmpl-1", "gpt-4o", 1)
	chunk := bytes.Clone(enc.Text("a typical token or two"))
	sb := NewStreamBuilder(streamBase())
	sb.Start()
	if _, err := sb.Chunk(chunk); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, err := sb.Chunk(chunk); err != nil {
			b.Fatal(err)
		}
		if len(sb.items[0].parts[0].body) > 1<<20 {
			sb.items[0].parts[0].body = sb.items[0].parts[0].body[:0]
		}
	}
}

func BenchmarkStreamToolCallChunk(b *testing.B) {
	enc := providers.NewStreamEncoder("chatcmpl-1", "gpt-4o", 1)
	chunk := bytes.Clone(enc.ToolCallArgs(0, `{"city":"Par`))
	sb := NewStreamBuilder(streamBase())
	sb.Start()
	if _, err := sb.Chunk(enc.ToolCallStart(0, "call_1", "weather")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sb.Chunk(chunk); err != nil {
			b.Fatal(err)
		}
		if c := sb.calls[0]; len(c.args) > 1<<20 {
			c.args = c.args[:0]
		}
	}
}
