package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The peer: another gateway a user would pick instead, run from its published
// package against the same upstream with the same load. Portkey's open-source AI
// gateway (npm @portkey-ai/gateway, MIT, Node.js) is the one measured: pinned to
// the version below, installed with npm into a cache directory outside the
// repository at run time, and sent to the upstream per request by its headers
// (x-portkey-provider: openai, x-portkey-custom-host: the upstream's /v1 root,
// which it trusts on 127.0.0.1 by default), as its documentation describes for an
// OpenAI-compatible server of one's own.

// Peer modes (Options.Peer).
const (
	PeerAuto     = "auto"     // measure the peer when it can be installed and run; say why not otherwise
	PeerOff      = "off"      // leave it out
	PeerRequired = "required" // fail the run when it cannot be measured
)

const (
	portkeyPackage = "@portkey-ai/gateway"
	portkeyVersion = "1.15.2"
)

// PeerResult says which peer was measured, or why none was.
type PeerResult struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	Version string `json:"version"`
	// Status is "measured", "left out" (-peer off) or "not available".
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// installPortkey installs the pinned gateway into the user's cache directory,
// once, and returns the script that starts it.
func installPortkey(logf func(string, ...any)) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "switchyard-bench", "portkey-gateway-"+portkeyVersion)
	pkg := filepath.Join(dir, "node_modules", "@portkey-ai", "gateway")
	var manifest struct {
		Version string `json:"version"`
		Bin     string `json:"bin"`
	}
	read := func() error {
		b, err := os.ReadFile(filepath.Join(pkg, "package.json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &manifest); err != nil {
			return err
		}
		if manifest.Version != portkeyVersion || manifest.Bin == "" {
			return fmt.Errorf("%s %s installed, %s wanted", portkeyPackage, manifest.Version, portkeyVersion)
		}
		return nil
	}
	if read() != nil {
		if _, err := exec.LookPath("node"); err != nil {
			return "", errors.New("node is not installed")
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			return "", errors.New("npm is not installed")
		}
		logf("installing %s@%s into %s", portkeyPackage, portkeyVersion, dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		// Its install script (patch-package) has no patches to apply in the published
		// package: scripts are not run. Five minutes: npm retries an unreachable
		// registry for longer than a run should wait.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--omit=dev", "--ignore-scripts",
			"--no-save", portkeyPackage+"@"+portkeyVersion)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm install %s@%s: %v: %s", portkeyPackage, portkeyVersion, err, lastLines(msg, 5))
		}
		if err := read(); err != nil {
			return "", err
		}
	}
	return filepath.Join(pkg, manifest.Bin), nil
}

// startPortkey runs the gateway on a free loopback port. It takes no port 0, so
// the port is one the kernel just gave and released (another program taking it in
// between fails the start, which is retried).
func startPortkey(script, dir, upstream string) (*target, error) {
	var last error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		root := "http://127.0.0.1:" + strconv.Itoa(port)
		p, _, err := startProcess("portkey", filepath.Join(dir, "logs", "portkey.log"), []string{"NODE_ENV=production"},
			func([]byte) ([]string, string, bool) { return nil, root + "/", true },
			"node", script, "--port="+strconv.Itoa(port), "--headless")
		if err != nil {
			last = err
			continue
		}
		t := newTarget("portkey", kindPeer, groupH1, root, p)
		t.models[formatChat] = "bench-model"
		t.key = upstreamKey
		t.header = http.Header{"X-Portkey-Provider": {"openai"}, "X-Portkey-Custom-Host": {upstream + "/v1"}}
		return t, nil
	}
	return nil, last
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
