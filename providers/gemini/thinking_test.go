package gemini

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// TestThinkingConfigPerModel: reasoning_effort becomes thinkingBudget on 2.5
// models and thinkingLevel on 3 models, with the thoughts asked for.
func TestThinkingConfigPerModel(t *testing.T) {
	for _, c := range []struct {
		model, extra string
		hide         bool
		want         string
	}{
		{"gemini-2.5-flash", `"reasoning_effort":"medium"`, false, `{"thinkingBudget":8192,"includeThoughts":true}`},
		{"gemini-2.5-flash", `"reasoning_effort":"none"`, false, `{"thinkingBudget":0}`},
		{"gemini-2.5-pro", `"reasoning_effort":"none"`, false, `{"thinkingBudget":128}`},
		{"gemini-2.5-pro", `"reasoning_effort":"xhigh"`, true, `{"thinkingBudget":32768}`},
		{"gemini-2.5-flash", `"reasoning_effort":"high","max_completion_tokens":1000`, false, `{"thinkingBudget":500,"includeThoughts":true}`},
		{"gemini-3-pro-preview", `"reasoning_effort":"medium"`, false, `{"thinkingLevel":"high","includeThoughts":true}`},
		{"gemini-3-flash-preview", `"reasoning_effort":"medium"`, false, `{"thinkingLevel":"medium","includeThoughts":true}`},
		{"gemini-3-flash-preview", `"reasoning_effort":"minimal"`, false, `{"thinkingLevel":"minimal","includeThoughts":true}`},
		{"gemini-3.1-pro", `"reasoning_effort":"low"`, false, `{"thinkingLevel":"low","includeThoughts":true}`},
		{"tunedModels/mine", `"reasoning_effort":"low"`, false, `{"thinkingBudget":1024,"includeThoughts":true}`},
	} {
		body, err := encodeRequest(parseChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],`+c.extra+`}`), c.model, c.hide, false)
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		var g struct {
			GenerationConfig struct {
				ThinkingConfig json.RawMessage `json:"thinkingConfig"`
			} `json:"generationConfig"`
		}
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatal(err)
		}
		if got := string(g.GenerationConfig.ThinkingConfig); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.model, c.extra, got, c.want)
		}
	}
	_, err := encodeRequest(parseChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"}`), "gemini-2.0-flash", false, false)
	var e *providers.Error
	if !errors.As(err, &e) || e.Code != "unsupported_parameter" || e.Param != "reasoning_effort" {
		t.Fatalf("gemini-2.0 does not think: %v", err)
	}
}

func TestThoughtsBecomeReasoningContent(t *testing.T) {
	body := []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Counting.","thought":true},{"text":"4"}]},"finishReason":"STOP","index":0}],
		"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"thoughtsTokenCount":7,"cachedContentTokenCount":2,"totalTokenCount":13},"responseId":"r1"}`)
	resp, err := translateResponse(body, "gemini-2.5-flash", time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Choices[0].Message
	if m.Content.Text != "4" || m.ReasoningContent != "Counting." || doc.Usage.CompletionTokens != 8 ||
		doc.Usage.ReasoningTokens() != 7 || doc.Usage.CachedTokens() != 2 {
		t.Fatalf("%s", resp.Body)
	}
}

// A text part's thought signature goes out in thinking_blocks and comes back on
// the assistant's text part; Claude's blocks in the history are not Gemini's and
// stay out.
func TestTextThoughtSignatureRoundTrip(t *testing.T) {
	body := []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi","thoughtSignature":"c2lnLXRleHQ="}]},"finishReason":"STOP","index":0}],"responseId":"r"}`)
	resp, err := translateResponse(body, "gemini-3-pro-preview", 1)
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	blocks, _ := json.Marshal(append(doc.Choices[0].Message.ThinkingBlocks,
		providers.ThinkingBlock{Type: "thinking", Thinking: "claude's", Signature: "Q2xhdWRl"}))
	out, err := encodeRequest(parseChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"},
		{"role":"assistant","content":"Hi","thinking_blocks":`+string(blocks)+`},{"role":"user","content":"again"}]}`), "gemini-3-pro-preview", false, false)
	if err != nil {
		t.Fatal(err)
	}
	var g generateRequest
	if err := json.Unmarshal(out, &g); err != nil {
		t.Fatal(err)
	}
	if p := g.Contents[1].Parts; len(p) != 1 || p[0].Text != "Hi" || p[0].ThoughtSignature != "c2lnLXRleHQ=" {
		t.Fatalf("model turn %+v", g.Contents[1])
	}
	if providers.SignedBlock(doc.Choices[0].Message.ThinkingBlocks[0]) {
		t.Fatal("a Gemini signature would go to Claude")
	}
}
