package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The agent-sized request is what issue 17 describes: about 400 KB, 236 messages
// in the Chat format, 20 tools with JSON schemas, tool calls each answered by its
// result; the same conversation in the Messages format with alternating roles and
// every tool_use answered in the next user turn. It is the same bytes every run.
func TestAgentRequest(t *testing.T) {
	c := agentConversation()
	marker := Spec{Latency: 50 * time.Millisecond, Size: 1024, Nonce: 123456789}.Marker()
	chat := newAgentBody(c.render(formatChat), "bench-openai").with(marker)
	msgs := newAgentBody(c.render(formatMessages), "bench-anthropic").with(marker)
	if again := newAgentBody(agentConversation().render(formatChat), "bench-openai").with(marker); !bytes.Equal(chat, again) {
		t.Error("the Chat request differs from one generation to the next")
	}
	for name, body := range map[string][]byte{"chat": chat, "messages": msgs} {
		if n := len(body); n < 380_000 || n > 440_000 {
			t.Errorf("%s: %d bytes, want about 400 KB", name, n)
		}
		if bytes.Count(body, []byte("bench/")) != 1 || bytes.Count(body, []byte(marker)) != 1 {
			t.Errorf("%s: the upstream must find exactly one marker", name)
		}
		if bytes.Contains(body, []byte(`"stream":true`)) || bytes.Contains(body, []byte(modelSlot)) || bytes.Contains(body, []byte(markerSlot)) {
			t.Errorf("%s: holds what the upstream reads as a stream request, or a placeholder", name)
		}
		spec, err := parseSpec(body)
		if err != nil || spec.Nonce != 123456789 || spec.Latency != 50*time.Millisecond || spec.Size != 1024 {
			t.Errorf("%s: spec %+v, %v", name, spec, err)
		}
	}

	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role       string `json:"role"`
			Content    string `json:"content"`
			ToolCallID string `json:"tool_call_id"`
			ToolCalls  []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
		Tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(chat, &req); err != nil {
		t.Fatal(err)
	}
	if req.Model != "bench-openai" || len(req.Messages) != agentMessages || len(req.Tools) != 20 {
		t.Fatalf("model %q, %d messages, %d tools", req.Model, len(req.Messages), len(req.Tools))
	}
	if req.Messages[0].Role != "system" || req.Messages[len(req.Messages)-1].Role != "user" ||
		!strings.HasSuffix(req.Messages[len(req.Messages)-1].Content, marker) {
		t.Error("the history does not run from the system prompt to the user's next task, marker last")
	}
	tools := map[string]bool{}
	for _, tl := range req.Tools {
		var schema struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
		}
		if tl.Type != "function" || json.Unmarshal(tl.Function.Parameters, &schema) != nil || schema.Type != "object" || len(schema.Properties) == 0 {
			t.Errorf("tool %s: not a function with an object schema", tl.Function.Name)
		}
		tools[tl.Function.Name] = true
	}
	pending, calls := map[string]bool{}, 0
	for i, m := range req.Messages {
		if m.Role == "tool" {
			if !pending[m.ToolCallID] {
				t.Fatalf("message %d answers call %q, which is not pending", i, m.ToolCallID)
			}
			delete(pending, m.ToolCallID)
			continue
		}
		if len(pending) > 0 {
			t.Fatalf("message %d (%s) comes before the results of %v", i, m.Role, pending)
		}
		for _, c := range m.ToolCalls {
			var args map[string]any
			if !tools[c.Function.Name] || c.Type != "function" || json.Unmarshal([]byte(c.Function.Arguments), &args) != nil {
				t.Errorf("message %d: call %s of %q with arguments %.80s", i, c.ID, c.Function.Name, c.Function.Arguments)
			}
			pending[c.ID] = true
			calls++
		}
	}
	if calls < 60 {
		t.Errorf("%d tool calls: not an agent's history", calls)
	}

	var areq struct {
		Model    string `json:"model"`
		System   string `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string          `json:"type"`
				ID        string          `json:"id"`
				Input     json.RawMessage `json:"input"`
				ToolUseID string          `json:"tool_use_id"`
			} `json:"content"`
		} `json:"messages"`
		Tools []struct {
			InputSchema json.RawMessage `json:"input_schema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(msgs, &areq); err != nil {
		t.Fatal(err)
	}
	if areq.Model != "bench-anthropic" || areq.System == "" || len(areq.Tools) != 20 || areq.Messages[0].Role != "user" {
		t.Fatalf("model %q, %d tools, first role %q", areq.Model, len(areq.Tools), areq.Messages[0].Role)
	}
	uses := 0
	for i, m := range areq.Messages {
		if i > 0 && m.Role == areq.Messages[i-1].Role {
			t.Fatalf("messages %d and %d are both %s", i-1, i, m.Role)
		}
		for _, b := range m.Content {
			if b.Type != "tool_use" {
				continue
			}
			uses++
			answered := false
			for _, r := range areq.Messages[i+1].Content {
				answered = answered || (r.Type == "tool_result" && r.ToolUseID == b.ID)
			}
			if !answered {
				t.Errorf("tool_use %s is not answered in the next turn", b.ID)
			}
		}
	}
	if uses != calls {
		t.Errorf("%d tool_use blocks, %d tool calls in the Chat history", uses, calls)
	}
}

// Both formats of the agent request reach the emulated upstream whole, and its
// answers pass the harness's checks; an answer carrying another request's content
// does not.
func TestAgentRequestThroughUpstream(t *testing.T) {
	up, err := StartUpstream()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	c := agentConversation()
	d := newTarget("direct", kindDirect, groupH1, up.URL(), nil)
	defer d.tr.CloseIdleConnections()
	for _, format := range []string{formatChat, formatMessages} {
		d.models[format] = "bench-model"
		d.agent[format] = newAgentBody(c.render(format), "bench-model")
		if o := d.agentRequest(context.Background(), format, nextSpec(Spec{Size: 300})); o.kind != okOutcome {
			t.Errorf("%s: %v", format, o.err)
		}
	}
	if got := d.counts.snapshot(); got.OK != 2 || got.Requests != 2 {
		t.Errorf("counts %+v", got)
	}
	answer := []byte(`{"type":"message","content":[{"type":"text","text":"` + string(appendContent(nil, 1, 300)) + `"}],"stop_reason":"end_turn"}`)
	if o := d.checkMessage(answer, Spec{Size: 300, Nonce: 2}); o.kind != corruptOutcome {
		t.Errorf("another nonce's content passed: %+v", o)
	}
	if o := d.checkMessage(answer, Spec{Size: 300, Nonce: 1}); o.kind != okOutcome {
		t.Errorf("the right content failed: %v", o.err)
	}
}
