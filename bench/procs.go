package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	// profiled is switchyard with a pprof listener (see profile.go), built when a
	// run profiles; empty otherwise.
	profiled string
}

// ModuleRoot is the directory of this module's go.mod.
func ModuleRoot() (string, error) {
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

// build compiles cmd/switchyard and bench/cmd/bareproxy as release builds would
// be (no race detector, no coverage). A switchyard binary given (another build to
// compare) is used as it is. With profiled, it builds cmd/switchyard with a pprof
// listener instead (profile.go).
func build(dir, switchyard string, profiled bool) (binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return binaries{}, err
	}
	dir = binDir(root, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return binaries{}, err
	}
	b := binaries{switchyard: filepath.Join(dir, "switchyard"), bareproxy: filepath.Join(dir, "bareproxy")}
	builds := [][]string{{"-o", b.switchyard, "./cmd/switchyard"}, {"-o", b.bareproxy, "./bench/cmd/bareproxy"}}
	if switchyard != "" {
		if profiled {
			return binaries{}, errors.New("profiles are taken of a build of this tree: -profile and -switchyard exclude each other")
		}
		if b.switchyard, err = filepath.Abs(switchyard); err != nil {
			return binaries{}, err
		}
		builds = builds[1:]
	}
	if profiled {
		// The profiled build stands in for the release build: only it runs.
		overlay, err := pprofOverlay(root, dir)
		if err != nil {
			return binaries{}, err
		}
		b.profiled = filepath.Join(dir, "switchyard-pprof")
		builds[0] = []string{"-overlay", overlay, "-o", b.profiled, "./cmd/switchyard"}
	}
	for _, args := range builds {
		cmd := exec.Command("go", append([]string{"build", "-trimpath"}, args...)...)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
	}
	return b, nil
}

// binDir is where the binaries of the checkout at root are built: a directory of
// the user's cache per checkout, where go build finds the previous binary and
// does not link it again when nothing changed (linking Switchyard takes half a
// minute on a loaded machine); outDir/bin without a cache directory.
func binDir(root, outDir string) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(outDir, "bin")
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(cache, "switchyard-bench", "bin-"+hex.EncodeToString(sum[:6]))
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

// startProcess runs argv with env added to the harness's environment, its output
// to logPath, and waits until it serves.
func startProcess(name, logPath string, env []string, addrsFrom addresses, argv ...string) (*process, []string, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, err
	}
	p := &process{name: name, cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	// A minute: on a loaded machine processes start slowly, Node's the slowest.
	addrs, err := p.waitReady(logPath, addrsFrom, time.Minute)
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

// startFloor runs the floor (bench/cmd/bareproxy) in front of upstream. It serves
// once it has printed its address: it listens before printing.
func startFloor(bin binaries, dir, name, upstream string, env []string) (*process, string, error) {
	p, addrs, err := startProcess(name, filepath.Join(dir, "logs", name+".log"), env, func(log []byte) ([]string, string, bool) {
		_, rest, ok := bytes.Cut(log, []byte("listening on "))
		addr, _, complete := bytes.Cut(rest, []byte("\n"))
		return []string{string(addr)}, "", ok && complete
	}, bin.bareproxy, "-listen", "127.0.0.1:0", "-upstream", upstream)
	if err != nil {
		return nil, "", err
	}
	return p, "http://" + addrs[0], nil
}

// serving reads the addresses from Switchyard's "serving" log line, and the pprof
// listener's from the line a profiled build prints first.
func serving(log []byte) ([]string, string, bool) {
	pprof := ""
	for _, line := range bytes.Split(log, []byte("\n")) {
		if addr, ok := bytes.CutPrefix(line, []byte(pprofLine)); ok {
			pprof = string(addr)
		}
		var l struct {
			Msg         string `json:"msg"`
			Listen      string `json:"listen"`
			AdminListen string `json:"admin_listen"`
		}
		if json.Unmarshal(line, &l) == nil && l.Msg == "serving" && l.Listen != "" && l.AdminListen != "" {
			return []string{l.Listen, l.AdminListen, pprof}, "http://" + l.AdminListen + "/readyz", true
		}
	}
	return nil, "", false
}

// benchKey is the client key Switchyard checks: a deployment has keys.
const benchKey = "sk-bench-client"

// upstreamKey is the key the providers send upstream (which does not check it).
const upstreamKey = "sk-upstream"

// awsSecret is the Bedrock provider's secret key, shaped as AWS issues them (40
// random characters): every secret is scrubbed from every log line, and a secret
// that began like the configuration's names ("bench-...") would make each line's
// alias, key and team fields look as if they might hold it, a cost no deployment
// with a real secret pays.
const awsSecret = "q3Vt9ZrL0xWm7YpK2sHd8NfJc4GbT6aE1uRiXoQy"

// switchyardConfig is the configuration under test: a pass-through provider, a
// Bedrock provider and an Anthropic provider on the emulated upstream, one alias
// each, a client key, prices (so that cost accounting runs as in production), and
// every other setting at its default (access log on, JSON, info level; metrics on;
// embedded state).
const switchyardConfig = `listen: "{{listen}}"
admin_listen: "{{admin}}"
drain_delay: 0s
shutdown_grace: 5s
state: {path: "{{state}}"}
keys:
  - {name: bench, key: ` + benchKey + `, team: bench}
providers:
  - {name: up-openai, type: openai, base_url: "{{upstream}}/v1", api_key: ` + upstreamKey + `}
  - {name: up-bedrock, type: bedrock, region: us-east-1, base_url: "{{upstream}}",
     aws_access_key_id: AKIDBENCHMARK, aws_secret_access_key: ` + awsSecret + `}
  - {name: up-anthropic, type: anthropic, base_url: "{{upstream}}", api_key: ` + upstreamKey + `}
models:
  - name: bench-openai
    targets: [{provider: up-openai, model: bench-model}]
  - name: bench-bedrock
    targets: [{provider: up-bedrock, model: bench-model}]
  - name: bench-anthropic
    targets: [{provider: up-anthropic, model: bench-model}]
pricing:
  - {provider: up-openai, model: bench-model, input: 2.50, cached_input: 1.25, output: 10.00}
  - {provider: up-bedrock, model: bench-model, input: 3.00, output: 15.00}
  - {provider: up-anthropic, model: bench-model, input: 3.00, cached_input: 0.30, output: 15.00}
`

// writeSwitchyardConfig writes the configuration for upstream into dir/name and
// returns its path. The configuration lives in a directory of its own: Switchyard
// watches the directory of its configuration file, and a log written beside it
// would wake the watcher at every access-log line.
func writeSwitchyardConfig(dir, name, upstream string) (string, error) {
	confDir := filepath.Join(dir, name)
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return "", err
	}
	_ = os.Remove(filepath.Join(confDir, "state.db"))
	cfg := strings.NewReplacer("{{listen}}", "127.0.0.1:0", "{{admin}}", "127.0.0.1:0", "{{upstream}}", upstream,
		"{{state}}", filepath.Join(confDir, "state.db")).Replace(switchyardConfig)
	path := filepath.Join(confDir, "switchyard.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// switchyardProc is a running Switchyard: its process and its roots.
type switchyardProc struct {
	proc               *process
	api, admin, pprofs string
}

// startSwitchyard runs switchyard serve in front of upstream, with env added (the
// CA of a TLS upstream; the pprof listener of a profiled build).
func startSwitchyard(binary, dir, name, upstream string, env []string) (switchyardProc, error) {
	path, err := writeSwitchyardConfig(dir, name, upstream)
	if err != nil {
		return switchyardProc{}, err
	}
	p, addrs, err := startProcess(name, filepath.Join(dir, "logs", name+".log"), env, serving, binary, "serve", "--config", path)
	if err != nil {
		return switchyardProc{}, err
	}
	out := switchyardProc{proc: p, api: "http://" + addrs[0], admin: "http://" + addrs[1]}
	if addrs[2] != "" {
		out.pprofs = "http://" + addrs[2]
	}
	return out, nil
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
