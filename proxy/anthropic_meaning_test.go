package proxy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers/fakes"
)

// One meaning per request on the Messages API: what the gateway decided on (the
// alias a key may use, stream, a rule's max_tokens cap) is what the upstream
// reads. A body whose members a parser could read another way is refused with
// Anthropic's 400 naming the member, and nothing reaches any upstream. Before
// the check, each of these went upstream: the alias was the allowed one while a
// first-wins parser read the other model; "str\u0065am" streamed here and was
// an extraneous key to Bedrock; max_tokens 50 passed the cap of 100 while a
// first-wins parser read 5000.
func TestMessagesBodyHasOneMeaning(t *testing.T) {
	ant := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "sk-ant-upstream"})
	t.Cleanup(ant.Close)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	br := fakes.NewBedrock(fakes.BedrockOptions{Name: "bedrock", Region: "us-east-1",
		AccessKeyID: "AKIDMEANING", SecretAccessKey: "meaning-secret"})
	t.Cleanup(br.Close)
	e := newEnv(t, `
drain_delay: 0s
keys:
  - {name: app, key: `+clientKey+`, team: search}
  - {name: cheap-only, key: sk-cheap-only, team: other, models: [cheap]}
providers:
  - {name: anthropic, type: anthropic, base_url: "`+ant.BaseURL()+`", api_key: sk-ant-upstream}
  - {name: bedrock, type: bedrock, region: us-east-1, base_url: "`+br.Endpoint()+`",
     aws_access_key_id: AKIDMEANING, aws_secret_access_key: meaning-secret}
models:
  - name: cheap
    targets: [{provider: anthropic, model: claude-haiku-4-5}]
  - name: dear
    targets: [{provider: anthropic, model: claude-opus-4-1}]
  - name: capped
    targets: [{provider: anthropic, model: claude-sonnet-4-5}]
  - name: claude-bedrock
    targets: [{provider: bedrock, model: us.anthropic.claude-sonnet-4-20250514-v1:0}]
policies:
  - name: cap
    match: {alias: [capped]}
    action: {max_tokens: 100}
resilience:
  timeouts: {first_byte: 5s, total: 20s}
`)
	const turn = `"messages":[{"role":"user","content":"hi"}]`
	for _, c := range []struct {
		name, key, body, member string
	}{
		{"a key allowed only cheap names another model after it", "sk-cheap-only",
			`{"MODEL":"claude-opus-4-1","model":"cheap","max_tokens":16,` + turn + `}`, "MODEL"},
		{"the same with an escaped name", "sk-cheap-only",
			`{"mod\u0065l":"claude-opus-4-1","model":"cheap","max_tokens":16,` + turn + `}`, `mod\u0065l`},
		{"the same with the model repeated", "sk-cheap-only",
			`{"model":"claude-opus-4-1","model":"cheap","max_tokens":16,` + turn + `}`, "model"},
		{"an escaped stream", clientKey,
			`{"model":"cheap","max_tokens":16,` + turn + `,"str\u0065am":true}`, `str\u0065am`},
		{"an escaped stream to Bedrock", clientKey,
			`{"model":"claude-bedrock","max_tokens":16,` + turn + `,"str\u0065am":true}`, `str\u0065am`},
		{"max_tokens repeated under a rule's cap", clientKey,
			`{"max_tokens":5000,"model":"capped",` + turn + `,"max_tokens":50}`, "max_tokens"},
		{"max_tokens in another case under a rule's cap", clientKey,
			`{"MAX_TOKENS":5000,"model":"capped",` + turn + `,"max_tokens":50}`, "MAX_TOKENS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ant.ResetRecords()
			br.ResetRecords()
			status, typ, msg := postMessages(t, e, c.key, c.body)
			if status != http.StatusBadRequest || typ != "invalid_request_error" || !strings.HasPrefix(msg, c.member+": ") {
				t.Errorf("HTTP %d %s %q, want 400 invalid_request_error naming %s", status, typ, msg, c.member)
			}
			for _, r := range append(ant.Requests(), br.Requests()...) {
				t.Errorf("the upstream received %s %s", r.Path, r.Body)
			}
		})
	}
	// The unambiguous requests go through, as the key and the rule allow.
	if status, typ, msg := postMessages(t, e, "sk-cheap-only", `{"model":"dear","max_tokens":16,`+turn+`}`); status != http.StatusNotFound {
		t.Errorf("a model the key may not use: HTTP %d %s %s", status, typ, msg)
	}
	ant.ResetRecords()
	if status, _, msg := postMessages(t, e, clientKey, `{"model":"capped","max_tokens":5000,`+turn+`}`); status != http.StatusOK {
		t.Fatalf("capped: HTTP %d %s", status, msg)
	}
	if rec := ant.Requests(); len(rec) != 1 || !bytes.Contains(rec[0].Body, []byte(`"max_tokens":100`)) {
		t.Errorf("the cap did not bind: %d requests", len(rec))
	}
}

// postMessages sends a raw Messages request and returns its status and, for an
// error, Anthropic's error type and message.
func postMessages(t *testing.T, e *env, key, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "", string(raw)
	}
	var doc struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Type != "error" {
		t.Fatalf("HTTP %d, not Anthropic's error shape: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, doc.Error.Type, doc.Error.Message
}

// A rule on images sees every image of a Messages request, however it is
// written: in a turn, in a tool result, with its type escaped; a request
// without one passes.
func TestMessagesRuleSeesImages(t *testing.T) {
	ant := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "sk-ant-upstream"})
	t.Cleanup(ant.Close)
	e := newEnv(t, `
drain_delay: 0s
keys:
  - {name: app, key: `+clientKey+`, team: search}
providers:
  - {name: anthropic, type: anthropic, base_url: "`+ant.BaseURL()+`", api_key: sk-ant-upstream}
models:
  - name: claude
    targets: [{provider: anthropic, model: claude-sonnet-4-5}]
policies:
  - name: no-images
    match: {images: true}
    action: {deny: "No images here."}
`)
	const img = `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}`
	for _, content := range []string{
		`[{"type":"text","text":"what is this?"},` + img + `]`,
		`[` + strings.Replace(img, `"image"`, `"im\u0061ge"`, 1) + `]`,
		`[{"type":"tool_result","tool_use_id":"t1","content":[` + img + `]}]`,
	} {
		body := `{"model":"claude","max_tokens":16,"messages":[{"role":"user","content":` + content + `}]}`
		if status, typ, msg := postMessages(t, e, clientKey, body); status != http.StatusForbidden || typ != "permission_error" {
			t.Errorf("%s: HTTP %d %s %s", content, status, typ, msg)
		}
	}
	body := `{"model":"claude","max_tokens":16,"messages":[{"role":"user","content":"an image of a cat, described in words"}]}`
	if status, _, msg := postMessages(t, e, clientKey, body); status != http.StatusOK {
		t.Errorf("no image: HTTP %d %s", status, msg)
	}
}
