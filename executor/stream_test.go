package executor_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

func TestStreamFailsOverBeforeItsFirstContent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cut  int
	}{{"cut before any event", -1}, {"cut after the role chunk", 1}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, standby("", oneStrike), cloud("primary"), cloud("secondary"))
			h.clouds["primary"].Fail(fakes.Fault{CutAfter: c.cut, Times: 1})

			r := h.do(call{model: "m", stream: true})
			r.served(t, "secondary")
			if got := r.sink.content(t); got != "secondary heard: hello" {
				t.Errorf("client read %q", got)
			}
			for _, data := range r.sink.chunks {
				var ch struct{ Model string }
				if json.Unmarshal(data, &ch) == nil && ch.Model == "p" {
					t.Errorf("a chunk of the failed attempt reached the client: %s", data)
				}
			}
			if r.sink.done != 1 || r.sink.fail != nil || r.outcome.StreamErr != nil {
				t.Errorf("stream ended done=%d fail=%v err=%v, want a clean end", r.sink.done, r.sink.fail, r.outcome.StreamErr)
			}
			if !r.outcome.UsageKnown || r.outcome.Usage.CompletionTokens == 0 {
				t.Errorf("usage %+v known=%v", r.outcome.Usage, r.outcome.UsageKnown)
			}
			if want := []string{"primary/p connection", "secondary/s success"}; !slices.Equal(r.attempts, want) {
				t.Errorf("attempts %v, want %v", r.attempts, want)
			}
		})
	}
}

func TestStreamFailureAfterFirstByteEndsWithFailAndCounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, standby("", oneStrike), cloud("primary"), cloud("secondary"))
	// Events: role, "primary ", "heard: ", then the connection ends.
	h.clouds["primary"].Fail(fakes.Fault{CutAfter: 3, Times: 1})

	r := h.do(call{model: "m", stream: true})
	r.served(t, "primary")
	if got := r.sink.content(t); got != "primary heard: " {
		t.Errorf("client read %q before the failure", got)
	}
	if r.sink.fail == nil || r.sink.done != 0 {
		t.Fatalf("stream ended done=%d fail=%v, want the sink's Fail", r.sink.done, r.sink.fail)
	}
	if e := r.outcome.StreamErr; e == nil || e.Class != providers.ClassConnection {
		t.Errorf("Outcome.StreamErr %v, want the connection failure", e)
	}
	if !strings.HasSuffix(string(r.body), failEvent(r.sink.fail)) {
		t.Errorf("the client's stream does not end with the error event: %q", r.body)
	}
	if n := h.requests("secondary"); n != 0 {
		t.Errorf("a stream already committed failed over (%d requests)", n)
	}
	if s := h.health("primary/p").State(); s != health.Open {
		t.Errorf("breaker %s: the failure after the first byte counts against the target", s)
	}
}

func TestClientThatStopsReadingIsNotCountedAgainstTheTarget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, standby("", oneStrike)+`
client_timeouts: {write: 50ms}
`, cloud("primary"), cloud("secondary"))
	// The upstream would stream for ten seconds: it is still sending when the
	// relay gives up on the client, and so sees its stream closed.
	h.clouds["primary"].SetChunkDelay(20 * time.Millisecond)
	w := &stalledClient{t: t, accept: 2, h: http.Header{}}

	r := h.do(call{model: "m", stream: true, prompt: strings.Repeat("word ", 500), w: w})
	r.served(t, "primary")
	if !r.outcome.ClientGone || r.outcome.StreamErr != nil || r.sink.fail != nil {
		t.Errorf("outcome %+v, sink fail %v: want the client gone and no upstream error", r.outcome, r.sink.fail)
	}
	if want := []string{"primary/p canceled"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	if s := h.health("primary/p").State(); s != health.Closed {
		t.Errorf("breaker %s: a client that left is not the target's failure", s)
	}
	eventually(t, "the upstream stream is released", func() bool { return h.clouds["primary"].Canceled() == 1 })
}

// stalledClient reads the first accept writes, then stops reading: later writes
// block until the write deadline the relay armed, as on a full TCP window.
type stalledClient struct {
	t      *testing.T
	accept int
	h      http.Header

	mu       sync.Mutex
	deadline time.Time
}

func (s *stalledClient) Header() http.Header { return s.h }
func (s *stalledClient) WriteHeader(int)     {}
func (s *stalledClient) Flush()              {}

func (s *stalledClient) SetWriteDeadline(d time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = d
	return nil
}

func (s *stalledClient) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.accept > 0 {
		s.accept--
		s.mu.Unlock()
		return len(p), nil
	}
	d := s.deadline
	s.mu.Unlock()
	if d.IsZero() {
		s.t.Error("the relay wrote without a write deadline: a stalled client would hold it forever")
		return 0, os.ErrDeadlineExceeded
	}
	time.Sleep(time.Until(d))
	return 0, os.ErrDeadlineExceeded
}
