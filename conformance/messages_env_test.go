package conformance

import (
	"bufio"
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/switchyard/switchyard/providers/registry"
)

// clientKey is the Switchyard key of the Messages clients; no upstream may ever
// see it.
const clientKey = "sk-switchyard-conformance-4f1c"

// mEnv is one proxy in front of one emulated cloud for a Messages client: one
// alias (named after the backend) whose target is the cloud's model, and, when a
// scenario asks for one, a backup of the same type in the next priority tier.
type mEnv struct {
	t      *testing.T
	b      *messagesBackend
	cloud  cloud
	backup cloud // nil unless asked for
	root   string
	clouds []cloud
}

const messagesConfig = `
drain_delay: 0s
shutdown_grace: 5s
keys:
  - {name: conformance, key: ` + clientKey + `}
providers:
{{PROVIDERS}}
models:
  - name: {{ALIAS}}
    targets:
{{TARGETS}}
resilience:
  max_attempts: 3
  timeouts: {first_byte: 5s, total: 20s}
  retry: {base_delay: 5ms, max_delay: 20ms}
state: {path: "{{STATE}}"}
`

// startMessages runs the backend's fake (and a backup when asked) and a proxy in
// front; everything stops when the test ends, after a check that the client's
// key reached no upstream.
func startMessages(t *testing.T, b *messagesBackend, withBackup bool) *mEnv {
	t.Helper()
	e := &mEnv{t: t, b: b}
	c, entry := b.start(t, b.name)
	t.Cleanup(c.Close)
	e.cloud, e.clouds = c, []cloud{c}
	providersYAML := "  - " + entry + "\n"
	targets := `      - {provider: ` + b.name + `, model: "` + b.model + `"}` + "\n"
	if withBackup {
		name := b.name + "-backup"
		bc, bentry := b.start(t, name)
		t.Cleanup(bc.Close)
		e.backup, e.clouds = bc, append(e.clouds, bc)
		providersYAML += "  - " + bentry + "\n"
		targets += `      - {provider: ` + name + `, model: "` + b.model + `", priority: 1}` + "\n"
	}
	dir := t.TempDir()
	yaml := strings.NewReplacer("{{PROVIDERS}}", strings.TrimSuffix(providersYAML, "\n"), "{{ALIAS}}", b.name,
		"{{TARGETS}}", strings.TrimSuffix(targets, "\n"), "{{STATE}}", filepath.Join(dir, "state.db")).Replace(messagesConfig)
	e.root = serve(t, load(t, dir, yaml), registry.Options{GoogleTokens: staticToken(vertexToken)})
	t.Cleanup(e.keyStayedHome)
	return e
}

// keyStayedHome checks every request every cloud received: the client's key is
// in no header and no body.
func (e *mEnv) keyStayedHome() {
	for _, c := range e.clouds {
		for _, r := range c.Requests() {
			for name, values := range r.Header {
				for _, v := range values {
					if strings.Contains(v, clientKey) {
						e.t.Errorf("the client's key reached the upstream in %s", name)
					}
				}
			}
			if bytes.Contains(r.Body, []byte(clientKey)) {
				e.t.Errorf("the client's key reached the upstream in the body of %s", r.Path)
			}
		}
	}
}

// client is the official SDK pointed at the proxy as a user configures it (the
// base URL and a key, sent as Authorization: Bearer by SDK v2); SDK retries are
// off so that every retry seen is the proxy's.
func (e *mEnv) client(opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{aoption.WithBaseURL(e.root), aoption.WithAPIKey(clientKey),
		aoption.WithMaxRetries(0)}, opts...)...)
}

// params starts a request to the backend's alias.
func (e *mEnv) params(msgs ...anthropic.MessageParam) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: anthropic.Model(e.b.name), MaxTokens: 256, Messages: msgs}
}

func user(blocks ...anthropic.ContentBlockParamUnion) anthropic.MessageParam {
	return anthropic.NewUserMessage(blocks...)
}

func text(s string) anthropic.ContentBlockParamUnion { return anthropic.NewTextBlock(s) }

// heardBy is the emulated model's plain answer from the cloud called name.
func heardBy(name, q string) string { return name + " heard: " + q }

// received is the cloud's recorded request i, in the cloud's own terms.
func (e *mEnv) received(c cloud, i int) nativeRequest {
	e.t.Helper()
	recs := c.Requests()
	if i >= len(recs) {
		e.t.Fatalf("the cloud received %d requests, want at least %d", len(recs), i+1)
	}
	return e.b.received(e.t, recs[i])
}

// sseEvent is one server-sent event as the client received it.
type sseEvent struct {
	name string
	data string
}

// anthropicOption records, with the Anthropic SDK, the bytes of every response
// body it reads.
func (tr *tee) anthropicOption() aoption.RequestOption {
	return aoption.WithMiddleware(func(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
		return tr.record(next(req))
	})
}

// sse is the events read so far, with their names.
func (tr *tee) sse() []sseEvent {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return parseSSE(tr.buf.Bytes())
}

func parseSSE(raw []byte) []sseEvent {
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" || cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}
