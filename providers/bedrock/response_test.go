package bedrock

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// TestResponseGolden translates each testdata/*.converse.json (a Converse
// response) and compares the chat.completion with *.resp.json. Files named
// json_tool* answer a request whose json_schema tool is "answer".
func TestResponseGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.converse.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".converse.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			jsonTool := ""
			if strings.HasPrefix(name, "json_tool") {
				jsonTool = "answer"
			}
			resp, err := translateResponse(body, sonnet, jsonTool, "chatcmpl-test", 1700000000)
			if err != nil {
				t.Fatal(err)
			}
			var usage providers.Usage
			var doc struct {
				Usage *providers.Usage `json:"usage"`
			}
			if err := json.Unmarshal(resp.Body, &doc); err != nil || doc.Usage == nil {
				t.Fatalf("body %s: %v", resp.Body, err)
			}
			usage = *doc.Usage
			if usage.PromptTokens != resp.Usage.PromptTokens || usage.TotalTokens != resp.Usage.TotalTokens ||
				usage.CachedTokens() != resp.Usage.CachedTokens() || resp.Model != sonnet {
				t.Errorf("Response.Usage %+v does not match the body's %+v", resp.Usage, usage)
			}
			golden(t, name+".resp.json", indentJSON(t, resp.Body))
		})
	}
}

func TestCachedTokensCountAsPrompt(t *testing.T) {
	// Bedrock: inputTokens 4 excludes 1490 cache reads and 500 cache writes;
	// OpenAI's prompt_tokens includes them, cached_tokens are the reads.
	body, _ := os.ReadFile(filepath.Join("testdata", "cached_usage.converse.json"))
	resp, err := translateResponse(body, sonnet, "", "id", 1)
	if err != nil {
		t.Fatal(err)
	}
	// The writes are kept apart too: a Messages client reads them as
	// cache_creation_input_tokens.
	if u := resp.Usage; u.PromptTokens != 1994 || u.CompletionTokens != 832 || u.TotalTokens != 2826 || u.CachedTokens() != 1490 ||
		u.PromptTokensDetails.CacheWriteTokens != 500 {
		t.Errorf("usage %+v", u)
	}
}

func TestMalformedOutputIsAnUpstreamFailure(t *testing.T) {
	_, err := translateResponse([]byte(`{"output":{"message":{"role":"assistant","content":[{"text":"{"}]}},
		"stopReason":"malformed_tool_use","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`), sonnet, "", "id", 1)
	if e := asError(t, err); e.Class != providers.ClassUnavailable || e.Code != "malformed_tool_use" {
		t.Errorf("got %+v", e)
	}
}

// FuzzTranslateResponse feeds arbitrary bytes as a Converse response body through
// the provider: errors are fine, panics are not, and a translated answer is a
// well-formed chat.completion.
func FuzzTranslateResponse(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.converse.json"))
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `null`, `{"output":{}}`, `{"output":{"message":{"content":[{"toolUse":{}}]}}}`,
		`{"output":{"message":{"content":[{"toolUse":{"input":"x"}}]}},"usage":{"inputTokens":-5}}`,
		`{"output":{"unknownMember":{}},"stopReason":"other"}`} {
		f.Add([]byte(s))
	}
	fx := newFixture(f, 200, jsonHeader, nil)
	call := chatCall(f, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fx.body = data
		resp, err := fx.p.Chat(context.Background(), call)
		if err != nil {
			if _, ok := err.(*providers.Error); !ok {
				t.Fatalf("error is %T, not *providers.Error: %v", err, err)
			}
			return
		}
		var doc providers.ChatResponse
		if err := json.Unmarshal(resp.Body, &doc); err != nil || len(doc.Choices) != 1 || doc.Choices[0].FinishReason == "" {
			t.Fatalf("translated into %s (%v)", resp.Body, err)
		}
	})
}
