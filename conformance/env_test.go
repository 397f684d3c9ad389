package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/providers/registry"
	"github.com/switchyard/switchyard/proxy"
)

// cloud is what every fake offers a test: its recorded requests, fault injection
// and the emulated model.
type cloud interface {
	Requests() []fakes.Recorded
	Fail(fakes.Fault)
	Respond(fakes.Responder)
	Close()
}

// env is one proxy in front of one emulated cloud, with one alias (named after the
// backend) whose single target is that cloud's model.
type env struct {
	t        *testing.T
	b        *backend
	cloud    cloud
	base     string // http://127.0.0.1:PORT/v1
	scenario string
}

// configTemplate is the proxy's configuration: one provider, one alias, one target.
// Retries are fast so that the error scenarios (which exhaust max_attempts on the
// only target) stay quick.
const configTemplate = `
drain_delay: 0s
shutdown_grace: 5s
providers:
  - {{PROVIDER}}
models:
  - name: {{ALIAS}}
    targets:
      - {provider: {{NAME}}, model: "{{MODEL}}"}
resilience:
  max_attempts: 3
  timeouts: {first_byte: 5s, total: 20s}
  retry: {base_delay: 5ms, max_delay: 20ms}
state: {path: "{{STATE}}"}
`

// start runs the backend's fake (contextWindow 0 = unlimited) and a proxy in front
// of it; both stop when the test ends.
func start(t *testing.T, b *backend, scenario string, contextWindow int) *env {
	t.Helper()
	c, entry := b.start(t, contextWindow)
	t.Cleanup(c.Close)
	dir := t.TempDir()
	yaml := strings.NewReplacer("{{PROVIDER}}", entry, "{{ALIAS}}", b.name, "{{NAME}}", b.name,
		"{{MODEL}}", b.model, "{{STATE}}", filepath.Join(dir, "state.db")).Replace(configTemplate)
	root := serve(t, load(t, dir, yaml), registry.Options{})
	return &env{t: t, b: b, cloud: c, base: root + "/v1", scenario: scenario}
}

// load writes yaml as dir's configuration file and loads it.
func load(t *testing.T, dir, yaml string) *config.Config {
	t.Helper()
	path := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return cfg
}

// serve runs a proxy with cfg until the test ends and returns its API root,
// http://127.0.0.1:PORT.
func serve(t *testing.T, cfg *config.Config, reg registry.Options) string {
	t.Helper()
	srv, err := proxy.New(proxy.Options{Config: cfg, Logger: zap.NewNop(), Version: "conformance", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, api, admin) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("proxy did not stop")
			}
		})
	})
	return "http://" + api.Addr().String()
}

// client is the official SDK pointed at the proxy, as a user configures it; SDK
// retries are off so that every retry seen is the proxy's.
func (e *env) client(opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(e.base), option.WithAPIKey("sk-conformance"),
		option.WithMaxRetries(0)}, opts...)...)
}

// params starts a request to the backend's alias.
func (e *env) params(msgs ...openai.ChatCompletionMessageParamUnion) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: e.b.name, Messages: msgs}
}

// supported reports whether the backend serves the scenario. When its row says it
// refuses it by design, supported sends the scenario's first request (p, not
// streamed) and checks that the client gets the clear 400 (unsupported_parameter
// naming the parameter), that nothing reached the cloud, and reports false. A
// refusal that concerns streams only needs a streamed scenario of its own.
func (e *env) supported(p openai.ChatCompletionNewParams) bool {
	e.t.Helper()
	u, refused := e.b.unsupported[e.scenario]
	if !refused {
		return true
	}
	e.t.Logf("%s refuses %q by design: %s", e.b.name, e.scenario, u.reason)
	c := e.client()
	_, err := c.Chat.Completions.New(context.Background(), p)
	apiErr := asAPIError(e.t, err)
	if apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "unsupported_parameter" || apiErr.Param != u.param {
		e.t.Errorf("refused scenario: status %d code %q param %q (%s), want 400 unsupported_parameter %q",
			apiErr.StatusCode, apiErr.Code, apiErr.Param, apiErr.Message, u.param)
	}
	if n := len(e.cloud.Requests()); n != 0 {
		e.t.Errorf("a refused request reached the cloud %d times", n)
	}
	return false
}

// native is the cloud's recorded request i, read in the cloud's own terms.
func (e *env) native(i int) nativeRequest {
	e.t.Helper()
	recs := e.cloud.Requests()
	if i >= len(recs) {
		e.t.Fatalf("the cloud received %d requests, want at least %d", len(recs), i+1)
	}
	return e.b.native(e.t, recs[i])
}

func asAPIError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an API error, got %v", err)
	}
	return apiErr
}

// openAIShaped checks that an error reached the client in OpenAI's shape: an
// "error" object with message, type, param and code members.
func openAIShaped(t *testing.T, apiErr *openai.Error) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(apiErr.RawJSON()), &doc); err != nil {
		t.Fatalf("error body not JSON: %q", apiErr.RawJSON())
	}
	for _, member := range []string{"message", "type", "param", "code"} {
		if _, ok := doc[member]; !ok {
			t.Errorf("error lacks %q: %s", member, apiErr.RawJSON())
		}
	}
	if apiErr.Message == "" || apiErr.Type == "" {
		t.Errorf("error without message or type: %s", apiErr.RawJSON())
	}
}

// tee records the raw bytes of every response body the SDK reads, so that a test
// can look at the SSE stream the client received (the SDK hides data: [DONE]).
type tee struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	header http.Header
}

func (tr *tee) option() option.RequestOption {
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		return tr.record(next(req))
	})
}

// record keeps the response's headers and copies its body as it is read.
func (tr *tee) record(resp *http.Response, err error) (*http.Response, error) {
	if err == nil {
		tr.mu.Lock()
		tr.header = resp.Header
		tr.mu.Unlock()
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(resp.Body, tr), resp.Body}
	}
	return resp, err
}

func (tr *tee) Write(p []byte) (int, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.buf.Write(p)
}

// events are the data payloads of the SSE stream read so far.
func (tr *tee) events() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(tr.buf.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}
