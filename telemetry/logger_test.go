package telemetry

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// syncBuffer is a bytes.Buffer the logger's flusher may write from its goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Access info lines wait for the flush; any other line writes them out ahead of
// itself, so the log keeps its order. An hour's interval keeps the timer out of
// the test.
func TestBufferedAccessLinesKeepTheirOrder(t *testing.T) {
	var out syncBuffer
	log, stop, err := newLogger(&out, "info", "json", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	access := log.Named(AccessLogger)
	access.Info("request", zap.String("n", "1"))
	access.Info("request", zap.String("n", "2"))
	if s := out.String(); s != "" {
		t.Fatalf("access lines written before a flush: %q", s)
	}
	log.Info("configuration reloaded")
	want := []string{`"n":"1"`, `"n":"2"`, `"msg":"configuration reloaded"`}
	checkLines(t, out.lines(), want)

	access.Info("request", zap.String("n", "3"))
	access.Warn("request", zap.String("n", "4")) // a 5xx: written at once
	want = append(want, `"n":"3"`, `"n":"4"`)
	checkLines(t, out.lines(), want)

	access.Info("request", zap.String("n", "5"))
	stop()
	checkLines(t, out.lines(), append(want, `"n":"5"`))
}

func TestUnbufferedLoggerWritesEachLine(t *testing.T) {
	var out syncBuffer
	log, stop, err := newLogger(&out, "info", "json", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	log.Named(AccessLogger).Info("request", zap.String("n", "1"))
	checkLines(t, out.lines(), []string{`"n":"1"`})
}

func TestLoggerRefusesUnknownSettings(t *testing.T) {
	if _, _, err := newLogger(&syncBuffer{}, "loud", "json", 0); err == nil {
		t.Error("level loud accepted")
	}
	if _, _, err := newLogger(&syncBuffer{}, "info", "xml", 0); err == nil {
		t.Error("format xml accepted")
	}
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("line %d = %s, want %s in it", i, got[i], want[i])
		}
	}
}

// A quiet process still writes its access lines: the interval flushes them.
func TestBufferedAccessLinesAreWrittenOnTheInterval(t *testing.T) {
	var out syncBuffer
	log, stop, err := newLogger(&out, "info", "json", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	log.Named(AccessLogger).Info("request", zap.String("n", "1"))
	for deadline := time.Now().Add(30 * time.Second); out.String() == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the access line was never written")
		}
	}
	checkLines(t, out.lines(), []string{`"n":"1"`})
}
