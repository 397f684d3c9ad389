package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// SIGTERM with a long stream in flight: readiness fails at once, the listener keeps
// accepting for drain_delay, the stream completes, and the process exits 0.
func TestGracefulDrain(t *testing.T) {
	cloud := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "cloud"})
	defer cloud.Close()
	cloud.SetChunkDelay(100 * time.Millisecond)
	p := start(t, fmt.Sprintf(`
listen: "{{LISTEN}}"
admin_listen: "{{ADMIN}}"
drain_delay: 1s
shutdown_grace: 20s
providers:
  - {name: cloud, type: openai, base_url: %q}
models:
  - name: m
    targets: [{provider: cloud, model: m}]
state: {path: %q}
log: {level: info}
`, cloud.BaseURL(), t.TempDir()+"/state.db"))

	words := strings.Repeat("word ", 30)
	req, _ := http.NewRequest(http.MethodPost, p.base+"/chat/completions",
		strings.NewReader(fmt.Sprintf(`{"model":"m","stream":true,"messages":[{"role":"user","content":%q}]}`, words)))
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
	<-lines // the stream is flowing

	sigterm := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if r, err := http.Get(p.admin + "/readyz"); err != nil || r.StatusCode != 503 {
		t.Errorf("readiness after SIGTERM: %v %v", r, err)
	}
	// Endpoints take a moment to drop the pod: requests still arriving are served.
	if r, body := p.post("", `{"model":"m","messages":[{"role":"user","content":"late"}]}`); r.StatusCode != 200 {
		t.Errorf("request during drain_delay: %d %s", r.StatusCode, body)
	}
	time.Sleep(time.Until(sigterm.Add(1500 * time.Millisecond)))
	if _, err := http.Get(p.base + "/models"); err == nil {
		t.Error("still accepting after drain_delay")
	}
	var last string
	for l := range lines {
		if l != "" {
			last = l
		}
	}
	if last != "data: [DONE]" {
		t.Errorf("stream cut by shutdown: last line %q", last)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not exit")
	}
	t.Logf("stream of 30 chunks completed %v after SIGTERM; exit status 0", time.Since(sigterm).Round(time.Millisecond))
}
