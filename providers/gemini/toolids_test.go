package gemini

import (
	"strings"
	"testing"
)

func TestToolCallIDs(t *testing.T) {
	fc := &functionCall{Name: "f", Args: []byte(`{"a":1}`)}
	a := toolCallID("resp", 0, fc, `{"a":1}`, "")
	if !strings.HasPrefix(a, "call_") || len(a) != len("call_")+16 || signatureOf(a) != "" {
		t.Errorf("id %q", a)
	}
	for _, other := range []string{toolCallID("resp", 1, fc, `{"a":1}`, ""), toolCallID("resp2", 0, fc, `{"a":1}`, ""),
		toolCallID("resp", 0, fc, `{"a":2}`, "")} {
		if other == a {
			t.Errorf("distinct calls share id %s", a)
		}
	}
	signed := toolCallID("resp", 0, fc, `{"a":1}`, "c2ln+/==")
	if !strings.HasPrefix(signed, a) || signatureOf(signed) != "c2ln+/==" {
		t.Errorf("signed id %q", signed)
	}
	if id := toolCallID("resp", 0, &functionCall{ID: "gem-1", Name: "f"}, "{}", "s"); id != "gem-1~ts~s" {
		t.Errorf("Gemini id %q", id)
	}
}
