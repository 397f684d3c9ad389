package responses

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sdk "github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/providers"
)

var signed = []providers.ThinkingBlock{{Type: "thinking", Thinking: "Check the weather.", Signature: "c2lnbmF0dXJl"},
	{Type: "redacted_thinking", Data: "cmVkYWN0ZWQ="}}

func thinkingReply(text string, calls ...providers.ToolCall) *providers.ChatResponse {
	r := reply(text, providers.FinishStop, calls...)
	if len(calls) > 0 {
		r.Choices[0].FinishReason = providers.FinishToolCalls
	}
	r.Choices[0].Message.ReasoningContent = "Check the weather."
	r.Choices[0].Message.ThinkingBlocks = signed
	return r
}

// A reasoning target's thinking comes out as a reasoning item (summary when asked
// for, encrypted_content when included) that the SDK decodes, and goes back into
// the next turn's assistant message with its signatures, whether the client
// continues with previous_response_id or sends the item back with its
// encrypted_content and no store.
func TestReasoningItemsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openState(t), Options{})
	r1 := turn(t, s, alice, `{"model":"m","input":"weather?","reasoning":{"effort":"high","summary":"auto"},"include":["reasoning.encrypted_content"]}`,
		thinkingReply("", call("call_1", "weather", `{}`)))
	raw, err := json.Marshal(r1)
	if err != nil {
		t.Fatal(err)
	}
	var got sdk.Response
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	rs := got.Output[0].AsReasoning()
	if got.Output[0].Type != "reasoning" || len(rs.Summary) != 1 || rs.Summary[0].Text != "Check the weather." ||
		!strings.HasPrefix(rs.EncryptedContent, encryptedPrefix) || got.Output[1].Type != "function_call" || *r1.Reasoning.Summary != "auto" {
		t.Fatalf("output %s", raw)
	}

	next := `{"model":"m","previous_response_id":"` + r1.ID + `","input":[{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}`
	tr, err := s.Begin(ctx, mustDecode(t, next), alice)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := tr.Chat(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := chat.Messages[1]
	if a.Role != "assistant" || len(a.ToolCalls) != 1 || !reflect.DeepEqual(a.ThinkingBlocks, signed) || a.ReasoningContent != "Check the weather." {
		t.Fatalf("assistant turn %+v", a)
	}

	// Stateless: the client sends every item back, the reasoning item with its
	// encrypted_content (store: false, as the Agents SDK does without a store).
	items, _ := json.Marshal(r1.Output)
	stateless := `{"model":"m","store":false,"input":[{"role":"user","content":"weather?"},` + strings.Trim(string(items), "[]") +
		`,{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}`
	tr, err = s.Begin(ctx, mustDecode(t, stateless), bob)
	if err != nil {
		t.Fatal(err)
	}
	if chat, err = tr.Chat(0, nil); err != nil {
		t.Fatal(err)
	}
	if a := chat.Messages[1]; !reflect.DeepEqual(a.ThinkingBlocks, signed) {
		t.Fatalf("stateless assistant turn %+v", a)
	}

	// Without include, encrypted_content is null, and GET does not show it either.
	r2 := turn(t, s, alice, `{"model":"m","input":"again"}`, thinkingReply("ok"))
	out, _ := json.Marshal(r2.Output[0])
	if !strings.Contains(string(out), `"summary":[],"encrypted_content":null`) {
		t.Fatalf("reasoning item %s", out)
	}
	rec, err := s.Get(ctx, r2.ID, alice)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(rec.Response.Output[0]); strings.Contains(string(out), encryptedPrefix) {
		t.Fatalf("GET shows encrypted_content: %s", out)
	}
}

// item_reference items, as the Vercel AI SDK sends response.messages back, and
// reasoning items sent back by id only, as the OpenAI Agents SDK sends them, are
// resolved from the store, for the key that owns them (or its team with
// share_team) only.
func TestItemReferencesResolvePerOwner(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openState(t), Options{})
	r1 := turn(t, s, alice, `{"model":"m","input":"one"}`, thinkingReply("1"))
	rsID, msgID := r1.Output[0].ID, r1.Output[1].ID
	user := turnInputID(t, s, alice, r1.ID)
	body := `{"model":"m","input":[{"type":"item_reference","id":"` + user + `"},{"id":"` + rsID + `","type":"reasoning","summary":[]},` +
		`{"type":"item_reference","id":"` + msgID + `"},{"role":"user","content":[{"type":"input_text","text":"two"}]}]}`

	tr, err := s.Begin(ctx, mustDecode(t, body), alice)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := tr.Chat(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range chat.Messages {
		got = append(got, m.Role+":"+m.Content.AllText())
	}
	if strings.Join(got, " ") != "user:one assistant:1 user:two" || !reflect.DeepEqual(chat.Messages[1].ThinkingBlocks, signed) {
		t.Fatalf("messages %v %+v", got, chat.Messages[1])
	}

	for _, who := range []Owner{bob, eve} {
		_, err := s.Begin(ctx, mustDecode(t, body), who)
		if e := providers.AsError(err); e == nil || e.Status != 404 || e.Param != "input[0].id" || !strings.Contains(e.Message, user) {
			t.Fatalf("%v: %v", who, err)
		}
	}
	shared := newStore(t, s.st, Options{ShareTeam: true})
	if _, err := shared.Begin(ctx, mustDecode(t, body), bob); err != nil {
		t.Fatalf("team sharing: %v", err)
	}
	if err := s.Delete(ctx, r1.ID, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(ctx, mustDecode(t, body), alice); providers.AsError(err) == nil || providers.AsError(err).Status != 404 {
		t.Fatalf("deleted: %v", err)
	}
}

func turnInputID(t *testing.T, s *Store, owner Owner, id string) string {
	t.Helper()
	rec, err := s.Get(context.Background(), id, owner)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Input[0].ID
}

// A streamed reasoning target: the reasoning item streams its summary, closes when
// the text begins, and the SDK's accumulator rebuilds the same Response.
func TestStreamReasoning(t *testing.T) {
	req, _ := DecodeCreate([]byte(`{"model":"m","input":"hi","stream":true,"reasoning":{"summary":"auto"},"include":["reasoning.encrypted_content"]}`))
	base := NewResponse(req, NewResponseID(), time.Unix(1700000000, 0))
	b := NewStreamBuilder(base)
	chunk := func(delta string) []byte {
		return []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}`)
	}
	out := run(t, b,
		chunk(`{"role":"assistant","content":""}`),
		chunk(`{"reasoning_content":"Think "}`),
		chunk(`{"reasoning_content":"hard."}`),
		chunk(`{"thinking_blocks":[{"type":"thinking","thinking":"Think hard.","signature":"c2ln"}]}`),
		chunk(`{"content":"Hello"}`),
		[]byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
	)
	end, final := b.Finish()
	out = append(out, end...)
	types := checkEvents(t, parseSSE(t, out), final)
	joined := strings.Join(types, ",")
	for _, want := range []string{"response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
		"response.reasoning_summary_text.done", "response.reasoning_summary_part.done"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("no %s in %s", want, joined)
		}
	}
	rs := final.Output[0]
	blocks, _ := decodeThinking(rs.Encrypted)
	if rs.Type != ItemReasoning || summaryText(&rs) != "Think hard." || len(blocks) != 1 || blocks[0].Signature != "c2ln" ||
		final.Output[1].Type != ItemMessage || final.OutputText() != "Hello" {
		t.Fatalf("final %+v", final.Output)
	}
}

// FuzzDecodeThinking: encrypted_content from a client decodes or is refused,
// never panics, and what this gateway encodes decodes to the same blocks.
func FuzzDecodeThinking(f *testing.F) {
	f.Add(encodeThinking(signed), "thinking", "text", "sig")
	f.Add("sy1.!!", "redacted_thinking", "", "")
	f.Fuzz(func(t *testing.T, s, typ, text, sig string) {
		_, _ = decodeThinking(s)
		if !utf8.ValidString(typ) || !utf8.ValidString(text) || !utf8.ValidString(sig) {
			return // JSON carries text; clouds' signatures are base64 (each checked alone: "\xc2" and "\xa9" join into "©")
		}
		in := []providers.ThinkingBlock{{Type: typ, Thinking: text, Signature: sig}}
		out, ok := decodeThinking(encodeThinking(in))
		if !ok || len(out) != 1 || out[0].Type != typ || out[0].Signature != sig {
			t.Fatalf("%+v → %+v %v", in, out, ok)
		}
	})
}
