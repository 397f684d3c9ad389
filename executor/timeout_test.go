package executor_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// hungThenLive is alias m over target hung/h, then the priority-1 standby live/l.
// hung adds keys to hung/h's entry, alias to m's; resilience is that section's body.
func hungThenLive(hung, alias, resilience string) string {
	if hung != "" {
		hung = ", " + hung
	}
	if alias != "" {
		alias = "\n    " + alias
	}
	return `
providers:
  - {name: hung, type: openai, base_url: "{{hung}}"}
  - {name: live, type: openai, base_url: "{{live}}"}
models:
  - name: m` + alias + `
    targets:
      - {provider: hung, model: h` + hung + `}
      - {provider: live, model: l, priority: 1}
resilience:
` + resilience + "\n"
}

// shortFirstByte gives hung/h alone a short first_byte; the target that answers has
// all the time a busy machine needs.
var shortFirstByte = hungThenLive("timeouts: {first_byte: 100ms}", "", "  timeouts: {first_byte: 60s, total: 300s}")

func TestFirstByteTimeoutMovesAHungTargetAside(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shortFirstByte, cloud("hung"), cloud("live"))
	h.clouds["hung"].Fail(fakes.Fault{Hang: true})

	r := h.do(call{model: "m"})
	r.served(t, "live")
	if want := []string{"hung/h timeout", "live/l success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
	eventually(t, "the hung upstream sees its request abandoned", func() bool { return h.clouds["hung"].Canceled() == 1 })
}

func TestTotalTimeoutAnswers504(t *testing.T) {
	t.Parallel()
	h := newHarness(t, hungThenLive("", "", "  timeouts: {first_byte: 60s, total: 200ms}"), cloud("hung"), cloud("live"))
	h.clouds["hung"].Fail(fakes.Fault{Hang: true})

	r := h.do(call{model: "m"})
	r.failed(t, http.StatusGatewayTimeout, "timeout")
	if r.err.Type != "server_error" {
		t.Errorf("type %q", r.err.Type)
	}
	if n := h.requests("live"); n != 0 {
		t.Errorf("the request's own deadline passed, yet %d attempts followed", n)
	}
}

func TestFirstByteBoundsAStreamUntilItsFirstContent(t *testing.T) {
	t.Parallel()
	// The hung upstream answers at once with headers and its role chunk, then
	// sends nothing more: only content counts as the first byte of a stream.
	h := newHarness(t, shortFirstByte, cloud("hung"), cloud("live"))
	h.clouds["hung"].Fail(fakes.Fault{ChunkDelay: time.Hour, Times: 1})

	r := h.do(call{model: "m", stream: true})
	r.served(t, "live")
	if got := r.sink.content(t); got != "live heard: hello" {
		t.Errorf("client read %q", got)
	}
	if want := []string{"hung/h timeout", "live/l success"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
}

// A target's total timeout that cuts a stream already committed is a timeout: the
// stream's error event, the access log and the metrics must say so, as they do
// when the cut comes before the first byte.
func TestStreamCutByTheTargetsTotalTimeoutIsATimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, `
providers:
  - {name: slow, type: openai, base_url: "{{slow}}"}
models:
  - name: m
    targets:
      - {provider: slow, model: s, timeouts: {total: 2s}}
resilience:
  timeouts: {first_byte: 60s, total: 1h}
`, cloud("slow"))
	h.clouds["slow"].SetChunkDelay(20 * time.Millisecond)

	// The first content comes after 20ms, well within the target's 2s; 400 words
	// at 20ms each do not.
	r := h.do(call{model: "m", stream: true, prompt: strings.Repeat("word ", 400)})
	r.served(t, "slow")
	if r.sink.fail == nil || r.sink.done != 0 {
		t.Fatalf("stream ended done=%d fail=%v, want cut by the target's total timeout", r.sink.done, r.sink.fail)
	}
	if e := r.outcome.StreamErr; e == nil || e.Class != providers.ClassTimeout {
		t.Errorf("Outcome.StreamErr %v, want class timeout", e)
	}
	if want := []string{"slow/s timeout"}; !slices.Equal(r.attempts, want) {
		t.Errorf("attempts %v, want %v", r.attempts, want)
	}
}
