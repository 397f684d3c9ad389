package providers

import (
	"errors"
	"testing"
)

func TestParseChat(t *testing.T) {
	body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_tokens":50,
	"max_completion_tokens":70,"n":1,"temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],
	"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],
	"metadata":{"tags":"a"}}`
	r, err := ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "gpt-4o" || !r.Stream || !r.IncludeUsage || r.MaxTokens != 70 || r.N != 1 ||
		r.Temperature == nil || *r.Temperature != 0 || !r.HasTools || !r.HasImages || r.PromptBytes == 0 ||
		string(r.Metadata) != `{"tags":"a"}` {
		t.Errorf("parsed %+v", r)
	}
	c, err := r.Canonical()
	if err != nil || len(c.Messages) != 1 || len(c.Messages[0].Content.Parts) != 2 || c.Tools[0].Function.Name != "f" {
		t.Errorf("canonical %+v, %v", c, err)
	}
}

func TestParseChatRejects(t *testing.T) {
	cases := map[string]string{
		`{"model":"x","messages":[`:                       "",
		`[]`:                                              "",
		`{"messages":[{"role":"user"}]}`:                  "model",
		`{"model":"x"}`:                                   "messages",
		`{"model":3,"messages":[]}`:                       "model",
		`{"model":"x","messages":"hi"}`:                   "messages",
		`{"model":"x","messages":[],"max_tokens":"a"}`:    "max_tokens",
		`{"model":"x","messages":[],"temperature":"hot"}`: "temperature",
	}
	for body, param := range cases {
		_, err := ParseChat([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Class != ClassInvalidRequest || e.Status != 400 || e.Param != param {
			t.Errorf("%s: got %#v, want a 400 on param %q", body, err, param)
		}
	}
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}],"tool_choice":{"type":"function","function":{"name":"f"}},"stop":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseChat(data)
		if err != nil {
			return
		}
		_, _ = r.Canonical()
	})
}
