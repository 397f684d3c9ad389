package executor_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/providers/fakes"
)

func TestHedgeWinsOverAHungTargetAndCancelsIt(t *testing.T) {
	t.Parallel()
	// first_byte is far off: only the hedge can rescue the request, and the hung
	// attempt ends because it lost, not because it timed out.
	h := newHarness(t, hungThenLive("", "hedge_after: 50ms",
		"  breaker: {consecutive_failures: 1, open_timeout: 1h}\n  timeouts: {first_byte: 10m, total: 20m}"),
		cloud("hung"), cloud("live"))
	h.clouds["hung"].Fail(fakes.Fault{Hang: true})

	// The loser is canceled as soon as the race is decided, not when the request
	// ends: the winner's stream is still being relayed when the hung upstream sees
	// its request go.
	checked, canceledMidStream := false, false
	r := h.do(call{model: "m", stream: true, onChunk: func() {
		if !checked {
			checked = true
			canceledMidStream = within(time.Minute, func() bool { return h.clouds["hung"].Canceled() == 1 })
		}
	}})
	r.served(t, "live")
	if !canceledMidStream {
		t.Error("the losing attempt was still running while the winner streamed")
	}
	if got := r.sink.content(t); got != "live heard: hello" {
		t.Errorf("client read %q", got)
	}
	if got := r.header.Get("X-Switchyard-Attempts"); got != "2" {
		t.Errorf("X-Switchyard-Attempts %q, want both racers", got)
	}
	if !slices.Contains(r.attempts, "live/l success") {
		t.Errorf("attempts %v", r.attempts)
	}
	// Losing a race says nothing about the target: once the loser's attempt has
	// ended (its sample is in), its breaker is still closed.
	hung := h.health("hung/h")
	eventually(t, "the losing attempt ends", func() bool { return hung.Snapshot().Samples == 1 })
	if s := hung.State(); s != health.Closed {
		t.Errorf("the hedge's loser was counted as failed: breaker %s", s)
	}
}
