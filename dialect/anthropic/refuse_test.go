package anthropic

import (
	"errors"
	"strings"
	"testing"
)

// nested is a request whose turn holds blocks nested depth levels deep through
// member (a tool result's content, or a spelling encoding/json also takes),
// around a large text.
func nested(depth int, member string, text int) []byte {
	return []byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":` +
		strings.Repeat(`[{"type":"tool_result","tool_use_id":"t","`+member+`":`, depth) +
		`"` + strings.Repeat("x", text) + `"` + strings.Repeat(`}]`, depth) + `}]}`)
}

// Content nested past maxContentDepth is refused before anything walks it
// level by level (which read 2 MB nested 5,000 deep for seconds); the estimate
// counts it without walking it; up to the limit, requests are read as before.
func TestDeepContentIsBounded(t *testing.T) {
	for member, why := range map[string]string{"content": "nested at most", "Content": "case-sensitive", `c\u006fntent`: "without escapes"} {
		body := nested(4990, member, 1<<20)
		if _, err := ReadHead(body, false); err != nil {
			t.Fatalf("%s: ReadHead: %v", member, err)
		}
		var e *Error
		if _, err := ParseRequest(body); !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, why) {
			t.Errorf("%s nested 4,990 deep: %v", member, err)
		}
		if _, ok := chatBodyOf(t, body); ok {
			t.Errorf("%s nested 4,990 deep taken by chatBody", member)
		}
		if n := EstimateInputTokens(body); member == "content" && n < 1<<20/8 {
			t.Errorf("%s nested 4,990 deep estimated at %d tokens", member, n)
		}
	}
	if _, err := ParseRequest(nested(maxContentDepth+1, "content", 10)); err == nil {
		t.Errorf("nested %d deep: accepted", maxContentDepth+1)
	}
	// A turn's tool result is one level down: maxContentDepth levels are the
	// turn's blocks and maxContentDepth-1 nested below them.
	body := nested(maxContentDepth, "content", 10)
	if _, err := ParseRequest(body); err != nil {
		t.Fatalf("nested %d deep: %v", maxContentDepth, err)
	}
	if got, ok := chatBodyOf(t, body); ok {
		t.Errorf("tool results inside tool results taken by chatBody: %s", got.body)
	}
}

// A member of content that encoding/json (and so every translation) reads as
// a declared member, but written in another case or with escapes, is refused:
// the estimate admission charges reads names as written, and would count a
// turn's "Content" as nothing.
func TestContentNamesAreExact(t *testing.T) {
	turn := func(content string) string {
		return `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":` + content + `}]}`
	}
	big := `"` + strings.Repeat("word ", 80_000) + `"`
	for body, want := range map[string]string{
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","Content":` + big + `}]}`:                   `messages.0: "Content" is not "content"`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"r\u006fle":"user"}]}`:     `messages.1: "r\u006fle" is "role" written with escapes`,
		turn(`[{"type":"text","Text":` + big + `}]`):                                                        `messages.0: "Text" is not "text"`,
		turn(`[{"type":"text","t\u0065xt":"x"}]`):                                                           `"t\u0065xt" is "text" written with escapes`,
		turn(`[{"type":"thinking","thinking":"t","ſignature":"s"}]`):                                        `"ſignature" is not "signature"`,
		turn(`[{"type":"document","source":{"type":"text","media_type":"text/plain","Data":` + big + `}}]`): `"Data" is not "data"`,
		turn(`[{"type":"text","text":"x","cache_control":{"type":"ephemeral","TTL":"1h"}}]`):                `"TTL" is not "ttl"`,
		turn(`[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","TEXT":"x"}]}]`):           `"TEXT" is not "text"`,
		`{"model":"m","max_tokens":1,"system":[{"TYPE":"text","text":"s"}],"messages":[]}`:                  `system: "TYPE" is not "type"`,
	} {
		var e *Error
		_, err := ParseRequest([]byte(body))
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, want) {
			t.Errorf("%.120s: %v, want a 400 saying %s", body, err, want)
		}
	}
	// Names that no declared member folds to are left to the checks after.
	for _, body := range []string{
		turn(`[{"type":"text","text":"x","Extra":1,"t\u00e9xt":2}]`),
		turn(`[{"type":"image","source":{"type":"url","url":"https://x","Other":1}}]`),
	} {
		if err := refuseContent("messages", []byte(body)[strings.Index(body, "["):len(body)-1]); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	// Written as declared, the same turn is counted whole.
	if n := EstimateInputTokens([]byte(turn(big))); n < 40_000 {
		t.Errorf("a turn of 80,000 words estimated at %d tokens", n)
	}
}
