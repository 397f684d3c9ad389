package gemini

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

const testCreated = 1700000000

// TestTranslateResponseGolden translates testdata/<case>.gemini.json answers and
// compares the chat.completion with <case>.resp.json.
func TestTranslateResponseGolden(t *testing.T) {
	for _, name := range []string{"text", "parallel_calls", "max_tokens_cached", "safety", "two_candidates"} {
		t.Run(name, func(t *testing.T) {
			resp, err := translateResponse(readTestdata(t, name+".gemini.json"), "configured-model", testCreated)
			if err != nil {
				t.Fatalf("translateResponse: %v", err)
			}
			golden(t, name+".resp.json", resp.Body)
		})
	}
}

func TestTranslateResponseSemantics(t *testing.T) {
	decode := func(t *testing.T, name string) (*providers.Response, providers.ChatResponse) {
		t.Helper()
		resp, err := translateResponse(readTestdata(t, name+".gemini.json"), "configured-model", testCreated)
		if err != nil {
			t.Fatal(err)
		}
		var c providers.ChatResponse
		if err := json.Unmarshal(resp.Body, &c); err != nil {
			t.Fatal(err)
		}
		return resp, c
	}

	t.Run("function calls: STOP becomes tool_calls, signature rides in the first id", func(t *testing.T) {
		resp, c := decode(t, "parallel_calls")
		ch := c.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 3 {
			t.Fatalf("finish %q, %d calls", ch.FinishReason, len(ch.Message.ToolCalls))
		}
		calls := ch.Message.ToolCalls
		if signatureOf(calls[0].ID) != "ZmFrZS10aG91Z2h0OmdldF93ZWF0aGVy" || signatureOf(calls[1].ID) != "" {
			t.Errorf("ids = %q, %q", calls[0].ID, calls[1].ID)
		}
		if calls[0].ID == calls[1].ID {
			t.Error("two calls share an id")
		}
		if calls[2].ID != "fc-7" || calls[2].Function.Arguments != "{}" {
			t.Errorf("call with a Gemini id = %+v", calls[2])
		}
		if ch.Message.Content.AllText() != "Let me check both." {
			t.Errorf("content = %q", ch.Message.Content.AllText())
		}
		if resp.Usage.CompletionTokens != 120 || resp.Usage.CompletionTokensDetails.ReasoningTokens != 100 || resp.Usage.TotalTokens != 160 {
			t.Errorf("usage = %+v", resp.Usage)
		}
		if resp.Model != "gemini-3-pro-preview" {
			t.Errorf("model = %q", resp.Model)
		}
	})

	t.Run("the same response translates to the same ids", func(t *testing.T) {
		_, a := decode(t, "parallel_calls")
		_, b := decode(t, "parallel_calls")
		if a.Choices[0].Message.ToolCalls[1].ID != b.Choices[0].Message.ToolCalls[1].ID {
			t.Error("generated ids are not stable")
		}
	})

	t.Run("cached and tool-use tokens", func(t *testing.T) {
		resp, c := decode(t, "max_tokens_cached")
		if c.Choices[0].FinishReason != "length" {
			t.Errorf("finish = %q", c.Choices[0].FinishReason)
		}
		if resp.Usage.PromptTokens != 2010 || resp.Usage.CachedTokens() != 1500 || resp.Usage.TotalTokens != 2015 {
			t.Errorf("usage = %+v", resp.Usage)
		}
	})

	t.Run("safety stop is content_filter", func(t *testing.T) {
		_, c := decode(t, "safety")
		if c.Choices[0].FinishReason != "content_filter" {
			t.Errorf("finish = %q", c.Choices[0].FinishReason)
		}
	})

	t.Run("finish reasons", func(t *testing.T) {
		for reason, want := range map[string]string{"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
			"RECITATION": "content_filter", "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter",
			"SPII": "content_filter", "OTHER": "stop", "MALFORMED_FUNCTION_CALL": "stop", "": "stop"} {
			if got := finishReason(reason, false); got != want {
				t.Errorf("%s → %s, want %s", reason, got, want)
			}
		}
		if finishReason("MAX_TOKENS", true) != "length" || finishReason("STOP", true) != "tool_calls" {
			t.Error("tool calls must turn STOP, and only STOP, into tool_calls")
		}
	})
}

func TestTranslateResponseFailures(t *testing.T) {
	cases := []struct {
		name, body string
		class      providers.Class
	}{
		{"blocked prompt", `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":4}}`, providers.ClassContentFilter},
		{"no candidates", `{"usageMetadata":{"promptTokenCount":4}}`, providers.ClassDecode},
		{"not JSON", `<html>oops</html>`, providers.ClassDecode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translateResponse([]byte(tc.body), "m", testCreated)
			var e *providers.Error
			if !errors.As(err, &e) || e.Class != tc.class {
				t.Fatalf("err = %v, want class %v", err, tc.class)
			}
		})
	}
}

func FuzzTranslateResponse(f *testing.F) {
	for _, name := range []string{"text", "parallel_calls", "max_tokens_cached", "safety", "two_candidates"} {
		f.Add(readTestdata(f, name+".gemini.json"))
	}
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":null}},{}]}}],"usageMetadata":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := translateResponse(body, "m", testCreated)
		if err == nil && !json.Valid(resp.Body) {
			t.Fatalf("invalid JSON out: %s", resp.Body)
		}
		if err != nil {
			var e *providers.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
		}
	})
}
