// Package testservers starts the real servers tests need (redis-server), on free
// loopback ports. Without the program a test skips on a laptop and fails when the
// environment variable CI is set: CI must run those tests, never skip them.
package testservers

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Redis is a real redis-server that a test started on a free loopback port.
type Redis struct {
	// Addr is host:port.
	Addr string
	cmd  *exec.Cmd
	dir  string
}

// RequireRedis skips t (or fails it in CI) when redis-server is not installed.
func RequireRedis(t testing.TB) { t.Helper(); redisBinary(t) }

// redisBinary finds redis-server. Without it the Redis tests skip on a laptop, but
// fail in CI (CI set), which must run them.
func redisBinary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not installed, and CI must run the Redis tests: %v", err)
		}
		t.Skipf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	return path
}

// startRedis starts a redis-server without persistence. The port is picked free
// by the kernel, then handed to redis-server; another process may take it in
// between, so a failed start is retried on a new port.
func startRedis(bin string) (*Redis, error) {
	dir, err := os.MkdirTemp("", "switchyard-redis-")
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir}
		if last = s.awaitPong(5 * time.Second); last == nil {
			return s, nil
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	_ = os.RemoveAll(dir)
	return nil, fmt.Errorf("redis-server did not start: %w", last)
}

// awaitPong waits until the server answers PING.
func (s *Redis) awaitPong(within time.Duration) error {
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			var line string
			if _, err = c.Write([]byte("PING\r\n")); err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			_ = c.Close()
			if err == nil && line == "+PONG\r\n" {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("PING answered %q", line)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Stop kills the server and removes its directory.
func (s *Redis) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// StartRedis starts a server for one test, stopped when it ends (or earlier, by the
// test itself, to see what an outage does).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	s, err := startRedis(redisBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartRedisShared starts a server that outlives the calling test (a package's
// TestMain stops it). Call RequireRedis first.
func StartRedisShared() (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	return startRedis(bin)
}
