package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// messagesBody is a Messages request with what a pass-through must keep: a
// thinking block's signature (the one the fake gave it), cache_control, unknown
// fields.
var messagesBody = strings.Replace(`{"model":"alias","max_tokens":256,"stream":true,
 "system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
 "messages":[{"role":"user","content":"hello there"},
  {"role":"assistant","content":[{"type":"thinking","thinking":"Greet back.","signature":"U2ln+/=="},{"type":"text","text":"Hi!"}]},
  {"role":"user","content":"and again"}],
 "x_unknown":{"a":[1,2]}}`, "U2ln+/==", greetSig, 1)

var greetSig = fakes.ClaudeSignature("Greet back.")

func claudeCall(beta ...string) *providers.MessagesCall {
	return &providers.MessagesCall{Body: []byte(messagesBody), Model: sonnet, Beta: beta}
}

func TestSpeaksMessagesForClaudeOnly(t *testing.T) {
	p := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret})
	for model, want := range map[string]bool{
		sonnet: true, "anthropic.claude-3-haiku-20240307-v1:0": true,
		"arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0": true,
		"amazon.nova-pro-v1:0": false, "meta.llama3-70b-instruct-v1:0": false,
	} {
		if p.SpeaksMessages(model) != want {
			t.Errorf("%s: %v", model, !want)
		}
	}
}

func TestMessagesThroughInvokeModel(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, rec := fakeProvider(t, f)
	var dropped []string
	call := claudeCall("interleaved-thinking-2025-05-14", "claude-code-20250219")
	call.DroppedBeta = func(flags []string) { dropped = append(dropped, flags...) }
	resp, err := p.Messages(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dropped, []string{"claude-code-20250219"}) {
		t.Fatalf("dropped %v", dropped)
	}
	if rec.last() != "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke" {
		t.Fatalf("path %s", rec.last())
	}
	sent := f.Requests()[0].Body
	want := `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":256,` +
		`"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":"hello there"},
  {"role":"assistant","content":[{"type":"thinking","thinking":"Greet back.","signature":"` + greetSig + `"},{"type":"text","text":"Hi!"}]},
  {"role":"user","content":"and again"}],"x_unknown":{"a":[1,2]}}`
	if string(sent) != want {
		t.Fatalf("InvokeModel body\n%s\nwant\n%s", sent, want)
	}
	var msg struct {
		Type    string `json:"type"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(resp.Body, &msg); err != nil || msg.Type != "message" || msg.Content[0].Text != "br heard: and again" {
		t.Fatalf("answer %s", resp.Body)
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 4 || resp.Model != "claude-sonnet-4-20250514" {
		t.Fatalf("usage %+v model %q", resp.Usage, resp.Model)
	}
}

func TestMessagesStreamThroughInvokeWithResponseStream(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, rec := fakeProvider(t, f)
	f.Script(fakes.ClaudeReply{
		Content: []json.RawMessage{json.RawMessage(`{"type":"thinking","thinking":"a b","signature":"U2ln+/=="}`),
			json.RawMessage(`{"type":"text","text":"Hello you"}`)},
		Usage: &fakes.ClaudeUsage{InputTokens: 11, CacheReadInputTokens: 100, CacheCreationInputTokens: 7, OutputTokens: 9},
	})
	s, err := p.MessagesStream(context.Background(), claudeCall())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasSuffix(rec.last(), "/invoke-with-response-stream") {
		t.Fatalf("path %s", rec.last())
	}
	var events []string
	var text, signature string
	var last *providers.Usage
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, c.Event)
		if c.Usage != nil {
			last = c.Usage
		}
		var ev struct {
			Delta struct {
				Text      string `json:"text"`
				Signature string `json:"signature"`
			} `json:"delta"`
		}
		_ = json.Unmarshal(c.Data, &ev)
		text += ev.Delta.Text
		signature += ev.Delta.Signature
	}
	if events[0] != "message_start" || events[len(events)-1] != "message_stop" || text != "Hello you" || signature != "U2ln+/==" {
		t.Fatalf("events %v text %q signature %q", events, text, signature)
	}
	if last == nil || last.PromptTokens != 118 || last.CachedTokens() != 100 || last.PromptTokensDetails.CacheWriteTokens != 7 ||
		last.CompletionTokens != 9 {
		t.Fatalf("usage %+v", last)
	}
	if bytes.Contains(f.Requests()[0].Body, []byte(`"stream"`)) {
		t.Fatalf("stream left in the body: %s", f.Requests()[0].Body)
	}
}

func TestMessagesStreamFailures(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(t, f)
	read := func() error {
		s, err := p.MessagesStream(context.Background(), claudeCall())
		if err != nil {
			return err
		}
		defer s.Close()
		for {
			if _, err := s.Recv(); err != nil {
				return err
			}
		}
	}
	f.Fail(fakes.Fault{CutAfter: 3, Code: "throttlingException", Times: 1})
	var e *providers.Error
	if err := read(); !errors.As(err, &e) || e.Class != providers.ClassRateLimited {
		t.Fatalf("throttled mid-stream: %v", err)
	}
	f.Fail(fakes.Fault{CutAfter: 3, Times: 1})
	if err := read(); !errors.Is(err, providers.ErrTruncated) {
		t.Fatalf("cut: %v", err)
	}
	f.Fail(fakes.Fault{Status: 429, Times: 1})
	if err := read(); !errors.As(err, &e) || e.Class != providers.ClassRateLimited || e.Status != 429 {
		t.Fatalf("throttled: %v", err)
	}
	if err := read(); !errors.Is(err, io.EOF) {
		t.Fatalf("healthy: %v", err)
	}
}

func TestMessagesUnknownBetaNeverReachesBedrock(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(t, f)
	// Without the filter the fake answers 400 "invalid beta flag", as Bedrock does.
	if _, err := p.Messages(context.Background(), claudeCall("mcp-servers-2025-12-04", "context-1m-2025-08-07")); err != nil {
		t.Fatal(err)
	}
	if sent := f.Requests()[0].Body; !bytes.Contains(sent, []byte(`"anthropic_beta":["context-1m-2025-08-07"]`)) {
		t.Fatalf("body %s", sent)
	}
}

func TestCountTokensThroughBedrock(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, rec := fakeProvider(t, f)
	count := `{"model":"alias","system":"Be brief.","messages":[{"role":"user","content":"and again"}]}`
	n, err := p.CountTokens(context.Background(), &providers.MessagesCall{Body: []byte(count), Model: sonnet})
	if err != nil {
		t.Fatal(err)
	}
	if rec.last() != "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/count-tokens" {
		t.Fatalf("path %s", rec.last())
	}
	resp, err := p.Messages(context.Background(), &providers.MessagesCall{Model: sonnet,
		Body: []byte(strings.Replace(count, `"system"`, `"max_tokens":10,"system"`, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != resp.Usage.PromptTokens {
		t.Fatalf("count %d, usage %+v", n, resp.Usage)
	}
	var sent struct {
		Input struct {
			InvokeModel struct {
				Body string `json:"body"`
			} `json:"invokeModel"`
		} `json:"input"`
	}
	if err := json.Unmarshal(f.Requests()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	inner, _ := base64.StdEncoding.DecodeString(sent.Input.InvokeModel.Body)
	if !bytes.HasPrefix(inner, []byte(`{"anthropic_version":"bedrock-2023-05-31","system"`)) || !bytes.HasSuffix(inner, []byte(`,"max_tokens":1}`)) {
		t.Fatalf("counted body %s", inner)
	}
}

func TestFoundationModel(t *testing.T) {
	for in, want := range map[string]string{
		"us.anthropic.claude-sonnet-4-20250514-v1:0":                          "anthropic.claude-sonnet-4-20250514-v1:0",
		"global.anthropic.claude-opus-4-5-20251101-v1:0":                      "anthropic.claude-opus-4-5-20251101-v1:0",
		"us-gov.anthropic.claude-3-haiku-20240307-v1:0":                       "anthropic.claude-3-haiku-20240307-v1:0",
		"anthropic.claude-3-haiku-20240307-v1:0":                              "anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-x": "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-x",
	} {
		if got := FoundationModel(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestInvokeBodyRejectsNonObjects(t *testing.T) {
	for _, bad := range []string{``, `[1]`, `{"a":`, `"x"`} {
		if _, err := invokeBody([]byte(bad), nil, false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzMessagesStream sends arbitrary bytes, and well-framed chunks of arbitrary
// event JSON, as an InvokeModelWithResponseStream body: the stream must end in
// io.EOF or a classified error, never panic or loop.
func FuzzMessagesStream(f *testing.F) {
	chunk := func(tb testing.TB, event string) []byte {
		payload, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString([]byte(event))})
		return encodeFrame(tb, "chunk", "", payload)
	}
	valid := bytes.Join([][]byte{
		chunk(f, `{"type":"message_start","message":{"usage":{"input_tokens":3}}}`),
		chunk(f, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`),
		chunk(f, `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`),
		chunk(f, `{"type":"message_stop"}`),
	}, nil)
	f.Add(valid, `{"type":"error","error":{"type":"overloaded_error"}}`)
	f.Add([]byte{}, `{"type":"message_start"}`)
	f.Add(valid[:len(valid)/2], `{`)
	fx := newFixture(f, 200, eventStreamHeader, nil)
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		for _, b := range [][]byte{body, append(chunk(t, `{"type":"message_start","message":{}}`), chunk(t, event)...)} {
			fx.status, fx.header, fx.body = 200, eventStreamHeader, b
			s, err := fx.p.MessagesStream(context.Background(), claudeCall())
			if err != nil {
				t.Fatalf("stream refused: %v", err)
			}
			checkEnd(t, s)
		}
	})
}

// BenchmarkInvokeBody is the InvokeModel body of a Messages request: one pass.
func BenchmarkInvokeBody(b *testing.B) {
	body := []byte(messagesBody)
	beta := []string{"interleaved-thinking-2025-05-14"}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = invokeBody(body, beta, false)
	}
}

// rawMembers are an object's top-level members as written.
func rawMembers(obj []byte) [][2]string {
	var out [][2]string
	_ = jsonfield.Each(obj, func(k, v []byte) bool {
		out = append(out, [2]string{string(k), string(v)})
		return true
	})
	return out
}

// FuzzInvokeBody: for any JSON object, the InvokeModel body is valid JSON whose
// members are anthropic_version, the beta flags, then the client's members as
// written, in order, but model, stream and the client's own anthropic_version
// and anthropic_beta (and max_tokens 1 added for CountTokens when absent).
func FuzzInvokeBody(f *testing.F) {
	f.Add([]byte(messagesBody), true)
	f.Add([]byte(`{"model":"m","anthropic_version":"x","anthropic_beta":["y"],"max_tokens":5}`), false)
	f.Add([]byte(`{}`), true)
	f.Fuzz(func(t *testing.T, body []byte, count bool) {
		beta := []string{"interleaved-thinking-2025-05-14"}
		out, err := invokeBody(body, beta, count)
		if !json.Valid(body) || jsonfield.Each(body, func(_, _ []byte) bool { return true }) != nil {
			return // the dialect refuses what is not a JSON object before
		}
		if err != nil {
			t.Fatalf("a JSON object refused: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, body)
		}
		want := [][2]string{{"anthropic_version", `"bedrock-2023-05-31"`}, {"anthropic_beta", `["interleaved-thinking-2025-05-14"]`}}
		hasMax := false
		for _, m := range rawMembers(body) {
			switch m[0] {
			case "model", "stream", "anthropic_version", "anthropic_beta":
				continue
			case "max_tokens":
				hasMax = true
			}
			want = append(want, m)
		}
		if count && !hasMax {
			want = append(want, [2]string{"max_tokens", "1"})
		}
		if got := rawMembers(out); !slices.Equal(got, want) {
			t.Fatalf("members %q, want %q", got, want)
		}
	})
}
