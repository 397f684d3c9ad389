package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/switchyard/switchyard/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestCanonicalGolden translates each testdata/*.req.json and compares the
// canonical request with its *.chat.json; the canonical request must also be
// one the proxy's own parser accepts, as every translating provider reads it.
func TestCanonicalGolden(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.req.json"))
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".req.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			c, err := r.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".chat.json", indent(t, c))
			if _, err := providers.NewRequest(c); err != nil {
				t.Fatalf("the canonical request does not parse: %v", err)
			}
		})
	}
}

// TestCanonicalKeepsWhatMatters checks the decisions the goldens encode.
func TestCanonicalKeepsWhatMatters(t *testing.T) {
	c := canonicalOf(t, "tools.req.json")
	if len(c.Messages) != 5 {
		t.Fatalf("messages %+v", c.Messages)
	}
	asst, res1, res2, user := c.Messages[1], c.Messages[2], c.Messages[3], c.Messages[4]
	if asst.Content.AllText() != "Let me look." || len(asst.ToolCalls) != 2 || asst.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("assistant %+v", asst)
	}
	if res1.Role != "tool" || res1.ToolCallID != "toolu_01" || res1.Content.AllText() != "18°C, sunny" {
		t.Errorf("first result %+v", res1)
	}
	if res2.ToolCallID != "toolu_02" || res2.Content.AllText() != "Error: permission denied" || res2.Content.Parts[0].CacheControl == nil {
		t.Errorf("failed result %+v", res2)
	}
	if user.Role != "user" || user.Content.AllText() != "Summarise." {
		t.Errorf("user %+v", user)
	}
	if c.ToolChoice == nil || c.ToolChoice.Mode != "auto" || c.ParallelToolCalls == nil || *c.ParallelToolCalls ||
		c.Tools[1].CacheControl == nil || c.Tools[1].Function.Strict == nil || !*c.Tools[1].Function.Strict {
		t.Errorf("tools %+v choice %+v parallel %v", c.Tools, c.ToolChoice, c.ParallelToolCalls)
	}

	th := canonicalOf(t, "thinking.req.json")
	blocks := th.Messages[1].ThinkingBlocks
	if len(blocks) != 2 || blocks[0].Signature != "EqQBCgIYAhIM1gbcDa9GJwZA2b3h+/==" || blocks[1].Type != "redacted_thinking" ||
		blocks[1].Data != "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT" || th.ReasoningEffort != "medium" {
		t.Errorf("thinking %+v effort %q", blocks, th.ReasoningEffort)
	}

	sys := canonicalOf(t, "system_blocks.req.json")
	if p := sys.Messages[0].Content.Parts; len(p) != 2 || p[1].CacheControl == nil || p[1].CacheControl.TTL != "1h" ||
		!sys.Stream || sys.StreamOptions == nil || !sys.StreamOptions.IncludeUsage {
		t.Errorf("system %+v", sys.Messages[0])
	}

	txt := canonicalOf(t, "text.req.json")
	if txt.MaxOutputTokens() != 256 || txt.User != "user-42" || len(txt.Stop) != 1 || *txt.Temperature != 0.2 {
		t.Errorf("text %+v", txt)
	}
}

func canonicalOf(t *testing.T, file string) *providers.ChatRequest {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCanonicalRefusesWhatItCannotCarry: what changes the answer and has no
// canonical form is a 400 naming the member, never dropped.
func TestCanonicalRefusesWhatItCannotCarry(t *testing.T) {
	const head = `{"model":"m","max_tokens":10,`
	cases := []struct{ body, names string }{
		{head + `"top_k":5,"messages":[{"role":"user","content":"x"}]}`, "top_k"},
		{head + `"messages":[{"role":"user","content":"x"}],"brand_new":1}`, "brand_new"},
		{head + `"container":"c1","messages":[{"role":"user","content":"x"}]}`, "container"},
		{head + `"mcp_servers":[{"type":"url","url":"https://mcp","name":"m"}],"messages":[{"role":"user","content":"x"}]}`, "mcp_servers"},
		{head + `"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}}]}]}`, "messages.0.content.0.source"},
		{head + `"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f1"}}]}]}`, "messages.0.content.0.source.type"},
		{head + `"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}],"messages":[{"role":"user","content":"x"}]}`, "tools.0.type"},
		{head + `"tools":[{"name":"t","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"t","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}]}`, "messages.2.content.0.content.0.type"},
		{head + `"messages":[{"role":"user","content":[{"type":"thinking","thinking":"x","signature":"s"}]}]}`, "messages.0.content.0.type"},
		{head + `"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, "messages.0.content.0.type"},
		{head + `"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"x"}]}`, "tool_choice"},
		{head + `"output_config":{"format":{"type":"regex"}},"messages":[{"role":"user","content":"x"}]}`, "output_config.format"},
		{head + `"system":[{"type":"image","source":{"type":"url","url":"u"}}],"messages":[{"role":"user","content":"x"}]}`, "system.0.type"},
		{head + `"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"t","input":[1]}]}]}`, "messages.0.content.0.input"},
	}
	for _, c := range cases {
		r, err := ParseRequest([]byte(c.body))
		if err != nil {
			t.Errorf("%s: parse: %v", c.names, err)
			continue
		}
		_, err = r.Canonical()
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Type != TypeInvalidRequest || !strings.HasPrefix(e.Message, c.names+":") {
			t.Errorf("%s: %v", c.names, err)
		}
	}
}

func TestParseRequestErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{`not json`, "not valid JSON"},
		{`[]`, "not a JSON object"},
		{`{"max_tokens":1,"messages":[]}`, "model: Field required"},
		{`{"model":"m","max_tokens":1}`, "messages: Field required"},
		{`{"model":"m","messages":[]}`, "max_tokens: Field required"},
		{`{"model":"m","max_tokens":0,"messages":[]}`, "max_tokens: Input should be greater than or equal to 1"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"robot","content":"x"}]}`, "messages.0.role"},
		{`{"model":"m","max_tokens":"many","messages":[]}`, "max_tokens: Input should be a valid int"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]}`, "content must be a string or an array"},
	}
	for _, c := range cases {
		_, err := ParseRequest([]byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %v (want %q)", c.body, err, c.want)
		}
	}
	if _, err := ReadHead([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`), true); err != nil {
		t.Errorf("a count request needs no max_tokens: %v", err)
	}
}

// TestSDKRequestsTranslate: what the official SDK sends for every kind of block
// decodes and translates.
func TestSDKRequestsTranslate(t *testing.T) {
	params := sdk.MessageNewParams{
		Model:     "claude-alias",
		MaxTokens: 2048,
		System:    []sdk.TextBlockParam{{Text: "sys", CacheControl: sdk.NewCacheControlEphemeralParam()}},
		Thinking:  sdk.ThinkingConfigParamOfEnabled(2000),
		Tools: []sdk.ToolUnionParam{sdk.ToolUnionParamOfTool(sdk.ToolInputSchemaParam{
			Properties: map[string]any{"q": map[string]any{"type": "string"}}}, "search")},
		ToolChoice:    sdk.ToolChoiceUnionParam{OfAny: &sdk.ToolChoiceAnyParam{}},
		StopSequences: []string{"STOP"},
		Metadata:      sdk.MetadataParam{UserID: sdk.String("u1")},
		Messages: []sdk.MessageParam{
			sdk.NewUserMessage(sdk.NewTextBlock("find cats"),
				sdk.NewImageBlockBase64("image/png", "iVBORw0KGgo=")),
			sdk.NewAssistantMessage(sdk.NewThinkingBlock("sig+/=", "thinking..."),
				sdk.NewToolUseBlock("toolu_1", map[string]any{"q": "cats"}, "search")),
			sdk.NewUserMessage(sdk.NewToolResultBlock("toolu_1", "3 cats", true)),
		},
	}
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Canonical()
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if c.ToolChoice.Mode != "required" || c.ReasoningEffort != "low" || c.User != "u1" || c.Stop[0] != "STOP" ||
		c.Messages[0].Content.Parts[0].CacheControl == nil {
		t.Errorf("canonical %+v", c)
	}
	if img := c.Messages[1].Content.Parts[1].ImageURL; img == nil || img.URL != "data:image/png;base64,iVBORw0KGgo=" {
		t.Errorf("image %+v", c.Messages[1].Content.Parts)
	}
	if tb := c.Messages[2].ThinkingBlocks; len(tb) != 1 || tb[0].Signature != "sig+/=" || c.Messages[2].ToolCalls[0].Function.Arguments != `{"q":"cats"}` {
		t.Errorf("assistant %+v", c.Messages[2])
	}
	if res := c.Messages[3]; res.Role != "tool" || res.Content.AllText() != "Error: 3 cats" {
		t.Errorf("tool result %+v", res)
	}
}

// FuzzParseRequest: decoding and translating any body never panics, and a
// translation is a request the proxy's parser accepts.
func FuzzParseRequest(f *testing.F) {
	addTestdataRequests(f)
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":null}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"system":null,"messages":[{"role":"system","content":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if n := EstimateInputTokens(body); n < 0 {
			t.Fatalf("estimate %d", n)
		}
		r, err := parse(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("parse error %T %v", err, err)
			}
			return
		}
		c, err := r.Canonical()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("translation error %T %v", err, err)
			}
			return
		}
		if len(c.Messages) == 0 {
			return // the proxy's parser wants messages; an empty request is the target's to refuse
		}
		if _, err := providers.NewRequest(c); err != nil {
			t.Fatalf("translation %+v does not parse: %v", c, err)
		}
	})
}

// addTestdataRequests seeds f with the requests of testdata.
func addTestdataRequests(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.req.json"))
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
}
