package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestMain isolates the tests from the machine's AWS setup: no shared files, no
// profile, no environment credentials or endpoints.
func TestMain(m *testing.M) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_MAX_ATTEMPTS"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(os.TempDir(), "switchyard-bedrock-test-no-config"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(os.TempDir(), "switchyard-bedrock-test-no-credentials"))
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never wait for an instance role
	os.Exit(m.Run())
}

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
	// sonnet is a cross-region inference profile id: its ':' must reach Bedrock
	// escaped, and the signature must cover the escaped path.
	sonnet = "us.anthropic.claude-sonnet-4-20250514-v1:0"
)

func newFake(t testing.TB, opts fakes.BedrockOptions) *fakes.Bedrock {
	t.Helper()
	if opts.AccessKeyID == "" {
		opts.AccessKeyID, opts.SecretAccessKey = testKeyID, testSecret
	}
	if opts.Region == "" {
		opts.Region = testRegion
	}
	f := fakes.NewBedrock(opts)
	t.Cleanup(f.Close)
	return f
}

// recorder is an HTTP transport that remembers the raw path of each request, as
// it goes on the wire.
type recorder struct {
	mu    sync.Mutex
	paths []string
	next  http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.EscapedPath())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paths[len(r.paths)-1]
}

func newProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	if cfg.Region == "" {
		cfg.Region = testRegion
	}
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fakeProvider(t testing.TB, f *fakes.Bedrock) (*Provider, *recorder) {
	t.Helper()
	rec := &recorder{next: providers.NewHTTPClient(5 * time.Second).Transport}
	return newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret, BaseURL: f.Endpoint(),
		HTTPClient: &http.Client{Transport: rec}}), rec
}

// roundTripFunc serves canned responses without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fixture is a provider whose transport answers every request with the fixture's
// current status, header and body (tests and fuzz targets change them between
// calls) and hands what was sent to seen.
type fixture struct {
	p      *Provider
	status int
	header http.Header
	body   []byte
	seen   func(r *http.Request, body []byte)
}

func newFixture(t testing.TB, status int, header http.Header, body []byte) *fixture {
	t.Helper()
	fx := &fixture{status: status, header: header, body: body}
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		var sent []byte
		if r.Body != nil {
			sent, _ = io.ReadAll(r.Body)
		}
		if fx.seen != nil {
			fx.seen(r, sent)
		}
		h := fx.header.Clone()
		if h == nil {
			h = http.Header{}
		}
		return &http.Response{StatusCode: fx.status, Status: http.StatusText(fx.status), Header: h,
			Body: io.NopCloser(bytes.NewReader(fx.body)), ContentLength: int64(len(fx.body)), Request: r}, nil
	})
	fx.p = newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret,
		BaseURL: "https://bedrock-runtime.us-east-1.amazonaws.com", HTTPClient: &http.Client{Transport: rt}})
	return fx
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func chatCall(t testing.TB, model, body string) *providers.Call {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &providers.Call{Request: r, Model: model}
}

// golden compares got with testdata/name, or rewrites it with -update.
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
		t.Errorf("%s differs from the golden file (run with -update to accept):\n got: %s\nwant: %s", name, got, want)
	}
}

func indentJSON(t testing.TB, b []byte) []byte {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep numbers as sent: the goldens show precision too
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func asError(t testing.TB, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want *providers.Error, got %T %v", err, err)
	}
	return pe
}

// drain reads a stream to its end and returns the chunks' JSON and the final error.
func drain(t testing.TB, s providers.Stream) ([]string, []providers.Chunk, error) {
	t.Helper()
	defer s.Close()
	var data []string
	var chunks []providers.Chunk
	for {
		c, err := s.Recv()
		if err != nil {
			return data, chunks, err
		}
		data = append(data, string(c.Data))
		c.Data = nil
		chunks = append(chunks, c)
	}
}

type chunkDoc struct {
	Choices []struct {
		Delta struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

// assemble rebuilds the message a client would from chunks.
func assemble(t testing.TB, data []string) (role, text string, calls []providers.ToolCall, finish string) {
	t.Helper()
	for _, d := range data {
		var c chunkDoc
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk is not JSON: %v: %s", err, d)
		}
		for _, ch := range c.Choices {
			if ch.Delta.Role != "" {
				role = ch.Delta.Role
			}
			if ch.Delta.Content != nil {
				text += *ch.Delta.Content
			}
			for _, tc := range ch.Delta.ToolCalls {
				for len(calls) <= tc.Index {
					calls = append(calls, providers.ToolCall{})
				}
				if tc.ID != "" {
					calls[tc.Index].ID = tc.ID
					calls[tc.Index].Function.Name = tc.Function.Name
				}
				calls[tc.Index].Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	return role, text, calls, finish
}

func TestChatThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, rec := fakeProvider(t, f)
	resp, err := p.Chat(context.Background(), chatCall(t, sonnet, `{"model":"claude","messages":[
		{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Choices[0].Message.Content.Text; got != "br heard: hello there" || doc.Choices[0].FinishReason != "stop" ||
		doc.Object != "chat.completion" || doc.Model != sonnet || !strings.HasPrefix(doc.ID, "chatcmpl-") {
		t.Errorf("completion: %s", resp.Body)
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Errorf("usage: %+v", resp.Usage)
	}
	if got := rec.last(); got != "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse" {
		t.Errorf("wire path %q", got)
	}
	reqs := f.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/model/"+sonnet+"/converse" ||
		!strings.HasPrefix(last.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+testKeyID+"/") {
		t.Errorf("fake saw %s with %q", last.Path, last.Header.Get("Authorization"))
	}
}

func TestModelARNPathIsEscaped(t *testing.T) {
	// An inference profile ARN holds '/' and ':': both must travel escaped inside
	// one path segment, and the fake's signature check covers the escaped path.
	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0"
	f := newFake(t, fakes.BedrockOptions{})
	p, rec := fakeProvider(t, f)
	if _, err := p.Chat(context.Background(), chatCall(t, arn, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
		t.Fatal(err)
	}
	want := "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-20250514-v1%3A0/converse"
	if got := rec.last(); got != want {
		t.Errorf("wire path\n got %s\nwant %s", got, want)
	}
	reqs := f.Requests()
	if got := reqs[len(reqs)-1].Path; got != "/model/"+arn+"/converse" {
		t.Errorf("fake decoded path %q", got)
	}
}

func TestChatStreamThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(t, f)
	s, err := p.ChatStream(context.Background(), chatCall(t, sonnet, `{"model":"m","stream":true,
		"messages":[{"role":"user","content":"stream this please"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data, chunks, err := drain(t, s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	role, text, calls, finish := assemble(t, data)
	if role != "assistant" || text != "br heard: stream this please" || len(calls) != 0 || finish != "stop" {
		t.Errorf("assembled %q %q %v %q", role, text, calls, finish)
	}
	last := chunks[len(chunks)-1]
	if !last.UsageOnly || last.Usage == nil || last.Usage.PromptTokens == 0 || last.Usage.CompletionTokens != 5 {
		t.Errorf("last chunk %+v %s", last, data[len(data)-1])
	}
}

func TestParallelToolCallsStreamThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	s, err := p.ChatStream(context.Background(), chatCall(t, sonnet, `{"model":"m","stream":true,"tool_choice":"required",
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"query":{"type":"string"}}}}},
		         {"type":"function","function":{"name":"get_time"}}],
		"messages":[{"role":"user","content":"weather in Paris"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := drain(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	_, text, calls, finish := assemble(t, data)
	if text != "" || finish != "tool_calls" || len(calls) != 2 ||
		calls[0].ID != "call_1" || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"query":"weather in Paris"}` ||
		calls[1].ID != "call_2" || calls[1].Function.Name != "get_time" {
		t.Errorf("calls %+v finish %q text %q", calls, finish, text)
	}
}

func TestToolRoundTripThroughFake(t *testing.T) {
	// The tool results follow the assistant's tool calls as separate OpenAI
	// messages; Bedrock gets them merged into one user turn, or rejects the
	// conversation (the fake checks alternation and toolUse ids as Bedrock does).
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	resp, err := p.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m",
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
		"messages":[{"role":"user","content":"weather in Paris and Rome?"},
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
			{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"sunny"},
		{"role":"tool","tool_call_id":"call_2","content":"rainy"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Choices[0].Message.Content.Text; got != "Tool results: sunny; rainy" {
		t.Errorf("answer %q", got)
	}
}

func TestJSONSchemaThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	body := `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"answer",
		"schema":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}},
		"messages":[{"role":"user","content":"capital of France"}]}`
	resp, err := p.Chat(context.Background(), chatCall(t, sonnet, body))
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	// The fake's model answers a forced tool with {"query": <last user text>}.
	if c := doc.Choices[0]; c.Message.Content.Text != `{"query":"capital of France"}` || len(c.Message.ToolCalls) != 0 || c.FinishReason != "stop" {
		t.Errorf("json answer %s", resp.Body)
	}
	s, err := p.ChatStream(context.Background(), chatCall(t, sonnet, strings.Replace(body, `"model":"m"`, `"model":"m","stream":true`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := drain(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	if _, text, calls, finish := assemble(t, data); text != `{"query":"capital of France"}` || len(calls) != 0 || finish != "stop" {
		t.Errorf("streamed json answer %q %v %q", text, calls, finish)
	}
}

func TestStopAndMaxTokensThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(t, f)
	for _, tc := range []struct{ body, text, finish string }{
		{`{"model":"m","stop":["there"],"messages":[{"role":"user","content":"hello there"}]}`, "br heard: hello ", "stop"},
		{`{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"hello there"}]}`, "br heard: ", "length"},
	} {
		resp, err := p.Chat(context.Background(), chatCall(t, sonnet, tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var doc providers.ChatResponse
		_ = json.Unmarshal(resp.Body, &doc)
		if c := doc.Choices[0]; c.Message.Content.Text != tc.text || c.FinishReason != tc.finish {
			t.Errorf("%s: got %q %q", tc.body, c.Message.Content.Text, c.FinishReason)
		}
	}
}

func TestImageThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	p, _ := fakeProvider(t, f)
	resp, err := p.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":[
		{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(resp.Body, []byte("br heard: what is this (and saw 1 image(s))")) {
		t.Errorf("answer %s", resp.Body)
	}
	_, err = p.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":[
		{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`))
	if e := asError(t, err); e.Class != providers.ClassInvalidRequest || e.Status != 400 || !strings.Contains(e.Message, "data URL") {
		t.Errorf("remote image: %+v", e)
	}
}

func TestErrorsThroughFakeAreClassified(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{ContextWindow: 50})
	p, _ := fakeProvider(t, f)
	ask := func(p *Provider, content string) error {
		_, err := p.Chat(context.Background(), chatCall(t, sonnet,
			fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":%q}]}`, content)))
		return err
	}
	for _, tc := range []struct {
		name   string
		fault  fakes.Fault
		class  providers.Class
		status int
		code   string
		retry  time.Duration
	}{
		{"throttled, with Retry-After", fakes.Fault{Status: 429, RetryAfter: 5 * time.Second}, providers.ClassRateLimited, 429, "ThrottlingException", 5 * time.Second},
		{"daily token quota", fakes.Fault{Status: 429, Message: "Too many tokens per day, please wait before trying again."}, providers.ClassQuota, 429, "ThrottlingException", 0},
		{"model not ready is 429 but unavailable", fakes.Fault{Status: 429, Code: "ModelNotReadyException", Message: "Model is not ready"}, providers.ClassUnavailable, 429, "ModelNotReadyException", 0},
		{"service unavailable", fakes.Fault{Status: 503}, providers.ClassUnavailable, 503, "ServiceUnavailableException", 0},
		{"internal", fakes.Fault{Status: 500}, providers.ClassUnavailable, 500, "InternalServerException", 0},
		{"model error", fakes.Fault{Status: 424}, providers.ClassUnavailable, 424, "ModelErrorException", 0},
		{"model timeout", fakes.Fault{Status: 408}, providers.ClassTimeout, 408, "ModelTimeoutException", 0},
		{"quota is 400 yet not the caller's fault", fakes.Fault{Status: 400, Code: "ServiceQuotaExceededException", Message: "quota"}, providers.ClassQuota, 400, "ServiceQuotaExceededException", 0},
		{"access denied", fakes.Fault{Status: 403}, providers.ClassCredential, 403, "AccessDeniedException", 0},
		{"not found", fakes.Fault{Status: 404}, providers.ClassNotFound, 404, "ResourceNotFoundException", 0},
		{"validation", fakes.Fault{Status: 400}, providers.ClassInvalidRequest, 400, "ValidationException", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Fail(fakes.Fault{Status: tc.fault.Status, Code: tc.fault.Code, Message: tc.fault.Message, RetryAfter: tc.fault.RetryAfter, Times: 1})
			e := asError(t, ask(p, "hi"))
			if e.Class != tc.class || e.Status != tc.status || e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Errorf("got class %v status %d code %q retry %v (%v)", e.Class, e.Status, e.Code, e.RetryAfter, e)
			}
		})
	}
	t.Run("prompt longer than the context window", func(t *testing.T) {
		e := asError(t, ask(p, strings.Repeat("long prompt ", 40)))
		if e.Class != providers.ClassContextLength || e.Code != "context_length_exceeded" || e.Status != 400 {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: "not-the-secret", BaseURL: f.Endpoint()})
		e := asError(t, ask(bad, "hi"))
		if e.Class != providers.ClassCredential || e.Status != 403 || e.Code != "InvalidSignatureException" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("unknown access key", func(t *testing.T) {
		bad := newProvider(t, Config{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: testSecret, BaseURL: f.Endpoint()})
		e := asError(t, ask(bad, "hi"))
		if e.Class != providers.ClassCredential || e.Code != "UnrecognizedClientException" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("wrong region", func(t *testing.T) {
		bad := newProvider(t, Config{Region: "eu-west-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, BaseURL: f.Endpoint()})
		e := asError(t, ask(bad, "hi"))
		if e.Class != providers.ClassCredential || e.Code != "InvalidSignatureException" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("no credentials anywhere", func(t *testing.T) {
		before := len(f.Requests())
		none := newProvider(t, Config{BaseURL: f.Endpoint()})
		e := asError(t, ask(none, "hi"))
		if e.Class != providers.ClassCredential || len(f.Requests()) != before {
			t.Errorf("got %+v, %d requests sent", e, len(f.Requests())-before)
		}
	})
}

func TestTransportFaultsThroughFake(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	call := func() *providers.Call {
		return chatCall(t, sonnet, `{"model":"m","stream":true,"messages":[{"role":"user","content":"one two three four five"}]}`)
	}

	f.Fail(fakes.Fault{Reset: true, Times: 1})
	if _, err := p.Chat(context.Background(), call()); asError(t, err).Class != providers.ClassConnection {
		t.Errorf("reset: %v", err)
	}

	f.Fail(fakes.Fault{Hang: true, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := p.Chat(ctx, call())
	cancel()
	if e := asError(t, err); e.Class != providers.ClassTimeout {
		t.Errorf("hang: %+v", e)
	}

	f.Fail(fakes.Fault{CutAfter: 3, Times: 1})
	s, err := p.ChatStream(context.Background(), call())
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := drain(t, s)
	if e := asError(t, err); e.Class != providers.ClassConnection || !errors.Is(err, providers.ErrTruncated) || len(data) != 3 {
		t.Errorf("cut after 3 events: %d chunks, %+v", len(data), e)
	}

	f.Fail(fakes.Fault{CutAfter: -1, Times: 1})
	s, err = p.ChatStream(context.Background(), call())
	if err != nil {
		t.Fatal(err)
	}
	if data, _, err = drain(t, s); !errors.Is(err, providers.ErrTruncated) || len(data) != 0 {
		t.Errorf("cut before the first event: %d chunks, %v", len(data), err)
	}

	f.Fail(fakes.Fault{CutAfter: 4, Code: "throttlingException", Message: "Too many tokens, please wait before trying again.", Times: 1})
	s, err = p.ChatStream(context.Background(), call())
	if err != nil {
		t.Fatal(err)
	}
	data, _, err = drain(t, s)
	if e := asError(t, err); e.Class != providers.ClassRateLimited || e.Code != "ThrottlingException" || len(data) != 4 {
		t.Errorf("exception mid-stream: %d chunks, %+v", len(data), e)
	}

	f.Fail(fakes.Fault{Status: 503, Times: 1})
	if _, err := p.ChatStream(context.Background(), call()); asError(t, err).Class != providers.ClassUnavailable {
		t.Errorf("stream refused with 503: %v", err)
	}

	f.Fail(fakes.Fault{ChunkDelay: 20 * time.Millisecond, Times: 1})
	start := time.Now()
	s, err = p.ChatStream(context.Background(), call())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err = drain(t, s); err != io.EOF || time.Since(start) < 100*time.Millisecond {
		t.Errorf("slow stream: %v after %v", err, time.Since(start))
	}
}

func TestConcurrentStreamsShareOneClient(t *testing.T) {
	// Run with -race: each stream must have its own event-stream decoder.
	f := newFake(t, fakes.BedrockOptions{Name: "br"})
	f.SetChunkDelay(time.Millisecond)
	p, _ := fakeProvider(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := p.ChatStream(context.Background(), chatCall(t, sonnet,
				fmt.Sprintf(`{"model":"m","stream":true,"messages":[{"role":"user","content":"stream %d of many"}]}`, i)))
			if err != nil {
				errs <- err
				return
			}
			data, _, err := drain(t, s)
			if _, text, _, _ := assemble(t, data); err != io.EOF || text != fmt.Sprintf("br heard: stream %d of many", i) {
				errs <- fmt.Errorf("stream %d: %q %v", i, text, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCallHeadersAreForwardedAndSigned(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	rec := &recorder{next: http.DefaultTransport}
	p := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret, BaseURL: f.Endpoint(),
		Headers: map[string]string{"X-Team": "search"}, HTTPClient: &http.Client{Transport: rec}})
	call := chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	call.Header = http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	if _, err := p.Chat(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	last := f.Requests()[len(f.Requests())-1]
	auth := last.Header.Get("Authorization")
	if last.Header.Get("Traceparent") == "" || last.Header.Get("X-Team") != "search" ||
		!strings.Contains(auth, "traceparent") || !strings.Contains(auth, "x-team") {
		t.Errorf("headers %v", last.Header)
	}
}

func TestSessionTokenAndAssumedRole(t *testing.T) {
	t.Run("static temporary credentials", func(t *testing.T) {
		f := newFake(t, fakes.BedrockOptions{SessionToken: "session-token-1"})
		ok := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: "session-token-1", BaseURL: f.Endpoint()})
		if _, err := ok.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
			t.Fatal(err)
		}
		bad := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: "stale", BaseURL: f.Endpoint()})
		_, err := bad.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		if asError(t, err).Class != providers.ClassCredential {
			t.Errorf("stale token: %v", err)
		}
	})
	t.Run("role_arn through STS", func(t *testing.T) {
		// An STS endpoint that hands out temporary credentials for the role, found
		// through AWS_ENDPOINT_URL_STS as the SDK's configuration allows.
		var assumed []string
		var mu sync.Mutex
		sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			assumed = append(assumed, r.Form.Get("Action")+" "+r.Form.Get("RoleArn")+" "+r.Form.Get("RoleSessionName"))
			mu.Unlock()
			if !strings.Contains(r.Header.Get("Authorization"), "Credential="+testKeyID+"/") {
				w.WriteHeader(403)
				return
			}
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken>
<Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/bedrock/switchyard</Arn><AssumedRoleId>AROA:switchyard</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
				time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		}))
		defer sts.Close()
		t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
		f := newFake(t, fakes.BedrockOptions{AccessKeyID: "ASIAROLE", SecretAccessKey: "role-secret", SessionToken: "role-token"})
		p := newProvider(t, Config{AccessKeyID: testKeyID, SecretAccessKey: testSecret, BaseURL: f.Endpoint(),
			RoleARN: "arn:aws:iam::123456789012:role/bedrock"})
		for range 2 {
			if _, err := p.Chat(context.Background(), chatCall(t, sonnet, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(assumed) != 1 || assumed[0] != "AssumeRole arn:aws:iam::123456789012:role/bedrock switchyard" {
			t.Errorf("STS calls: %q (credentials must be cached)", assumed)
		}
	})
}

func TestUnsupportedParametersFailBeforeSending(t *testing.T) {
	sent := 0
	fx := newFixture(t, 200, jsonHeader, okConverse)
	fx.seen = func(*http.Request, []byte) { sent++ }
	p := fx.p
	for _, body := range []string{
		`{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`,
	} {
		_, err := p.Chat(context.Background(), chatCall(t, sonnet, body))
		if e := asError(t, err); e.Class != providers.ClassInvalidRequest || e.Status != 400 || e.Code != "unsupported_parameter" {
			t.Errorf("%s: %+v", body, e)
		}
	}
	if sent != 0 {
		t.Errorf("%d requests sent", sent)
	}
}
