package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/providers/sse"
)

// claudeCodeBody is a Messages request as Claude Code sends one: cache_control on
// system blocks and a tool, a thinking block with its signature in the history,
// fields Switchyard does not know, and its own spacing. The thinking text has an
// escape, kept byte for byte; the signature is the one the fake gave the block.
var claudeCodeBody = strings.Replace(`{"model":"claude-code-alias", "max_tokens":4096,
 "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
 "thinking":{"type":"enabled","budget_tokens":1024},
 "tools":[{"name":"Read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}},"cache_control":{"type":"ephemeral","ttl":"1h"}}],
 "messages":[{"role":"user","content":"read main.go"},
  {"role":"assistant","content":[{"type":"thinking","thinking":"I should read it \u00e9.","signature":"SIG"},{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"main.go"}}]},
  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"package main","is_error":false}]}],
 "context_management":{"edits":[]}, "x_future_field":{"kept":[1,2.50,"3"]}}`,
	"SIG", fakes.ClaudeSignature("I should read it é."), 1)

func nativeCall(body string, beta ...string) *providers.MessagesCall {
	return &providers.MessagesCall{Body: []byte(body), Model: "claude-sonnet-4-5", Beta: beta,
		Header: http.Header{"Traceparent": {"00-abc-def-01"}}}
}

func TestMessagesPassThroughRewritesOnlyTheModel(t *testing.T) {
	p, fake := setup(t, Config{Beta: []string{"beta-a"}})
	resp, err := p.Messages(context.Background(), nativeCall(claudeCodeBody, "interleaved-thinking-2025-05-14", "beta-a"))
	if err != nil {
		t.Fatal(err)
	}
	rec := fake.Requests()[0]
	want, _ := jsonfield.Set([]byte(claudeCodeBody), "model", []byte(`"claude-sonnet-4-5"`))
	if !bytes.Equal(rec.Body, want) {
		t.Fatalf("upstream body\n%s\nwant\n%s", rec.Body, want)
	}
	h := rec.Header
	if rec.Path != "/v1/messages" || h.Get("X-Api-Key") != testKey || h.Get("Anthropic-Version") != "2023-06-01" ||
		h.Get("Anthropic-Beta") != "beta-a,interleaved-thinking-2025-05-14" || h.Get("Traceparent") != "00-abc-def-01" {
		t.Fatalf("upstream %s headers %v", rec.Path, h)
	}
	if resp.Model != "claude-sonnet-4-5" || resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
		t.Fatalf("response %+v", resp)
	}
}

func TestMessagesAnswerIsTheUpstreamBytes(t *testing.T) {
	p, fake := setup(t, Config{})
	reply := fakes.ClaudeReply{
		Content: []json.RawMessage{json.RawMessage(`{"type":"thinking","thinking":"hmm","signature":"c2lnbmF0dXJl+/="}`),
			json.RawMessage(`{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"go"}}`),
			json.RawMessage(`{"type":"text","text":"Done."}`)},
		Usage: &fakes.ClaudeUsage{InputTokens: 10, CacheCreationInputTokens: 20, CacheReadInputTokens: 30, OutputTokens: 5},
	}
	fake.Script(reply, reply)
	resp, err := p.Messages(context.Background(), nativeCall(claudeCodeBody))
	if err != nil {
		t.Fatal(err)
	}
	direct := directAnswer(t, fake, claudeCodeBody)
	// The fake numbers its messages: the direct one is the second.
	direct = bytes.Replace(direct, []byte(`"msg_claude_2"`), []byte(`"msg_claude_1"`), 1)
	if !bytes.Equal(resp.Body, direct) {
		t.Fatalf("relayed\n%s\ndirect\n%s", resp.Body, direct)
	}
	u := resp.Usage
	if u.PromptTokens != 60 || u.CompletionTokens != 5 || u.TotalTokens != 65 || u.CachedTokens() != 30 ||
		u.PromptTokensDetails.CacheWriteTokens != 20 {
		t.Fatalf("usage %+v details %+v", u, u.PromptTokensDetails)
	}
}

// directAnswer is what a client calling the fake itself, for the upstream model,
// gets.
func directAnswer(t *testing.T, fake *fakes.Anthropic, body string) []byte {
	t.Helper()
	body = strings.Replace(body, `"model":"claude-code-alias"`, `"model":"claude-sonnet-4-5"`, 1)
	req, _ := http.NewRequest(http.MethodPost, fake.BaseURL()+"/v1/messages", strings.NewReader(body))
	req.Header.Set("X-Api-Key", testKey)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func TestMessagesStreamRelaysEveryEvent(t *testing.T) {
	p, fake := setup(t, Config{})
	reply := fakes.ClaudeReply{
		Content: []json.RawMessage{json.RawMessage(`{"type":"thinking","thinking":"let me think","signature":"c2ln+/=="}`),
			json.RawMessage(`{"type":"tool_use","id":"toolu_9","name":"Read","input":{"path":"a.go"}}`)},
		Usage: &fakes.ClaudeUsage{InputTokens: 3, CacheCreationInputTokens: 4, CacheReadInputTokens: 5, OutputTokens: 7},
	}
	fake.Script(reply, reply)
	s, err := p.MessagesStream(context.Background(), nativeCall(claudeCodeBody))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var relayed bytes.Buffer
	var last *providers.Usage
	firstContent := ""
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		relayed.WriteString("event: " + c.Event + "\ndata: ")
		relayed.Write(c.Data)
		relayed.WriteString("\n\n")
		if c.Usage != nil {
			last = c.Usage
		}
		if firstContent == "" && providers.CarriesContent(c) {
			firstContent = c.Event
		}
	}
	if sent := fake.Requests()[0].Body; !bytes.Contains(sent, []byte(`"stream":true`)) {
		t.Fatalf("upstream body did not ask for a stream: %s", sent)
	}
	// The same stream, read from the fake directly: every event, byte for byte.
	direct := string(directAnswer(t, fake, strings.Replace(claudeCodeBody, `"max_tokens":4096,`, `"max_tokens":4096,"stream":true,`, 1)))
	direct = strings.Replace(direct, "msg_claude_2", "msg_claude_1", 1)
	if relayed.String() != direct {
		t.Fatalf("relayed\n%s\ndirect\n%s", relayed.String(), direct)
	}
	if last == nil || last.PromptTokens != 12 || last.CompletionTokens != 7 || last.CachedTokens() != 5 ||
		last.PromptTokensDetails.CacheWriteTokens != 4 {
		t.Fatalf("usage %+v", last)
	}
	if firstContent != providers.EventContentBlockDelta {
		t.Fatalf("first content event %q", firstContent)
	}
}

func TestMessagesErrorsKeepAnthropicTypes(t *testing.T) {
	p, fake := setup(t, Config{})
	fake.Fail(fakes.Fault{Status: 529, Times: 1})
	_, err := p.Messages(context.Background(), nativeCall(claudeCodeBody))
	var e *providers.Error
	if !errors.As(err, &e) || e.Class != providers.ClassUnavailable || e.Status != 529 || e.Type != "overloaded_error" {
		t.Fatalf("529: %v", err)
	}

	fake.Fail(fakes.Fault{Status: 529, CutAfter: 4, Times: 1})
	s, err := p.MessagesStream(context.Background(), nativeCall(claudeCodeBody))
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = s.Recv()
		if err != nil {
			break
		}
	}
	s.Close()
	if !errors.As(err, &e) || e.Class != providers.ClassUnavailable || e.Type != "overloaded_error" {
		t.Fatalf("mid-stream: %v", err)
	}

	fake.Fail(fakes.Fault{CutAfter: 4, Times: 1})
	s, err = p.MessagesStream(context.Background(), nativeCall(claudeCodeBody))
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = s.Recv()
		if err != nil {
			break
		}
	}
	s.Close()
	if !errors.As(err, &e) || e.Class != providers.ClassConnection || !errors.Is(err, providers.ErrTruncated) {
		t.Fatalf("cut: %v", err)
	}

	_, err = p.Messages(context.Background(), nativeCall(`{"model":"x","messages":[]}`))
	if !errors.As(err, &e) || e.Class != providers.ClassInvalidRequest || e.Status != 400 || e.Type != "invalid_request_error" {
		t.Fatalf("invalid: %v", err)
	}
}

func TestCountTokensIsExact(t *testing.T) {
	p, fake := setup(t, Config{})
	count := `{"model":"alias","system":"Count me.","messages":[{"role":"user","content":"How many tokens?"}]}`
	n, err := p.CountTokens(context.Background(), nativeCall(count))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Messages(context.Background(), nativeCall(strings.Replace(count, `"system"`, `"max_tokens":16,"system"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != resp.Usage.PromptTokens {
		t.Fatalf("count %d, usage %+v", n, resp.Usage)
	}
	if rec := fake.Requests()[0]; rec.Path != "/v1/messages/count_tokens" || !bytes.Contains(rec.Body, []byte(`"model":"claude-sonnet-4-5"`)) {
		t.Fatalf("count request %s %s", rec.Path, rec.Body)
	}
}

func TestNativeBodyEdits(t *testing.T) {
	cases := []struct {
		in     string
		stream bool
		want   string
	}{
		{`{"model":"a","messages":[]}`, false, `{"model":"m","messages":[]}`},
		{`{"model":"a","stream":true}`, false, `{"model":"m","stream":false}`},
		{`{"model":"a"}`, true, `{"model":"m","stream":true}`},
		{`{"messages":[],"stream":false}`, true, `{"messages":[],"stream":true,"model":"m"}`},
	}
	for _, c := range cases {
		got, err := nativeBody(&providers.MessagesCall{Body: []byte(c.in), Model: "m"}, c.stream)
		if err != nil || string(got.Bytes()) != c.want {
			t.Errorf("nativeBody(%s, %v) = %s, %v; want %s", c.in, c.stream, got.Bytes(), err, c.want)
		}
	}
	// The client's bytes are sent in place, not copied: an agent's request is
	// hundreds of kilobytes.
	in := []byte(`{"model":"a","messages":[{"role":"user","content":"xyz"}]}`)
	got, err := nativeBody(&providers.MessagesCall{Body: in, Model: "m"}, false)
	if err != nil {
		t.Fatal(err)
	}
	in[bytes.Index(in, []byte("xyz"))] = 'Q'
	if !bytes.Contains(got.Bytes(), []byte(`"Qyz"`)) {
		t.Errorf("the body was copied: %s", got.Bytes())
	}
	for _, bad := range []string{``, `[]`, `{"model":`} {
		if _, err := nativeBody(&providers.MessagesCall{Body: []byte(bad), Model: "m"}, false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzNativeStream reads arbitrary bytes as a Messages SSE stream: it must end in
// io.EOF (after message_stop only) or a classified error, never panic or loop.
func FuzzNativeStream(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n"))
	f.Add([]byte("data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":\"x\"}}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := &nativeStream{body: io.NopCloser(bytes.NewReader(body))}
		s.r = sse.NewReader(s.body)
		stopped := false
		for range 100000 {
			c, err := s.Recv()
			if err == io.EOF {
				if !stopped {
					t.Fatal("io.EOF without message_stop")
				}
				return
			}
			if err != nil {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Class == 0 {
					t.Fatalf("unclassified %T %v", err, err)
				}
				return
			}
			stopped = c.Event == providers.EventMessageStop
		}
		t.Fatal("the stream never ended")
	})
}

// The pass-through hot path: rewriting the body, and naming each streamed event
// (with the usage of the two that carry it). BenchmarkRewriteChat and
// BenchmarkParseChunk in providers/openai are the yardsticks.
func BenchmarkNativeBody(b *testing.B) {
	call := &providers.MessagesCall{Body: []byte(claudeCodeBody), Model: "claude-sonnet-4-5"}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = nativeBody(call, true)
	}
}

func BenchmarkNativeStreamEvent(b *testing.B) {
	var m providers.MessagesEvents
	if _, err := m.Next([]byte("message_start"), []byte(`{"type":"message_start","message":{"usage":{"input_tokens":3}}}`)); err != nil {
		b.Fatal(err)
	}
	name := []byte("content_block_delta")
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello "}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Next(name, data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzNativeBodies: for any JSON object whose member names are written without
// escapes (the dialect refuses others), the body Anthropic gets and the body
// Vertex AI gets are valid JSON: Anthropic's with model set and stream as the
// method says, Vertex's without model and with its anthropic_version; every
// other member as the client wrote it.
func FuzzNativeBodies(f *testing.F) {
	f.Add([]byte(claudeCodeBody), true)
	f.Add([]byte(`{"model":"m","stream":false,"anthropic_version":"x"}`), false)
	f.Add([]byte(`{}`), true)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		var before map[string]json.RawMessage
		if json.Unmarshal(body, &before) != nil || before == nil {
			_, _ = nativeBody(&providers.MessagesCall{Body: body, Model: "m"}, stream)
			_, _ = vertexBody(body, stream)
			return
		}
		escaped := false
		_ = jsonfield.Each(body, func(k, _ []byte) bool { escaped = escaped || bytes.IndexByte(k, '\\') >= 0; return true })
		if escaped {
			return
		}
		check := func(name string, out []byte, err error, want map[string]json.RawMessage) {
			t.Helper()
			var after map[string]json.RawMessage
			if err != nil || json.Unmarshal(out, &after) != nil {
				t.Fatalf("%s: %v, %q from %q", name, err, out, body)
			}
			if len(after) != len(want) {
				t.Fatalf("%s: members %q, want %q", name, out, want)
			}
			for k, v := range want {
				if !bytes.Equal(after[k], v) {
					t.Fatalf("%s: %s is %s, want %s (%q)", name, k, after[k], v, out)
				}
			}
		}
		_, hadStream := before["stream"]
		want := maps.Clone(before)
		want["model"] = json.RawMessage(`"m"`)
		if stream || hadStream {
			want["stream"] = json.RawMessage(strconv.FormatBool(stream))
		}
		native, err := nativeBody(&providers.MessagesCall{Body: body, Model: "m"}, stream)
		check("anthropic", native.Bytes(), err, want)
		// The same edit at the layout a dialect noted: the same bytes.
		var at jsonfield.Layout
		_ = jsonfield.Each(body, func(k, v []byte) bool { at.Note(body, k, v); return true })
		located, _ := nativeBody(&providers.MessagesCall{Body: body, Model: "m", Layout: &at}, stream)
		if !bytes.Equal(located.Bytes(), native.Bytes()) {
			t.Fatalf("at its layout %q, found %q", located.Bytes(), native.Bytes())
		}
		delete(want, "model")
		want["anthropic_version"] = json.RawMessage(`"` + VertexVersion + `"`)
		out, err := vertexBody(body, stream)
		check("vertex", out, err, want)
	})
}
