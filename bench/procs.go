package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// binaries are the programs under test, built from this module.
type binaries struct {
	switchyard string
	bareproxy  string
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	root := filepath.Dir(mod)
	if _, err := os.Stat(filepath.Join(root, "bench", "cmd", "bareproxy")); mod == "" || mod == os.DevNull || err != nil {
		return "", errors.New("run the harness from a checkout of the switchyard module that has bench/ (go run ./bench/cmd/harness)")
	}
	return root, nil
}

// build compiles cmd/switchyard and bench/cmd/bareproxy into dir, as release
// builds would be (no race detector, no coverage). A switchyard binary given
// (another build to compare) is used as it is.
func build(dir, switchyard string) (binaries, error) {
	root, err := moduleRoot()
	if err != nil {
		return binaries{}, err
	}
	dir = filepath.Join(dir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return binaries{}, err
	}
	b := binaries{switchyard: filepath.Join(dir, "switchyard"), bareproxy: filepath.Join(dir, "bareproxy")}
	pkgs := map[string]string{"./cmd/switchyard": b.switchyard, "./bench/cmd/bareproxy": b.bareproxy}
	if switchyard != "" {
		if b.switchyard, err = filepath.Abs(switchyard); err != nil {
			return binaries{}, err
		}
		delete(pkgs, "./cmd/switchyard")
	}
	for pkg, out := range pkgs {
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// process is a proxy under test, running on its own so that its CPU time and
// memory are its own.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// addresses reads, from what a process has logged so far, the addresses it bound
// (it listens on port 0: the kernel picks free ports, without a race against other
// programs picking the same) and the URL that answers 200 once it serves.
type addresses func(log []byte) (addrs []string, readyURL string, ok bool)

func startProcess(name, logPath string, addrsFrom addresses, argv ...string) (*process, []string, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, err
	}
	p := &process{name: name, cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	addrs, err := p.waitReady(logPath, addrsFrom, 20*time.Second)
	if err != nil {
		p.stop()
		return nil, nil, fmt.Errorf("%s did not start (log %s): %w", name, logPath, err)
	}
	return p, addrs, nil
}

func (p *process) waitReady(logPath string, addrsFrom addresses, limit time.Duration) ([]string, error) {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("exited: %v", err)
		default:
		}
		logged, err := os.ReadFile(logPath)
		if err != nil {
			return nil, err
		}
		if addrs, ready, ok := addrsFrom(logged); ok {
			if ready == "" {
				return addrs, nil
			}
			if resp, err := client.Get(ready); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return addrs, nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, errors.New("not ready in time")
}

// stop ends the process (SIGTERM, then SIGKILL) and waits for it.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on
// every Linux architecture Go supports (the kernel reports in USER_HZ, not HZ).
const clockTicks = 100

// cpu is the CPU time (user + system) the process has used so far, all threads.
func (p *process) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: fields are
	// counted after its closing parenthesis; utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unreadable utime/stime")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// memory is the process's resident set and its peak, in bytes.
func (p *process) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fields := strings.Fields(v) // "12345 kB"
		if len(fields) != 2 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS")
	}
	return rss, hwm, sc.Err()
}

// startBare runs the bare ReverseProxy in front of the upstream. It serves once it
// has printed its address: it listens before printing.
func startBare(bin binaries, dir, upstream string) (*process, string, error) {
	p, addrs, err := startProcess("bare", filepath.Join(dir, "logs", "bare.log"), func(log []byte) ([]string, string, bool) {
		_, rest, ok := bytes.Cut(log, []byte("listening on "))
		addr, _, complete := bytes.Cut(rest, []byte("\n"))
		return []string{string(addr)}, "", ok && complete
	}, bin.bareproxy, "-listen", "127.0.0.1:0", "-upstream", upstream)
	if err != nil {
		return nil, "", err
	}
	return p, "http://" + addrs[0], nil
}

// serving reads the addresses from Switchyard's "serving" log line.
func serving(log []byte) ([]string, string, bool) {
	for _, line := range bytes.Split(log, []byte("\n")) {
		var l struct {
			Msg         string `json:"msg"`
			Listen      string `json:"listen"`
			AdminListen string `json:"admin_listen"`
		}
		if json.Unmarshal(line, &l) == nil && l.Msg == "serving" && l.Listen != "" && l.AdminListen != "" {
			return []string{l.Listen, l.AdminListen}, "http://" + l.AdminListen + "/readyz", true
		}
	}
	return nil, "", false
}

// benchKey is the client key Switchyard checks: a deployment has keys.
const benchKey = "sk-bench-client"

// switchyardConfig is the configuration under test: one pass-through provider and
// one Bedrock provider on the emulated upstream, one alias each, a client key,
// prices (so that cost accounting runs as in production), and every other setting
// at its default (access log on, JSON, info level; metrics on; embedded state).
const switchyardConfig = `listen: "{{listen}}"
admin_listen: "{{admin}}"
drain_delay: 0s
shutdown_grace: 5s
state: {path: "{{state}}"}
keys:
  - {name: bench, key: ` + benchKey + `, team: bench}
providers:
  - {name: up-openai, type: openai, base_url: "{{upstream}}/v1", api_key: sk-upstream}
  - {name: up-bedrock, type: bedrock, region: us-east-1, base_url: "{{upstream}}",
     aws_access_key_id: AKIDBENCHMARK, aws_secret_access_key: bench-secret}
models:
  - name: bench-openai
    targets: [{provider: up-openai, model: bench-model}]
  - name: bench-bedrock
    targets: [{provider: up-bedrock, model: bench-model}]
pricing:
  - {provider: up-openai, model: bench-model, input: 2.50, cached_input: 1.25, output: 10.00}
  - {provider: up-bedrock, model: bench-model, input: 3.00, output: 15.00}
`

// startSwitchyard runs switchyard serve in front of the upstream; it returns the
// process, the API root and the admin root.
func startSwitchyard(bin binaries, dir, name, upstream string) (*process, string, string, error) {
	// The configuration lives in a directory of its own: Switchyard watches the
	// directory of its configuration file, and a log written beside it would wake
	// the watcher at every access-log line.
	confDir := filepath.Join(dir, name)
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return nil, "", "", err
	}
	_ = os.Remove(filepath.Join(confDir, "state.db"))
	cfg := strings.NewReplacer("{{listen}}", "127.0.0.1:0", "{{admin}}", "127.0.0.1:0", "{{upstream}}", upstream,
		"{{state}}", filepath.Join(confDir, "state.db")).Replace(switchyardConfig)
	path := filepath.Join(confDir, "switchyard.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, "", "", err
	}
	p, addrs, err := startProcess(name, filepath.Join(dir, "logs", name+".log"), serving,
		bin.switchyard, "serve", "--config", path)
	if err != nil {
		return nil, "", "", err
	}
	return p, "http://" + addrs[0], "http://" + addrs[1], nil
}

// goMemory reads the Go runtime's own figures from Switchyard's /metrics: heap in
// use, stacks in use and goroutines, to say what an idle stream holds.
func goMemory(ctx context.Context, admin string) (heap, stack, goroutines int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "go_memstats_heap_inuse_bytes":
			dst = &heap
		case "go_memstats_stack_inuse_bytes":
			dst = &stack
		case "go_goroutines":
			dst = &goroutines
		default:
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err == nil {
			*dst = int64(f)
		}
	}
	return heap, stack, goroutines, sc.Err()
}
