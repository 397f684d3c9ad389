package anthropic

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

// agentRequest is the shape Claude Code sends: system blocks and tools marked
// for the cache, text, tool_use and tool_result turns (a string result, block
// results, a failed one), thinking with its signature, an image, and text as a
// client escaping every non-ASCII character writes it (a surrogate pair).
const agentRequest = `{"model":"m","max_tokens":4096,"stream":true,
 "system":[{"type":"text","text":"You are an agent.\n"},{"type":"text","text":"Repo: /src","cache_control":{"type":"ephemeral"}}],
 "tools":[{"name":"read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}},
  {"name":"bash","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral","ttl":"1h"}}],
 "thinking":{"type":"enabled","budget_tokens":8000},
 "messages":[
  {"role":"user","content":"Fix the \"bug\" in main.go \ud83d\ude00 caf\u00e9 \u2028"},
  {"role":"assistant","content":[{"type":"thinking","thinking":"Let me look.","signature":"c2ln"},{"type":"text","text":"Reading it."},{"type":"tool_use","id":"t1","name":"read","input":{ "path" : "main.go" }}]},
  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"package main\n\nfunc main() {}\n"}]},
  {"role":"assistant","content":[{"type":"redacted_thinking","data":"ZGF0YQ=="},{"type":"tool_use","id":"t2","name":"bash","input":{}},{"type":"tool_use","id":"t3","name":"bash","input":{"cmd":"go test ./... <x> & y"}}]},
  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"line 1"},{"type":"text","text":"line 2"}]},
   {"type":"tool_result","tool_use_id":"t3","is_error":true,"content":"exit 1","cache_control":{"type":"ephemeral"}},
   {"type":"text","text":"And this picture:"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
   {"type":"document","source":{"type":"text","media_type":"text/plain","data":"notes"},"title":"n","cache_control":{"type":"ephemeral"}}]},
  {"role":"assistant","content":[{"type":"text","text":"Done: "},{"type":"text","text":"all green.","cache_control":{"type":"ephemeral"}}]},
  {"role":"assistant","content":[]},
  {"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]},
  {"role":"system","content":"Be brief."},
  {"role":"user","content":""}
 ]}`

var chatBodySeeds = []string{
	agentRequest,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"lone \ud83d here"}]}`,
	"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff byte\"}]}",
	`{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{},"cache_control":{"type":5}}]}]}`,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x","source":{"type":"base64","Data":"d"}}]}]}`,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x","content":[5]}]}]}`,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}]}`,
	`{"model":"m","max_tokens":5,"system":"","messages":[{"role":"user"},{"role":"system","content":[]}]}`,
	`{"model":"m","max_tokens":5,"top_k":3,"messages":[]}`,
	`{"model":"m","max_tokens":0,"messages":[]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","max_tokens":5,"tool_choice":{"type":"any"},"messages":[]}`,
}

// oldChat is the long way: decode, Canonical, then the chat encoding.
func oldChat(t *testing.T, body []byte) []byte {
	t.Helper()
	req, err := ParseRequest(body)
	if err != nil {
		t.Fatalf("chatBody took a body ParseRequest refuses (%v): %s", err, body)
	}
	c, err := req.Canonical()
	if err != nil {
		t.Fatalf("chatBody took a body Canonical refuses (%v): %s", err, body)
	}
	r, err := providers.NewRequest(c)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	return r.Body
}

// sameChat fails unless the chat body decodes to the same request as want, and
// NewChatBody reads it as the proxy's parser would, scanning it whole.
func sameChat(t *testing.T, got chat, want []byte) {
	t.Helper()
	parsed, err := providers.ParseChat(got.body)
	if err != nil {
		t.Fatalf("the proxy's parser refuses %s: %v", got.body, err)
	}
	spliced, err := providers.NewChatBody(got.head, got.body, got.at, got.images, nil)
	if err != nil {
		t.Fatalf("NewChatBody: %v", err)
	}
	if spliced.Model != parsed.Model || spliced.Stream != parsed.Stream || spliced.IncludeUsage != parsed.IncludeUsage ||
		spliced.MaxTokens != parsed.MaxTokens || spliced.N != parsed.N || !reflect.DeepEqual(spliced.Temperature, parsed.Temperature) ||
		spliced.HasTools != parsed.HasTools || spliced.PromptBytes != parsed.PromptBytes || !bytes.Equal(spliced.Messages, parsed.Messages) ||
		!bytes.Equal(spliced.Metadata, parsed.Metadata) || spliced.Tags != parsed.Tags || spliced.HasImages && !parsed.HasImages {
		t.Fatalf("NewChatBody read %+v\nthe parser %+v", spliced, parsed)
	}
	// ParseChat's search is conservative (any string that decodes to image_url).
	if parsed.HasImages && !spliced.HasImages && !bytes.Contains(got.body, []byte("image_url")) {
		t.Fatalf("images: NewChatBody %v, the parser %v", spliced.HasImages, parsed.HasImages)
	}
	edits := []providers.Member{{Field: providers.FieldModel, Value: []byte(`"target"`)},
		{Field: providers.FieldStreamOptions, Value: []byte(`{"include_usage":true}`)},
		{Field: providers.FieldMaxTokens, Value: []byte(`7`)}, {Field: providers.FieldMaxCompletionTokens, Value: []byte(`9`)}}
	for i := range edits {
		if a, b := spliced.Rewrite(edits[i:]...).Bytes(), parsed.Rewrite(edits[i:]...).Bytes(); !bytes.Equal(a, b) {
			t.Fatalf("rewritten by NewChatBody's spans:\n%s\nby the parser's:\n%s", a, b)
		}
	}
	var g, w providers.ChatRequest
	if err := json.Unmarshal(got.body, &g); err != nil {
		t.Fatalf("%s: %v", got.body, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("chatBody:\n%s\nthe long way:\n%s", got.body, want)
	}
}

// FuzzChatBody is differential: every body chatBody takes is one the long way
// takes too, and both write the same chat request, whether texts are searched
// for escaped surrogates or not (as ReadHead allows).
func FuzzChatBody(f *testing.F) {
	for _, s := range append(chatBodySeeds, requestSeeds...) {
		f.Add([]byte(s))
	}
	addTestdataRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		head, err := ReadHead(body, false)
		if err != nil {
			return // the client's 400 before any translation
		}
		got, ok := chatBody(body, nil, head)
		if ok {
			sameChat(t, got, oldChat(t, body))
		}
		if looked, ok2 := chatBody(body, nil, nil); ok2 != ok || ok && !bytes.Equal(looked.body, got.body) {
			t.Fatalf("searched for surrogates, chatBody took it %v: %s; as ReadHead allows, %v: %s", ok2, looked.body, ok, got.body)
		}
	})
}

// chatBodyOf is chatBody of a body ReadHead accepts, as the dialect calls it.
func chatBodyOf(t *testing.T, body []byte) (chat, bool) {
	t.Helper()
	head, err := ReadHead(body, false)
	if err != nil {
		t.Fatalf("ReadHead: %v: %.200s", err, body)
	}
	return chatBody(body, nil, head)
}

// What ordinary clients send takes the short way; what it cannot copy as
// written (an unpaired surrogate, a byte that is not UTF-8) and what the long
// way would refuse or read differently does not.
func TestChatBodyTakes(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.req.json"))
	taken := []string{agentRequest}
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		taken = append(taken, string(b))
	}
	plain := 0 // requests without a \u escape
	for _, s := range taken {
		if head, _ := ReadHead([]byte(s), false); head != nil && head.noUnicodeEscape {
			plain++
		}
		got, ok := chatBodyOf(t, []byte(s))
		if !ok {
			t.Errorf("left to the long way: %.200s", s)
			continue
		}
		sameChat(t, got, oldChat(t, []byte(s)))
	}
	// Texts are copied without a search for surrogates only when the
	// validating pass saw no \u escape.
	if plain == 0 || plain == len(taken) {
		t.Errorf("%d of %d requests copied unlooked at: neither way tested", plain, len(taken))
	}
	for _, s := range chatBodySeeds[1:7] {
		if got, ok := chatBodyOf(t, []byte(s)); ok {
			t.Errorf("took %s: %s", s, got.body)
		}
	}
}

// What ReadHead read of one body says nothing of another: a body rewritten
// since (a rule's max_tokens cap) is read whole, and its texts are searched
// for surrogates whatever the first body held.
func TestChatBodyOfAnotherBody(t *testing.T) {
	plain := []byte(`{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`)
	head, err := ReadHead(plain, false)
	if err != nil || !head.noUnicodeEscape {
		t.Fatalf("ReadHead: %v, %+v", err, head)
	}
	capped, err := jsonfield.Set(plain, "max_tokens", []byte("5"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := chatBody(capped, nil, head)
	want, ok2 := chatBody(capped, nil, nil)
	if !ok || !ok2 || !bytes.Equal(got.body, want.body) || !bytes.Contains(got.body, []byte(`"max_completion_tokens":5`)) {
		t.Errorf("the capped body: %s (%v); read alone: %s (%v)", got.body, ok, want.body, ok2)
	}
	lone := []byte(`{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"lone \ud83d here"}]}`)
	if got, ok := chatBody(lone, nil, head); ok {
		t.Errorf("a lone surrogate copied as written, on another body's word: %s", got.body)
	}
}
