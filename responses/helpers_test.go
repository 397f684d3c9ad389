package responses

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/state"
)

// openState opens the embedded state driver in a temporary directory.
func openState(t testing.TB) state.Store {
	t.Helper()
	st, err := state.Open(config.State{Driver: "embedded", Path: filepath.Join(t.TempDir(), "state.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// countingStore counts the record reads that reach the state store.
type countingStore struct {
	state.Store
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

// failingStore is a state store that cannot be reached.
type failingStore struct{ state.Store }

func (failingStore) Get(context.Context, string) ([]byte, error) { return nil, state.ErrUnavailable }

// clock is a settable test clock.
type clock struct{ now atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time                     { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration)            { c.now.Add(int64(d)) }
func textReply(text string) *providers.ChatResponse { return reply(text, providers.FinishStop) }

func reply(text, finish string, calls ...providers.ToolCall) *providers.ChatResponse {
	m := providers.Message{Role: "assistant", Content: providers.TextContent(text), ToolCalls: calls}
	return &providers.ChatResponse{ID: "chatcmpl-1", Object: "chat.completion", Model: "upstream",
		Choices: []providers.Choice{{Message: m, FinishReason: finish}},
		Usage:   &providers.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}}
}

func call(id, name, args string) providers.ToolCall {
	return providers.ToolCall{ID: id, Type: "function", Function: providers.FunctionCall{Name: name, Arguments: args}}
}

func mustDecode(t testing.TB, body string) *CreateRequest {
	t.Helper()
	r, err := DecodeCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// turn runs one non-streamed turn: begin, answer with resp, save.
func turn(t testing.TB, s *Store, owner Owner, body string, resp *providers.ChatResponse) *Response {
	t.Helper()
	ctx := context.Background()
	tr, err := s.Begin(ctx, mustDecode(t, body), owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Chat(0, nil); err != nil {
		t.Fatal(err)
	}
	final := tr.Complete(resp)
	if _, err := s.Save(ctx, tr, final); err != nil {
		t.Fatal(err)
	}
	return final
}

// estimateChars is a test estimator: a token per 4 bytes of text, 3 per message.
func estimateChars(msgs []providers.Message) int {
	n := 0
	for _, m := range msgs {
		n += 3 + len(m.Content.AllText())/4 + len(m.Refusal)/4
		for _, tc := range m.ToolCalls {
			n += 3 + len(tc.Function.Name)/4 + len(tc.Function.Arguments)/4
		}
	}
	return n
}
