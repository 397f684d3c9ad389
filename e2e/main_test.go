// Package e2e runs the switchyard binary as operators do: several processes sharing
// one Redis, restarts, signals. The emulated clouds run inside the test process.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the switchyard binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchyard")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/switchyard")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building switchyard:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running switchyard process.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	base  string // http://127.0.0.1:PORT/v1
	admin string // http://127.0.0.1:PORT
	logs  *syncBuffer
	done  chan error
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start writes yaml (with {{LISTEN}} and {{ADMIN}} as port 0, so the kernel picks
// free ports without a race against other tests) and runs `switchyard serve` on it
// until its "serving" log line names the bound addresses and it reports ready.
func start(t *testing.T, yaml string) *proc {
	t.Helper()
	yaml = strings.NewReplacer("{{LISTEN}}", "127.0.0.1:0", "{{ADMIN}}", "127.0.0.1:0").Replace(yaml)
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary, "serve", "--config", path)
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop() })
	// The watchdog tells a process that never gets ready from a slow start (a -race
	// binary on a loaded machine).
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if p.admin == "" {
			p.readAddresses()
		} else if resp, err := http.Get(p.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("switchyard exited: %v\n%s", err, p.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("switchyard not ready:\n%s", p.logs)
	return nil
}

// eventually waits until cond holds. The watchdog tells what never happens from a
// slow machine: it is a minute, far beyond any step of these tests, and times nothing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for watchdog := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(watchdog) {
			t.Fatalf("%s: not after a minute", what)
		}
	}
}

// readAddresses fills base and admin from the "serving" log line, once written.
func (p *proc) readAddresses() {
	for _, line := range p.logLines(`"msg":"serving"`) {
		var l struct {
			Listen      string `json:"listen"`
			AdminListen string `json:"admin_listen"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Listen != "" && l.AdminListen != "" {
			p.base, p.admin = "http://"+l.Listen+"/v1", "http://"+l.AdminListen
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		p.t.Errorf("switchyard did not stop on SIGTERM:\n%s", p.logs)
		return context.DeadlineExceeded
	}
}

// post sends a chat request with a key and returns status, headers and body.
func (p *proc) post(key, body string) (*http.Response, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// logLines returns the process's log lines containing s.
func (p *proc) logLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	return out
}
