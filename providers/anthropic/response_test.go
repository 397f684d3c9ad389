package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

var createdField = regexp.MustCompile(`"created":\d+`)

// stable replaces the creation time, the one field that changes between runs.
func stable(b []byte) []byte { return createdField.ReplaceAll(b, []byte(`"created":0`)) }

// TestTranslateResponseGolden: each testdata/<case>.msg.json (an Anthropic message)
// becomes testdata/<case>.resp.json (the chat.completion the client receives).
// Cases named json_* answer a JSON object mode request.
func TestTranslateResponseGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.msg.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".msg.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := translateResponse(raw, translation{jsonTool: strings.HasPrefix(name, "json_")})
			if err != nil {
				t.Fatal(err)
			}
			var doc providers.ChatResponse
			if err := json.Unmarshal(resp.Body, &doc); err != nil {
				t.Fatalf("not a chat.completion: %v", err)
			}
			if !reflect.DeepEqual(*doc.Usage, resp.Usage) || resp.Model != doc.Model {
				t.Fatalf("Response.Usage %+v / Model %q disagree with the body %+v / %q", resp.Usage, resp.Model, *doc.Usage, doc.Model)
			}
			golden(t, name+".resp.json", indent(t, stable(resp.Body)))
		})
	}
}

func TestTranslateResponseSemantics(t *testing.T) {
	read := func(name string, jsonTool bool) providers.ChatResponse {
		t.Helper()
		raw, err := os.ReadFile("testdata/" + name + ".msg.json")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := translateResponse(raw, translation{jsonTool: jsonTool})
		if err != nil {
			t.Fatal(err)
		}
		var doc providers.ChatResponse
		if err := json.Unmarshal(resp.Body, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	t.Run("cache reads and writes are prompt tokens; reads are the cached ones", func(t *testing.T) {
		u := read("text_cached", false).Usage
		if u.PromptTokens != 12+100+2000 || u.CachedTokens() != 2000 || u.CompletionTokens != 9 || u.TotalTokens != 2121 {
			t.Fatalf("usage %+v", u)
		}
	})
	t.Run("parallel tool calls keep their order and arguments", func(t *testing.T) {
		c := read("parallel_tool_use", false).Choices[0]
		if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 2 ||
			c.Message.ToolCalls[1].Function.Arguments != `{"city":"Rome","unit":"celsius"}` ||
			c.Message.Content.Text != "I'll check both cities." {
			t.Fatalf("choice %+v", c)
		}
	})
	t.Run("tool calls alone have null content", func(t *testing.T) {
		c := read("tool_use_only", false).Choices[0]
		if !c.Message.Content.Null || c.Message.ToolCalls[0].Function.Arguments != "{}" {
			t.Fatalf("choice %+v", c)
		}
	})
	t.Run("the json tool's input is the answer", func(t *testing.T) {
		c := read("json_tool", true).Choices[0]
		if c.FinishReason != "stop" || len(c.Message.ToolCalls) != 0 || c.Message.Content.Text != `{"color":"teal","hex":"#008080"}` {
			t.Fatalf("choice %+v", c)
		}
	})
	t.Run("without JSON mode a tool named json_response is a tool call", func(t *testing.T) {
		c := read("json_tool", false).Choices[0]
		if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 {
			t.Fatalf("choice %+v", c)
		}
	})
}

func TestFinishReason(t *testing.T) {
	for stop, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
		"refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length",
		"some_future_reason": "stop",
	} {
		if got := finishReason(stop); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", stop, got, want)
		}
	}
}

func TestTranslateResponseRejectsNonMessages(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"type":"error","error":{"type":"api_error","message":"x"}}`, `{"type":"message","content":"text"}`} {
		if _, err := translateResponse([]byte(body), translation{}); err == nil {
			t.Errorf("%q: want an error", body)
		}
	}
}

// FuzzTranslateResponse: no upstream body makes the translator panic, and what it
// accepts becomes a valid chat.completion.
func FuzzTranslateResponse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.msg.json")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, true)
	}
	f.Add([]byte(`{"type":"message","content":[{"type":"tool_use","input":null}]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, jsonTool bool) {
		resp, err := translateResponse(body, translation{jsonTool: jsonTool})
		if err != nil {
			return
		}
		if !json.Valid(resp.Body) {
			t.Fatalf("invalid JSON out of %q: %s", body, resp.Body)
		}
	})
}
