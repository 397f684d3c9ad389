package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard/switchyard/providers/fakes"
)

func TestChatCompletionThroughSDK(t *testing.T) {
	e := newEnv(t, baseConfig)
	c := e.client(clientKey)
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("Hello, proxy"),
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "openai heard: Hello, proxy" {
		t.Errorf("content %q", got)
	}
	if resp.Usage.TotalTokens == 0 {
		t.Error("usage lost")
	}
	h := raw.Header
	if h.Get("X-Switchyard-Provider") != "openai" || h.Get("X-Switchyard-Model") != "gpt-4o-2024" ||
		h.Get("X-Switchyard-Attempts") != "1" || !strings.HasPrefix(h.Get("X-Request-Id"), "req_") {
		t.Errorf("headers: %v", h)
	}
	// The upstream saw the upstream model and our credentials, never the client's.
	rec := e.openai.Requests()[0]
	if !bytes.Contains(rec.Body, []byte(`"model":"gpt-4o-2024"`)) || rec.Header.Get("Authorization") != "Bearer sk-upstream-openai" {
		t.Errorf("upstream request: %s %v", rec.Body, rec.Header)
	}
	for _, r := range e.openai.Requests() {
		for k, v := range r.Header {
			if strings.Contains(strings.Join(v, ","), clientKey) {
				t.Errorf("client key forwarded upstream in %s", k)
			}
		}
	}
}

func TestRequestIDIsEchoed(t *testing.T) {
	e := newEnv(t, baseConfig)
	c := e.client(clientKey)
	var raw *http.Response
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("x")},
		option.WithHeader("X-Request-Id", "trace-42"), option.WithResponseInto(&raw))
	if err != nil || raw.Header.Get("X-Request-Id") != "trace-42" {
		t.Errorf("request id %q (%v)", raw.Header.Get("X-Request-Id"), err)
	}
}

// streamEvents reads the raw SSE data lines of a streamed response.
func streamEvents(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamRelaysChunksInOrder(t *testing.T) {
	e := newEnv(t, baseConfig)
	words := []string{"Once ", "upon ", "a ", "time ", "there ", "was ", "a ", "proxy."}
	e.openai.Respond(func(p *fakes.Prompt) fakes.Reply { return fakes.Reply{Content: strings.Join(words, ""), Chunks: words} })
	c := e.client(clientKey)

	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("tell a story"),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var got []string
	var usage int64
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		ch := stream.Current()
		acc.AddChunk(ch)
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
			got = append(got, ch.Choices[0].Delta.Content)
		}
		if ch.Usage.TotalTokens > 0 {
			usage = ch.Usage.TotalTokens
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != strings.Join(words, "|") {
		t.Errorf("chunks %q, want %q", got, words)
	}
	if usage == 0 || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("usage %d finish %q", usage, acc.Choices[0].FinishReason)
	}

	// Without include_usage the client gets no usage chunk, although upstream was
	// asked for one (for accounting).
	resp, body := e.post("/chat/completions", clientKey, `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	events := streamEvents(t, body)
	if events[len(events)-1] != "[DONE]" {
		t.Errorf("last event %q", events[len(events)-1])
	}
	for _, ev := range events {
		if strings.Contains(ev, `"choices":[]`) {
			t.Errorf("usage chunk forwarded to a client that did not ask: %s", ev)
		}
	}
	last := e.openai.Requests()[len(e.openai.Requests())-1]
	if !bytes.Contains(last.Body, []byte(`"stream_options":{"include_usage":true}`)) {
		t.Errorf("upstream not asked for usage: %s", last.Body)
	}
}

func TestAzureStreamHoldsPromptFilterChunk(t *testing.T) {
	e := newEnv(t, baseConfig)
	_, body := e.post("/chat/completions", clientKey, `{"model":"gpt-4o-azure","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	events := streamEvents(t, body)
	if len(events) < 3 || !strings.Contains(events[0], "prompt_filter_results") || events[len(events)-1] != "[DONE]" {
		t.Errorf("events %q", events)
	}
	rec := e.azure.Requests()[0]
	if rec.Path != "/openai/deployments/gpt-4o-prod/chat/completions" || rec.Header.Get("Api-Key") != "az-upstream-key" {
		t.Errorf("azure wire %s %v", rec.Path, rec.Header)
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	e := newEnv(t, baseConfig)
	c := e.client(clientKey)
	ctx := context.Background()
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"query": map[string]any{"type": "string"}}}})}
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Tools: tools, Messages: userMsg("weather in Oslo"),
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}}
	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("tool call: %+v", msg)
	}
	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("12°C and rain", msg.ToolCalls[0].ID))
	params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}
	resp, err = c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Tool results: 12°C and rain" {
		t.Errorf("after tool result: %q", got)
	}
}

func TestEmbeddings(t *testing.T) {
	e := newEnv(t, baseConfig)
	c := e.client(clientKey)
	resp, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || float32(resp.Data[0].Embedding[0]) != fakes.Vector("alpha", 8)[0] || resp.Usage.PromptTokens == 0 {
		t.Errorf("embeddings %+v", resp)
	}
}

func TestModelsListedPerKey(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := context.Background()
	c := e.client(clientKey)
	list, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "gpt-4o,gpt-4o-azure,claude-sonnet,embed" {
		t.Errorf("models %v", ids)
	}
	limited := e.client("sk-limited")
	list, err = limited.Models.List(ctx)
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != "claude-sonnet" {
		t.Errorf("limited key sees %+v (%v)", list.Data, err)
	}
	if m, err := limited.Models.Get(ctx, "claude-sonnet"); err != nil || m.OwnedBy != "switchyard" {
		t.Errorf("get: %+v %v", m, err)
	}
	var apiErr *openai.Error
	if _, err := limited.Models.Get(ctx, "gpt-4o"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another key's alias: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	e := newEnv(t, baseConfig+"max_body_bytes: 2048\n")
	ctx := context.Background()
	var apiErr *openai.Error
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}

	bad := e.client("sk-wrong")
	if _, err := bad.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("bad key: %v", err)
	}
	limited := e.client("sk-limited")
	// A model the key may not use reads like one that does not exist (no enumeration).
	if _, err := limited.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("allowlist: %v", err)
	}
	good := e.client(clientKey)
	params.Model = "gpt-5-nonexistent"
	if _, err := good.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown alias: %v", err)
	}
	params.Model = "gpt-4o"
	params.Messages = userMsg(strings.Repeat("x", 4096))
	if _, err := good.Chat.Completions.New(ctx, params); !errors.As(err, &apiErr) || apiErr.StatusCode != 413 {
		t.Errorf("body limit: %v", err)
	}

	cases := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"no key", "", `{"model":"gpt-4o","messages":[]}`, 401, "missing_api_key"},
		{"malformed JSON", clientKey, `{"model":"gpt-4o","messages":[`, 400, ""},
		{"not an object", clientKey, `[1,2]`, 400, ""},
		{"missing messages", clientKey, `{"model":"gpt-4o"}`, 400, ""},
	}
	for _, c := range cases {
		resp, body := e.post("/chat/completions", c.key, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d body %s", c.name, resp.StatusCode, body)
			continue
		}
		if _, code, _ := errorCode(t, body); code != c.code {
			t.Errorf("%s: code %q, want %q", c.name, code, c.code)
		}
	}
	if n := len(e.openai.Requests()); n != 0 {
		t.Errorf("%d invalid requests reached the upstream", n)
	}
	resp, body := e.post("/v1/nope", clientKey, `{}`)
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
}

func TestUpstreamErrorsAreOpenAIShaped(t *testing.T) {
	e := newEnv(t, baseConfig)
	c := e.client(clientKey)
	var apiErr *openai.Error
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}

	// The caller's mistake, as judged upstream, comes back as is: no failover.
	e.openai.Fail(fakes.Fault{Status: 400, Code: "invalid_value", Message: "Invalid value for 'temperature'", Times: 1})
	if _, err := c.Chat.Completions.New(context.Background(), params); !errors.As(err, &apiErr) ||
		apiErr.StatusCode != 400 || apiErr.Message != "Invalid value for 'temperature'" {
		t.Errorf("upstream 400: %v", err)
	}
	// An upstream that keeps failing gives a 502 that names it, after max_attempts.
	e.openai.Fail(fakes.Fault{Status: 500})
	_, err := c.Chat.Completions.New(context.Background(), params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || !strings.Contains(apiErr.Message, "openai") {
		t.Errorf("upstream 500: %v", err)
	}
}

func TestClientCancellationReachesUpstream(t *testing.T) {
	e := newEnv(t, baseConfig)
	// A thousand words, 100 ms apart: the upstream is still streaming when the client
	// goes, however loaded the machine.
	e.openai.SetChunkDelay(100 * time.Millisecond)
	c := e.client(clientKey)
	ctx, cancel := context.WithCancel(context.Background())
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: userMsg(strings.Repeat("word ", 1000))})
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	cancel()
	for stream.Next() {
	}
	waitCanceled(t, e.openai, 1)

	// A non-streamed request canceled while the upstream thinks (it never answers).
	e.openai.Fail(fakes.Fault{Hang: true, Times: 1})
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err == nil {
		t.Fatal("a request to a hung upstream succeeded")
	}
	waitCanceled(t, e.openai, 2)
}

func TestGracefulShutdownFinishesStream(t *testing.T) {
	e := newEnv(t, baseConfig)
	e.openai.SetChunkDelay(50 * time.Millisecond)
	c := e.client(clientKey)
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: userMsg("one two three four five six seven eight nine ten")})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	stopped := make(chan error, 1)
	go func() { stopped <- e.shutdown() }()
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream cut by shutdown: %v", err)
	}
	if !strings.HasSuffix(acc.Choices[0].Message.Content, "nine ten") {
		t.Errorf("stream incomplete: %q", acc.Choices[0].Message.Content)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := http.Get(e.admin + "/healthz"); err == nil {
		t.Error("admin still serving after shutdown")
	}
}

func TestAzureSDKIngress(t *testing.T) {
	e := newEnv(t, baseConfig)
	// An Azure OpenAI SDK pointed at the proxy: deployment paths and the api-key header.
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(e.base, "/v1")+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
		strings.NewReader(`{"messages":[{"role":"user","content":"via azure sdk"}]}`))
	req.Header.Set("Api-Key", clientKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	if resp.StatusCode != 200 || len(doc.Choices) == 0 || doc.Choices[0].Message.Content != "openai heard: via azure sdk" {
		t.Errorf("%d %+v", resp.StatusCode, doc)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t, baseConfig)
	c := e.client(clientKey)
	_, _ = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	bad := e.client("sk-wrong-guess")
	_, _ = bad.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	e.openai.Fail(fakes.Fault{Status: 401, Times: 1})
	_, _ = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	if e.logs.FilterMessage("request").Len() < 3 {
		t.Fatalf("access lines: %d", e.logs.FilterMessage("request").Len())
	}
	for _, entry := range e.logs.All() {
		line, _ := json.Marshal(entry.ContextMap())
		for _, secret := range []string{clientKey, "sk-wrong-guess", "sk-upstream-openai", "az-upstream-key"} {
			if strings.Contains(entry.Message+string(line), secret) {
				t.Errorf("secret %q in log: %s %s", secret, entry.Message, line)
			}
		}
	}
}

func TestBodiesLoggedOnlyWhenAskedAndRedacted(t *testing.T) {
	e := newEnv(t, baseConfig+"log: {bodies: true}\n")
	c := e.client(clientKey)
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: userMsg("my OpenAI key is sk-proj-abcdefghijklmnopqrstuvwx, keep it safe")})
	if err != nil {
		t.Fatal(err)
	}
	lines := e.logs.FilterMessage("request").All()
	m := lines[len(lines)-1].ContextMap()
	req, _ := m["request_body"].(string)
	resp, _ := m["response_body"].(string)
	if !strings.Contains(req, "keep it safe") || strings.Contains(req, "abcdefghijklmnopqrstuvwx") || !strings.Contains(resp, "chat.completion") {
		t.Errorf("bodies: request %q response %q", req, resp)
	}
	// Off by default.
	e2 := newEnv(t, baseConfig)
	c2 := e2.client(clientKey)
	_, _ = c2.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("secret prompt")})
	for _, l := range e2.logs.All() {
		if _, ok := l.ContextMap()["request_body"]; ok {
			t.Error("body logged without log.bodies")
		}
	}
}
