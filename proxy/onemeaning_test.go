package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// oneMeaning: a tenant whose key may use only the cheap aliases, another tenant,
// and one upstream serving every alias. Three consecutive failures open a breaker.
const oneMeaning = `
drain_delay: 0s
keys:
  - {name: tenant, key: sk-tenant, models: [cheap, cheap-embed]}
  - {name: other, key: sk-other}
providers:
  - {name: up, type: openai, base_url: "{{up}}"}
models:
  - name: cheap
    targets: [{provider: up, model: cheap-model}]
  - name: expensive
    targets: [{provider: up, model: expensive-model}]
  - name: cheap-embed
    targets: [{provider: up, model: cheap-embedding}]
  - name: expensive-embed
    targets: [{provider: up, model: expensive-embedding}]
resilience:
  max_attempts: 3
  breaker: {consecutive_failures: 3, open_timeout: 60s}
  timeouts: {first_byte: 10s, total: 30s}
`

type apiErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeError(t *testing.T, body []byte) apiErrorBody {
	t.Helper()
	var doc apiErrorBody
	if err := json.Unmarshal(body, &doc); err != nil || doc.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return doc
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestSmuggledModelIsRefused: a key allowed only "cheap" cannot reach "expensive"
// by naming it a second time in a spelling the proxy's scanner and the upstream's
// decoder read differently. The request is refused with a 400 naming the member and
// the upstream never sees it.
func TestSmuggledModelIsRefused(t *testing.T) {
	e := newEnv(t, oneMeaning, "up")
	up := e.clouds["up"]
	const msgs = `"messages":[{"role":"user","content":"hi"}]`

	// The setup works: cheap is served, expensive is refused by the allow-list.
	if resp, body := e.post("/chat/completions", "sk-tenant", `{"model":"cheap",`+msgs+`}`); resp.StatusCode != 200 {
		t.Fatalf("cheap: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.post("/chat/completions", "sk-tenant", `{"model":"expensive",`+msgs+`}`); resp.StatusCode/100 != 4 {
		t.Fatalf("expensive, which the key may not use: %d %s", resp.StatusCode, body)
	}
	up.ResetRecords()

	for _, c := range []struct{ path, body, param string }{
		{"/chat/completions", `{"model":"cheap","mod\u0065l":"expensive",` + msgs + `}`, "model"},
		{"/chat/completions", `{"mod\u0065l":"expensive","model":"cheap",` + msgs + `}`, "model"},
		{"/chat/completions", `{"model":"cheap","model":"expensive",` + msgs + `}`, "model"},
		{"/chat/completions", `{"model":"cheap","Model":"expensive",` + msgs + `}`, "Model"},
		{"/chat/completions", `{"model":"cheap","max_tokens":5,"MAX_TOKENS":100000,` + msgs + `}`, "MAX_TOKENS"},
		{"/chat/completions", `{"model":"cheap","metadata":{"tags":"cheap","t\u0061gs":"premium"},` + msgs + `}`, "metadata.tags"},
		{"/embeddings", `{"model":"cheap-embed","mod\u0065l":"expensive-embed","input":"x"}`, "model"},
		{"/embeddings", `{"model":"cheap-embed","Model":"expensive-embed","input":"x"}`, "Model"},
	} {
		resp, body := e.post(c.path, "sk-tenant", c.body)
		doc := decodeError(t, body)
		if resp.StatusCode != 400 || doc.Error.Type != "invalid_request_error" || deref(doc.Error.Code) != "ambiguous_parameter" ||
			deref(doc.Error.Param) != c.param {
			t.Errorf("%s %s: %d %s, want 400 ambiguous_parameter on %q", c.path, c.body, resp.StatusCode, body, c.param)
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("the upstream saw %d refused requests: %s", n, up.Requests()[0].Body)
	}
}

// TestEscapedStreamDoesNotOpenTheBreaker: "str\u0065am": true once made the
// upstream stream while the proxy waited for JSON; the decode failure counted
// against the target, and a dozen such requests from one tenant opened a healthy
// target's breaker for everyone. Now each is refused before any upstream call, and
// the target keeps serving the other tenant.
func TestEscapedStreamDoesNotOpenTheBreaker(t *testing.T) {
	e := newEnv(t, oneMeaning, "up")
	for range 12 {
		resp, body := e.post("/chat/completions", "sk-tenant",
			`{"model":"cheap","str\u0065am":true,"messages":[{"role":"user","content":"hi"}]}`)
		if doc := decodeError(t, body); resp.StatusCode != 400 || deref(doc.Error.Param) != "stream" {
			t.Fatalf("escaped stream: %d %s", resp.StatusCode, body)
		}
	}
	if n := len(e.clouds["up"].Requests()); n != 0 {
		t.Errorf("the upstream saw %d refused requests", n)
	}
	if got := e.targets(t)["up/cheap-model"].Breaker; got != "closed" {
		t.Errorf("breaker %s after one tenant's refused requests", got)
	}
	resp, body := e.post("/chat/completions", "sk-other", `{"model":"cheap","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Provider") != "up" {
		t.Errorf("the other tenant: %d %s", resp.StatusCode, body)
	}
}

// TestOversizedAnswerIsNotTheTargetsFault: an answer over max_response_bytes fails
// with a 502 that says so; it is not retried on the target (one upstream call per
// request) and, being shaped by the client's request, does not open the breaker.
func TestOversizedAnswerIsNotTheTargetsFault(t *testing.T) {
	e := newEnv(t, oneMeaning+"max_response_bytes: 1500\n", "up")
	big := `{"model":"cheap","messages":[{"role":"user","content":"` + strings.Repeat("echo ", 400) + `"}]}`
	for i := range 5 {
		resp, body := e.post("/chat/completions", "sk-tenant", big)
		doc := decodeError(t, body)
		if resp.StatusCode != 502 || !strings.Contains(doc.Error.Message, "max_response_bytes") {
			t.Fatalf("oversized answer: %d %s", resp.StatusCode, body)
		}
		if n := len(e.clouds["up"].Requests()); n != i+1 {
			t.Fatalf("request %d: the upstream was called %d times in all", i+1, n)
		}
	}
	if got := e.targets(t)["up/cheap-model"].Breaker; got != "closed" {
		t.Errorf("breaker %s after oversized answers", got)
	}
	if resp, body := e.post("/chat/completions", "sk-other", `{"model":"cheap","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Errorf("a small answer: %d %s", resp.StatusCode, body)
	}
}

// garbageUpstream answers 200 with what it is given: a body for plain requests, SSE
// events for streams.
func garbageUpstream(t *testing.T, body string, events ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(raw), `"stream":true`) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events {
			_, _ = io.WriteString(w, "data: "+ev+"\n\n")
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const garbageConfig = `
drain_delay: 0s
providers:
  - {name: garbage, type: openai, base_url: "GARBAGE"}
  - {name: good, type: openai, base_url: "{{good}}"}
models:
  - name: m
    targets:
      - {provider: garbage, model: g}
      - {provider: good, model: ok, priority: 1}
resilience:
  max_attempts: 3
  timeouts: {first_byte: 10s, total: 30s}
`

// TestGarbageAnswersFailOver: a 200 that is not a chat completion, or a stream whose
// first event is not valid JSON, is a decode failure: the request fails over before
// its first byte and the client never sees the garbage. Garbage after the stream
// began ends it with an error event, never with a successful end.
func TestGarbageAnswersFailOver(t *testing.T) {
	first := `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hello"}}]}`
	for _, c := range []struct {
		name, body string
		events     []string
	}{
		{"html", "<html>503 from a proxy on the way</html>", []string{"<html>"}},
		{"wrong document", `{"object":"list","data":[]}`, []string{`{"object":"chat.completion.chunk","choices":[{"delta":{"content":tru}}]}`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, strings.Replace(garbageConfig, "GARBAGE", garbageUpstream(t, c.body, c.events...), 1), "good")
			resp, body := e.post("/chat/completions", "", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Provider") != "good" || resp.Header.Get("X-Switchyard-Attempts") != "2" {
				t.Errorf("plain: %d from %q after %s attempts: %s", resp.StatusCode, resp.Header.Get("X-Switchyard-Provider"),
					resp.Header.Get("X-Switchyard-Attempts"), body)
			}
			resp, body = e.post("/chat/completions", "", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Provider") != "good" || strings.Contains(string(body), "tru}") ||
				strings.Contains(string(body), "<html>") || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
				t.Errorf("stream: %d from %q: %s", resp.StatusCode, resp.Header.Get("X-Switchyard-Provider"), body)
			}
			if got := metricValue(t, e, `switchyard_upstream_decode_errors_total{provider="garbage"}`); got != "2" {
				t.Errorf("decode errors counted: %s", got)
			}
		})
	}
	t.Run("after the first byte", func(t *testing.T) {
		e := newEnv(t, strings.Replace(garbageConfig, "GARBAGE", garbageUpstream(t, "", first, "not json", "[DONE]"), 1), "good")
		resp, body := e.post("/chat/completions", "", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		events := streamEvents(t, body)
		if resp.StatusCode != 200 || len(events) != 2 || !strings.Contains(events[0], "hello") ||
			!strings.Contains(events[1], `"error"`) || strings.Contains(string(body), "[DONE]") || strings.Contains(string(body), "not json") {
			t.Errorf("%d: %q", resp.StatusCode, events)
		}
	})
}

// TestTooManyTagsRefused: a tag list beyond policy's limits is a 400, whatever its
// size (40,000 tags once cost 10 s of CPU).
func TestTooManyTagsRefused(t *testing.T) {
	e := newEnv(t, oneMeaning, "up")
	tags := make([]string, 40000)
	for i := range tags {
		tags[i] = "t" + strconv.Itoa(i)
	}
	req, _ := http.NewRequest(http.MethodPost, e.base+"/chat/completions",
		strings.NewReader(`{"model":"cheap","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-tenant")
	req.Header.Set("X-Switchyard-Tags", strings.Join(tags, ","))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if doc := decodeError(t, body); resp.StatusCode != 400 || deref(doc.Error.Code) != "invalid_tags" {
		t.Errorf("40000 tags: %d %s", resp.StatusCode, body)
	}
	resp, body = e.post("/chat/completions", "sk-tenant",
		`{"model":"cheap","metadata":{"tags":"`+strings.Repeat("x", 65)+`"},"messages":[{"role":"user","content":"hi"}]}`)
	if doc := decodeError(t, body); resp.StatusCode != 400 || deref(doc.Error.Code) != "invalid_tags" {
		t.Errorf("a 65-byte tag: %d %s", resp.StatusCode, body)
	}
	if n := len(e.clouds["up"].Requests()); n != 0 {
		t.Errorf("the upstream saw %d refused requests", n)
	}
}
