package anthropic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/switchyard/switchyard/providers"
)

// response reads a golden chat.completion as a provider hands it over.
func response(t testing.TB, body []byte) *providers.Response {
	t.Helper()
	var doc providers.ChatResponse
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	r := &providers.Response{Body: body, Model: doc.Model}
	if doc.Usage != nil {
		r.Usage = *doc.Usage
	}
	return r
}

// TestFromChatGolden translates each testdata/*.resp.json into a Message,
// compared with *.msg.json, which the official SDK must read.
func TestFromChatGolden(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.resp.json"))
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".resp.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := FromChat(response(t, body), ResponseOptions{ID: "msg_test", Model: "claude-alias"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".msg.json", append(out, '\n'))
			var m sdk.Message
			if err := json.Unmarshal(out, &m); err != nil || m.ID != "msg_test" || m.Model != "claude-alias" || m.Type != "message" {
				t.Fatalf("the SDK reads %+v, %v", m, err)
			}
		})
	}
}

func TestFromChatMapping(t *testing.T) {
	msg := func(file string) sdk.Message {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		out, err := FromChat(response(t, body), ResponseOptions{Model: "claude-alias"})
		if err != nil {
			t.Fatal(err)
		}
		var m sdk.Message
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	text := msg("text.resp.json")
	if !strings.HasPrefix(text.ID, "msg_") || text.StopReason != sdk.StopReasonEndTurn || text.Content[0].Text != "Hello! How can I help?" {
		t.Errorf("text %+v", text)
	}
	if u := text.Usage; u.InputTokens != 76 || u.CacheReadInputTokens != 1024 || u.CacheCreationInputTokens != 100 || u.OutputTokens != 9 {
		t.Errorf("usage %+v", u)
	}
	tools := msg("tool_calls.resp.json")
	if tools.StopReason != sdk.StopReasonToolUse || len(tools.Content) != 3 {
		t.Fatalf("tools %+v", tools)
	}
	if a, b := tools.Content[1].AsToolUse(), tools.Content[2].AsToolUse(); a.ID != "call_a" || string(a.Input) != `{"city":"Paris"}` ||
		b.Name != "Read" || string(b.Input) != `{}` {
		t.Errorf("tool uses %+v %+v", a, b)
	}
	th := msg("thinking.resp.json")
	if th.Content[0].AsThinking().Signature != "EqQBsig+/==" || th.Content[1].AsRedactedThinking().Data != "EmwKAhgB" || th.Content[2].Text != "42." {
		t.Errorf("thinking %+v", th.Content)
	}
	if rc := msg("reasoning_content.resp.json"); rc.Content[0].AsThinking().Thinking != "Let me think step by step." || rc.StopReason != sdk.StopReasonMaxTokens {
		t.Errorf("reasoning %+v", rc)
	}
	if cf := msg("content_filter.resp.json"); cf.StopReason != sdk.StopReasonRefusal || cf.Content[0].Text != "I can't help with that." {
		t.Errorf("refusal %+v", cf)
	}
	if f := msg("filtered.resp.json"); f.StopReason != sdk.StopReasonRefusal || len(f.Content) != 0 {
		t.Errorf("filtered %+v", f)
	}
}

func TestFromChatRejectsWhatIsNotAnAnswer(t *testing.T) {
	for _, body := range []string{`nope`, `{"choices":[]}`,
		`{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}}]}`,
		`{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{oops"}}]}}]}`} {
		_, err := FromChat(&providers.Response{Body: []byte(body)}, ResponseOptions{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Class != providers.ClassDecode {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// FuzzFromChat: any answer translates into a Message the SDK reads, or is a
// decode error; never a panic.
func FuzzFromChat(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.resp.json"))
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := FromChat(&providers.Response{Body: body}, ResponseOptions{ID: "msg_f", Model: "m"})
		if err != nil {
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Class != providers.ClassDecode {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		var m sdk.Message
		if err := json.Unmarshal(out, &m); err != nil || m.Type != "message" {
			t.Fatalf("unreadable %s: %v", out, err)
		}
	})
}
