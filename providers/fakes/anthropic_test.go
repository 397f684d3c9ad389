package fakes

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const anthropicKey = "sk-ant-fake"

func newAnthropic(t *testing.T) *Anthropic {
	t.Helper()
	a := NewAnthropic(AnthropicOptions{Name: "claude", APIKey: anthropicKey, ContextWindow: 200})
	t.Cleanup(a.Close)
	return a
}

// post sends a Messages request with the given headers (nil: the usual ones).
func post(t *testing.T, a *Anthropic, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.BaseURL()+"/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = map[string]string{"x-api-key": anthropicKey, "anthropic-version": "2023-06-01"}
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type anthropicErrorDoc struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func errorOf(t *testing.T, resp *http.Response) anthropicErrorDoc {
	t.Helper()
	var doc anthropicErrorDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Type != "error" || doc.RequestID == "" || resp.Header.Get("Request-Id") != doc.RequestID {
		t.Fatalf("not Anthropic's error shape: %+v", doc)
	}
	return doc
}

const hi = `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`

func TestAnthropicRefusesLikeTheAPI(t *testing.T) {
	a := newAnthropic(t)
	toolUse := `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]}`
	tools := `"tools":[{"name":"f","input_schema":{"type":"object"}}]`
	cases := []struct {
		name   string
		header map[string]string
		body   string
		status int
		typ    string
		msg    string
	}{
		{"no key", map[string]string{"anthropic-version": "2023-06-01"}, hi, 401, "authentication_error", "x-api-key header is required"},
		{"wrong key", map[string]string{"x-api-key": "nope", "anthropic-version": "2023-06-01"}, hi, 401, "authentication_error", "invalid x-api-key"},
		{"no version", map[string]string{"x-api-key": anthropicKey}, hi, 400, "invalid_request_error", "anthropic-version: header is required"},
		{"no max_tokens", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "max_tokens: Field required"},
		{"no messages", nil, `{"model":"m","max_tokens":5,"messages":[]}`, 400, "invalid_request_error", "messages: at least one message is required"},
		{"system role", nil, `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error", "Unexpected role \"system\""},
		{"empty text", nil, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":""}]}`, 400, "invalid_request_error", "text content blocks must be non-empty"},
		{"tool_use without result", nil, `{"model":"m","max_tokens":5,` + tools + `,"messages":[{"role":"user","content":"x"},` + toolUse + `,{"role":"user","content":"y"}]}`, 400, "invalid_request_error",
			"messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message."},
		{"result for an unknown id", nil, `{"model":"m","max_tokens":5,` + tools + `,"messages":[{"role":"user","content":"x"},` + toolUse + `,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"},{"type":"tool_result","tool_use_id":"toolu_9","content":"?"}]}]}`, 400, "invalid_request_error",
			"messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."},
		{"tool blocks without tools", nil, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"},` + toolUse + `,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1"}]}]}`, 400, "invalid_request_error", "must define tools"},
		{"temperature on 2026-10-21", map[string]string{"x-api-key": anthropicKey, "anthropic-version": "2026-10-21"}, `{"model":"m","max_tokens":5,"temperature":1,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "temperature:"},
		{"prompt too long", nil, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("word ", 400) + `"}]}`, 400, "invalid_request_error", "prompt is too long: 502 tokens > 200 maximum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, a, tc.body, tc.header)
			doc := errorOf(t, resp)
			if resp.StatusCode != tc.status || doc.Error.Type != tc.typ || !strings.Contains(doc.Error.Message, tc.msg) {
				t.Fatalf("got %d %+v, want %d %s %q", resp.StatusCode, doc.Error, tc.status, tc.typ, tc.msg)
			}
		})
	}
	if resp := post(t, a, hi, map[string]string{"authorization": "Bearer " + anthropicKey, "anthropic-version": "2026-10-21"}); resp.StatusCode != 200 {
		t.Fatalf("bearer auth (SDKs since 2026-10-21): %d", resp.StatusCode)
	}
}

func TestAnthropicMessage(t *testing.T) {
	a := newAnthropic(t)
	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"system":[{"type":"text","text":"Be brief."}],"stop_sequences":["heard"],
		"messages":[{"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"there"}]}]}`
	resp := post(t, a, body, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Request-Id"), "req_") {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var m struct {
		ID, Type, Role, Model string
		Content               []struct{ Type, Text string }
		StopReason            string  `json:"stop_reason"`
		StopSequence          *string `json:"stop_sequence"`
		Usage                 struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || m.Role != "assistant" || !strings.HasPrefix(m.ID, "msg_") || m.Model != "claude-sonnet-4-5" ||
		m.StopReason != "stop_sequence" || m.StopSequence == nil || *m.StopSequence != "heard" ||
		len(m.Content) != 1 || m.Content[0].Text != "claude " || m.Usage.InputTokens == 0 || m.Usage.OutputTokens != 1 {
		t.Fatalf("message %+v", m)
	}
	// The two user messages were combined into one turn, as the API does.
	if p := a.Requests()[0]; !strings.Contains(string(p.Body), `"there"`) {
		t.Fatalf("recorded %s", p.Body)
	}
}

// events reads an SSE body into (event name, data) pairs.
func events(t *testing.T, r io.Reader) [][2]string {
	t.Helper()
	var out [][2]string
	var name string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := strings.TrimPrefix(line, "data: ")
			var typed struct{ Type string }
			if err := json.Unmarshal([]byte(data), &typed); err != nil || typed.Type != name {
				t.Fatalf("event %q carries data of type %q (%v)", name, typed.Type, err)
			}
			out = append(out, [2]string{name, data})
		}
	}
	return out
}

func TestAnthropicStreamEvents(t *testing.T) {
	a := newAnthropic(t)
	resp := post(t, a, `{"model":"m","max_tokens":64,"stream":true,"tool_choice":{"type":"any"},"tools":[{"name":"f","input_schema":{"type":"object"}},{"name":"g","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}`, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	var names []string
	for _, ev := range events(t, resp.Body) {
		names = append(names, ev[0])
	}
	want := "message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("events\n %s\nwant\n %s", got, want)
	}
}

func TestAnthropicStreamFaults(t *testing.T) {
	a := newAnthropic(t)
	stream := `{"model":"m","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"one two three"}]}`

	a.Fail(Fault{Status: 529, CutAfter: 3, Times: 1})
	evs := events(t, post(t, a, stream, nil).Body)
	if len(evs) != 4 || evs[3][0] != "error" || !strings.Contains(evs[3][1], `"overloaded_error"`) {
		t.Fatalf("overloaded mid-stream: %v", evs)
	}
	a.Fail(Fault{CutAfter: 4, Times: 1})
	if evs := events(t, post(t, a, stream, nil).Body); len(evs) != 4 || evs[3][0] == "message_stop" {
		t.Fatalf("cut stream: %v", evs)
	}
	a.Fail(Fault{Status: 529, Times: 1})
	resp := post(t, a, stream, nil)
	if doc := errorOf(t, resp); resp.StatusCode != 529 || doc.Error.Type != "overloaded_error" || doc.Error.Message != "Overloaded" {
		t.Fatalf("overloaded: %d %+v", resp.StatusCode, doc)
	}
	a.Fail(Fault{Status: 429, RetryAfter: 1500 * time.Millisecond, Times: 1})
	resp = post(t, a, hi, nil)
	reset, err := time.Parse(time.RFC3339, resp.Header.Get("Anthropic-Ratelimit-Requests-Reset"))
	if doc := errorOf(t, resp); resp.StatusCode != 429 || doc.Error.Type != "rate_limit_error" || resp.Header.Get("Retry-After") != "2" ||
		err != nil || time.Until(reset) > 2*time.Second || resp.Header.Get("Anthropic-Ratelimit-Requests-Remaining") != "0" {
		t.Fatalf("rate limited: %d %v", resp.StatusCode, resp.Header)
	}
	if a.Served() != 1 { // only the plainly cut stream counts as served
		t.Fatalf("served %d", a.Served())
	}
}
