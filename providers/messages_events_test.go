package providers

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestMessagesEventsRunningUsage(t *testing.T) {
	var m MessagesEvents
	events := []struct{ name, data string }{
		{"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"output_tokens":1}}}`},
		{"", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"ping", `{"type":"ping"}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42}}`},
		{"message_stop", `{"type":"message_stop"}`},
	}
	var names []string
	var last *Usage
	var content []bool
	for _, e := range events {
		c, err := m.Next([]byte(e.name), []byte(e.data))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Event)
		content = append(content, CarriesContent(c))
		if c.Usage != nil {
			last = c.Usage
		}
	}
	if !slices.Equal(names, []string{"message_start", "content_block_start", "ping", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}) || !m.Stopped() {
		t.Fatalf("names %v", names)
	}
	if !slices.Equal(content, []bool{false, false, false, true, true, true, true}) {
		t.Fatalf("content %v", content)
	}
	if last.PromptTokens != 60 || last.CompletionTokens != 42 || last.TotalTokens != 102 || last.CachedTokens() != 30 ||
		last.PromptTokensDetails.CacheWriteTokens != 20 {
		t.Fatalf("usage %+v %+v", last, last.PromptTokensDetails)
	}
	// Newer API versions repeat the input counts in message_delta; they win.
	if _, err := m.Next(nil, []byte(`{"type":"message_delta","usage":{"input_tokens":11,"output_tokens":43}}`)); err != nil {
		t.Fatal(err)
	}
	if u := m.Usage(); u.InputTokens != 11 || u.OutputTokens != 43 || u.CacheReadInputTokens != 30 {
		t.Fatalf("usage %+v", u)
	}
}

func TestMessagesEventsRejectsDisorder(t *testing.T) {
	for _, seq := range [][]string{
		{`{"type":"content_block_delta"}`},
		{`{"type":"message_start","message":{}}`, `{"type":"message_start","message":{}}`},
		{`{"type":"message_start","message":{"usage":{"input_tokens":"x"}}}`},
		{`{"no":"type"}`},
		{`{"type":1}`},
	} {
		var m MessagesEvents
		var err error
		for _, d := range seq {
			if _, err = m.Next(nil, []byte(d)); err != nil {
				break
			}
		}
		if pe, ok := err.(*Error); !ok || pe.Class != ClassDecode {
			t.Errorf("%v: %v", seq, err)
		}
	}
	var m MessagesEvents // an error or a ping may come first
	for _, d := range []string{`{"type":"ping"}`, `{"type":"error","error":{}}`} {
		if c, err := m.Next(nil, []byte(d)); err != nil || c.Event == "" {
			t.Errorf("%s: %v", d, err)
		}
	}
}

func TestBetaHelpers(t *testing.T) {
	if got := SplitBeta([]string{"a, b", "b,,c", " "}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("split %v", got)
	}
	if got := MergeBeta([]string{"x", "a"}, []string{"a", "y"}); !slices.Equal(got, []string{"x", "a", "y"}) {
		t.Errorf("merge %v", got)
	}
	kept, dropped := FilterBeta([]string{"a", "b", "c"}, map[string]bool{"a": true, "c": true})
	if !slices.Equal(kept, []string{"a", "c"}) || !slices.Equal(dropped, []string{"b"}) {
		t.Errorf("filter %v %v", kept, dropped)
	}
}

// FuzzMessagesEvents feeds arbitrary events: never a panic, and usage never
// counts fewer prompt tokens than its cached ones.
func FuzzMessagesEvents(f *testing.F) {
	f.Add("message_start", `{"type":"message_start","message":{"usage":{"input_tokens":1}}}`, `{"type":"message_delta","usage":{"output_tokens":2}}`)
	f.Add("", `{"type":"x"}`, `{}`)
	f.Fuzz(func(t *testing.T, name, a, b string) {
		var m MessagesEvents
		for _, d := range []string{a, b} {
			c, err := m.Next([]byte(name), []byte(d))
			if err != nil {
				return
			}
			if u := c.Usage; u != nil && u.PromptTokens != u.PromptTokensDetails.CachedTokens+u.PromptTokensDetails.CacheWriteTokens+m.Usage().InputTokens {
				t.Fatalf("usage %+v", u)
			}
			name = ""
		}
	})
}

func TestMessageHead(t *testing.T) {
	u, model, err := MessageHead([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
		`"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"output_tokens":4,"service_tier":"standard","cache_creation":{"ephemeral_5m_input_tokens":20}}}`))
	if err != nil || model != "claude-sonnet-4-5" || u != (MessagesUsage{InputTokens: 10, OutputTokens: 4, CacheCreationInputTokens: 20, CacheReadInputTokens: 30}) {
		t.Fatalf("%+v %q %v", u, model, err)
	}
	for _, bad := range []string{`{"type":"error","error":{}}`, `{"type":"message","usage":{"input_tokens":-1}}`,
		`{"type":"message","usage":{"output_tokens":1.5}}`, `{"type":"message","usage":[]}`, `{"type":"message"`, `[]`,
		`{"type":"message","content":[tru]}`} {
		if _, _, err := MessageHead([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// FuzzMessageHead is differential: what MessageHead reads of an answer it
// accepts is what encoding/json reads (names matched exactly, the last repeated
// member kept), and it accepts only valid JSON.
func FuzzMessageHead(f *testing.F) {
	f.Add([]byte(`{"type":"message","model":"m","usage":{"input_tokens":1,"output_tokens":2,"cache_read_input_tokens":3,"cache_creation_input_tokens":4}}`))
	f.Add([]byte(`{"type":"message","usage":null,"model":"a\u00e9"}`))
	f.Add([]byte(`{"type":"message","usage":{"output_tokens":2,"output_tokens":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, model, err := MessageHead(body)
		if err != nil {
			return
		}
		var doc map[string]json.RawMessage
		if json.Unmarshal(body, &doc) != nil {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var typ, m string
		if json.Unmarshal(doc["type"], &typ) != nil || typ != "message" {
			t.Fatalf("accepted a %q: %q", doc["type"], body)
		}
		_ = json.Unmarshal(doc["model"], &m)
		if _, ok := doc["model"]; ok && m != model {
			t.Fatalf("model %q, encoding/json reads %q", model, m)
		}
		var usage map[string]json.RawMessage
		_ = json.Unmarshal(doc["usage"], &usage)
		for name, got := range map[string]int{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens,
			"cache_creation_input_tokens": u.CacheCreationInputTokens, "cache_read_input_tokens": u.CacheReadInputTokens} {
			var want int
			_ = json.Unmarshal(usage[name], &want)
			if got != want {
				t.Fatalf("%s %d, encoding/json reads %d: %q", name, got, want, body)
			}
		}
	})
}
