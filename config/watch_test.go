package config

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Kubernetes updates a mounted ConfigMap by writing a new timestamped directory and
// swapping the ..data symlink; the file itself is a symlink through ..data and is
// never written. The watcher must notice.
func TestWatchFollowsConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	// A configuration needs a provider and a model besides what the test changes.
	const rest = "providers: [{name: p, type: openai, api_key: k}]\nmodels: [{name: m, targets: [{provider: p, model: x}]}]\n"
	version := func(n int, content string) string {
		d := filepath.Join(dir, "..2026_11_25_"+string(rune('a'+n)))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "switchyard.yaml"), []byte(content+rest), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Base(d)
	}
	if err := os.Symlink(version(0, "listen: 127.0.0.1:1\n"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "switchyard.yaml")
	if err := os.Symlink(filepath.Join("..data", "switchyard.yaml"), file); err != nil {
		t.Fatal(err)
	}
	var changes atomic.Int32
	if err := Watch(file, func() { changes.Add(1) }); err != nil {
		t.Skipf("no file watcher here: %v", err)
	}
	// The kubelet's atomic swap: a new link under a temporary name, renamed over ..data.
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version(1, "listen: 127.0.0.1:2\n"), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	// The watchdog tells a swap that goes unnoticed from a slow machine.
	for watchdog := time.Now().Add(time.Minute); changes.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(watchdog) {
			t.Fatal("the ConfigMap swap went unnoticed")
		}
	}
	cfg, err := Load(file)
	if err != nil || cfg.Listen != "127.0.0.1:2" {
		t.Errorf("after the swap: %v %v", cfg, err)
	}
}
