package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers/fakes"
)

// agentRequest is an agent-sized chat request of about size bytes, the same on
// every call: a system prompt, 20 tools with JSON schemas, and a history of tasks
// worked through with tool calls whose results (source files, listings, test
// output, full of quotes, tabs and newlines to escape) are most of the bytes, as
// bench/agent.go builds one for the harness (that package cannot be imported
// here: it imports this one).
func agentRequest(size int) []byte {
	r := rand.New(rand.NewPCG(17, 4))
	words := strings.Fields("the budget decode upstream limit rate header latency module provider encode package body client method price error function lock span target route status model map value slice region golden cost alias metric config response request server timeout parse interface key retry breaker")
	text := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			switch r.IntN(12) {
			case 0:
				b.WriteString("\n\t")
			case 1:
				b.WriteString(`"` + words[r.IntN(len(words))] + `"`)
			case 2:
				b.WriteString(`\n`)
			default:
				b.WriteString(words[r.IntN(len(words))])
			}
			b.WriteByte(' ')
		}
		return b.String()
	}
	type fn struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	type tool struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	var tools []tool
	for i := range 20 {
		schema := fmt.Sprintf(`{"type":"object","properties":{"path":{"type":"string","description":%q},
			"mode":{"type":"string","enum":["read","write","append"]},"limit":{"type":"integer","minimum":1},
			"options":{"type":"object","properties":{"recursive":{"type":"boolean"}}}},"required":["path"]}`, text(60))
		tools = append(tools, tool{"function", fn{fmt.Sprintf("tool_%d", i), text(120), json.RawMessage(schema)}})
	}
	msgs := []map[string]any{{"role": "system", "content": text(4000)}}
	n, total := 0, 0
	for total < size {
		msgs = append(msgs, map[string]any{"role": "user", "content": text(300)})
		for range 1 + r.IntN(4) {
			var calls []map[string]any
			for range 1 + r.IntN(2) {
				n++
				id := fmt.Sprintf("call_%04d", n)
				args, _ := json.Marshal(map[string]any{"path": "src/" + words[r.IntN(len(words))] + ".go", "mode": "read", "limit": 200})
				calls = append(calls, map[string]any{"id": id, "type": "function",
					"function": map[string]any{"name": tools[r.IntN(len(tools))].Function.Name, "arguments": string(args)}})
			}
			msgs = append(msgs, map[string]any{"role": "assistant", "content": nil, "tool_calls": calls})
			for _, c := range calls {
				out := text(2000 + r.IntN(3000))
				total += len(out)
				msgs = append(msgs, map[string]any{"role": "tool", "tool_call_id": c["id"], "content": out})
			}
		}
		msgs = append(msgs, map[string]any{"role": "assistant", "content": text(400)})
	}
	body, err := json.Marshal(map[string]any{"model": "agent", "max_tokens": 4096, "tool_choice": "auto",
		"tools": tools, "messages": msgs})
	if err != nil {
		panic(err)
	}
	return body
}

// An agent-sized conversation is hashed while it is written (hash.go), in
// pieces, some taken from arrays the body later grew out of; the fake checks
// the signature over the body it received, so a piece hashed twice, missed, or
// changed after it was handed over fails it.
func TestAgentConversationSignedWhileWritten(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(t, f)
	for _, size := range []int{hashPiece - 1<<10, 3 * hashPiece, 400 << 10} {
		body := agentRequest(size)
		if _, err := p.Chat(context.Background(), chatCall(t, sonnet, string(body))); err != nil {
			t.Fatalf("%d bytes: %v", len(body), err)
		}
		s, err := p.ChatStream(context.Background(), chatCall(t, sonnet, string(body)))
		if err != nil {
			t.Fatalf("%d bytes, streamed: %v", len(body), err)
		}
		if _, _, err := drain(t, s); err != io.EOF {
			t.Fatalf("%d bytes, streamed: %v", len(body), err)
		}
	}
}

// The hash of pieces handed over as the body grows, through new arrays, is the
// body's.
func TestBodyHashPieces(t *testing.T) {
	for _, pieces := range [][]int{nil, {10}, {hashPiece}, {hashPiece + 1, 2 * hashPiece}, {70 << 10, 200 << 10, 201 << 10, 500 << 10}} {
		var h bodyHash
		var out []byte // grown by append, as the writer grows its buffer
		for i, end := range pieces {
			for len(out) < end {
				out = append(out, byte(len(out)*7+i))
			}
			h.feed(out)
		}
		out = append(out, "tail"...)
		if got, want := h.finish(out), sha256.Sum256(out); got != want {
			t.Errorf("pieces ending at %v: hash %x, want %x", pieces, got, want)
		}
		if h.pieces != nil {
			t.Errorf("pieces ending at %v: the goroutine is left running", pieces)
		}
	}
}
