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
	for _, member := range []string{"content", "Content", `c\u006fntent`} {
		body := nested(4990, member, 1<<20)
		if _, err := ReadHead(body, false); err != nil {
			t.Fatalf("%s: ReadHead: %v", member, err)
		}
		var e *Error
		if _, err := ParseRequest(body); !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, "nested at most") {
			t.Errorf("%s nested 4,990 deep: %v", member, err)
		}
		if _, ok := chatBody(body, nil); ok {
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
	if got, ok := chatBody(body, nil); ok {
		t.Errorf("tool results inside tool results taken by chatBody: %s", got.body)
	}
}
