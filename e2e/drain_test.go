package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// heldCloud is an OpenAI-compatible upstream whose streamed answers send their first
// word, then hold until release is closed before they finish: a stream stays in
// flight for as long as the test needs, on any machine. An answer not streamed comes
// whole at once.
func heldCloud(t *testing.T, release <-chan struct{}) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"chatcmpl-held","object":"chat.completion","created":1767225600,"model":"m",`+
				`"choices":[{"index":0,"message":{"role":"assistant","content":"served"},"finish_reason":"stop"}],`+
				`"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		event := func(data string) {
			_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
			_ = rc.Flush()
		}
		chunk := func(delta, finish string) {
			event(`{"id":"chatcmpl-held","object":"chat.completion.chunk","created":1767225600,"model":"m",` +
				`"choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}`)
		}
		chunk(`{"role":"assistant","content":""}`, "null")
		chunk(`{"content":"first"}`, "null")
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		chunk(`{"content":" last"}`, "null")
		chunk(`{}`, `"stop"`)
		event("[DONE]")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// SIGTERM with a stream in flight: readiness fails at once, the listener keeps
// accepting for drain_delay, then closes while the stream goes on to its end, and the
// process exits 0. Each step waits for the one before; none is timed.
func TestGracefulDrain(t *testing.T) {
	release := make(chan struct{})
	p := start(t, fmt.Sprintf(`
listen: "{{LISTEN}}"
admin_listen: "{{ADMIN}}"
drain_delay: 3s
shutdown_grace: 60s
providers:
  - {name: cloud, type: openai, base_url: %q}
models:
  - name: m
    targets: [{provider: cloud, model: m}]
state: {path: %q}
log: {level: info}
`, heldCloud(t, release), t.TempDir()+"/state.db"))

	req, _ := http.NewRequest(http.MethodPost, p.base+"/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hold on"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for l := range lines {
		if strings.Contains(l, `"first"`) {
			break // the stream is flowing, and holds until release
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "readiness failing after SIGTERM", func() bool {
		r, err := http.Get(p.admin + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusServiceUnavailable
	})
	// Endpoints take a moment to drop the pod: requests still arriving are served.
	if r, body := p.post("", `{"model":"m","messages":[{"role":"user","content":"late"}]}`); r.StatusCode != 200 {
		t.Errorf("request during drain_delay: %d %s", r.StatusCode, body)
	}
	eventually(t, "the listener closed after drain_delay", func() bool {
		r, err := http.Get(p.base + "/models")
		if err == nil {
			r.Body.Close()
		}
		return err != nil
	})
	select {
	case err := <-p.done:
		t.Fatalf("exited with a stream in flight: %v", err)
	default:
	}

	close(release)
	var text, last string
	for l := range lines {
		if i := strings.Index(l, `"content":"`); i >= 0 {
			rest := l[i+len(`"content":"`):]
			text += rest[:strings.IndexByte(rest, '"')]
		}
		if l != "" {
			last = l
		}
	}
	if text != " last" || last != "data: [DONE]" {
		t.Errorf("stream cut by shutdown: rest %q, last line %q", text, last)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(time.Minute): // a watchdog: shutdown_grace is 60s
		t.Fatal("did not exit")
	}
}
