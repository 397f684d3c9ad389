package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sidecarMemory reads the memory limit and GOMEMLIMIT the shipped sidecar manifest
// states, in bytes.
func sidecarMemory(t *testing.T) (limit, gomemlimit uint64) {
	t.Helper()
	data, err := os.ReadFile("../deploy/kubernetes/base/sidecar/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mib := func(re string) uint64 {
		m := regexp.MustCompile(re).FindSubmatch(data)
		if m == nil {
			t.Fatalf("the sidecar manifest states no %s", re)
		}
		var n uint64
		fmt.Sscan(string(m[1]), &n)
		return n << 20
	}
	return mib(`limits:\s*memory: (\d+)Mi`), mib(`GOMEMLIMIT\s+value: "(\d+)MiB"`)
}

// Eight clients continuing the largest conversation the default configuration
// allows, at once, fit the memory the sidecar manifest gives Switchyard, under the
// GOMEMLIMIT it sets.
func TestResponsesContinuationsFitTheSidecar(t *testing.T) {
	limit, gomemlimit := sidecarMemory(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,`+
			`"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(up.Close)
	e := newEnv(t, `
drain_delay: 0s
keys: [{name: app, key: sk-app}]
providers: [{name: up, type: openai, base_url: "`+up.URL+`/v1"}]
models: [{name: m, targets: [{provider: up, model: m}]}]
resilience: {timeouts: {first_byte: 60s, total: 300s}}
`)
	// Turns of ~880 KB until the next would pass max_chain_bytes.
	turn := strings.Repeat("lorem ipsum dolor sit amet ", 880<<10/27)
	prev, size := "", 0
	for int64(size+2*len(turn)) < e.srv.Config().Responses.MaxChainBytes {
		body := map[string]any{"model": "m", "input": turn}
		if prev != "" {
			body["previous_response_id"] = prev
		}
		resp, data := e.post("/responses", "sk-app", body)
		if resp.StatusCode != 200 {
			t.Fatalf("building the conversation at %d bytes: %d %.200s", size, resp.StatusCode, data)
		}
		var r struct{ ID string }
		_ = json.Unmarshal(data, &r)
		prev, size = r.ID, size+len(turn)
	}

	debug.SetMemoryLimit(int64(gomemlimit))
	defer debug.SetMemoryLimit(math.MaxInt64)
	runtime.GC()
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, data := e.post("/responses", "sk-app", map[string]any{"model": "m", "input": "and next?", "previous_response_id": prev})
			if resp.StatusCode != 200 {
				t.Errorf("continuation: %d %.200s", resp.StatusCode, data)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	t.Logf("8 continuations of a %d KB conversation: peak heap %d MiB (sidecar limit %d MiB, GOMEMLIMIT %d MiB)",
		size>>10, peak.Load()>>20, limit>>20, gomemlimit>>20)
	if peak.Load() > limit {
		t.Errorf("peak heap %d MiB exceeds the sidecar's memory limit of %d MiB", peak.Load()>>20, limit>>20)
	}
}
