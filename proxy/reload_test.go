package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

const reloadBefore = `
drain_delay: 0s
open_access: true
providers:
  - {name: a, type: openai, base_url: "{{a}}"}
  - {name: b, type: openai, base_url: "{{b}}"}
  - {name: c, type: openai, base_url: "{{c}}"}
  - {name: d, type: openai, base_url: "{{d}}"}
models:
  - name: m
    targets:
      - {provider: a, model: x, weight: 1}
      - {provider: b, model: x, weight: 1}
  - name: side
    targets:
      - {provider: d, model: x}
      - {provider: a, model: y, priority: 1}
resilience:
  max_cooldown: 2h
`

// After the reload: new weights, and a new target c.
const reloadAfter = `
drain_delay: 0s
open_access: true
providers:
  - {name: a, type: openai, base_url: "{{a}}"}
  - {name: b, type: openai, base_url: "{{b}}"}
  - {name: c, type: openai, base_url: "{{c}}"}
  - {name: d, type: openai, base_url: "{{d}}"}
models:
  - name: m
    targets:
      - {provider: a, model: x, weight: 3}
      - {provider: b, model: x, weight: 1}
      - {provider: c, model: x, weight: 4}
  - name: side
    targets:
      - {provider: d, model: x}
      - {provider: a, model: y, priority: 1}
resilience:
  max_cooldown: 2h
`

func (e *env) reload(t *testing.T) (int, string) {
	t.Helper()
	resp, err := http.Post(e.admin+"/admin/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestReloadUnderLoad(t *testing.T) {
	e := newEnv(t, reloadBefore, "a", "b", "c", "d")
	// Target d rests for an hour, longer than any run: its cooldown must survive the
	// reload.
	e.clouds["d"].Fail(fakes.Fault{Status: 429, RetryAfter: time.Hour, Times: 1})
	if by := servedBy(t, e, "side"); by != "a" {
		t.Fatalf("side served by %s", by)
	}

	// 1,000 requests in flight, each held 400 ms upstream, while the configuration
	// changes under them.
	for _, name := range []string{"a", "b"} {
		e.clouds[name].Fail(fakes.Fault{Latency: 400 * time.Millisecond})
	}
	const inflight = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := map[string]int{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inflight}}
	for i := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"in flight %d"}]}`, i)
			resp, err := client.Post(e.base+"/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				mu.Lock()
				failures[err.Error()]++
				mu.Unlock()
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				mu.Lock()
				failures[fmt.Sprintf("%d %s", resp.StatusCode, data)]++
				mu.Unlock()
			}
		}()
	}
	eventually(t, "half the requests upstream", func() bool {
		return len(e.clouds["a"].Requests())+len(e.clouds["b"].Requests()) >= inflight/2
	})
	e.writeConfig(reloadAfter)
	if status, body := e.reload(t); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("requests failed across the reload: %v", failures)
	}
	t.Logf("%d requests in flight across a reload: none failed", inflight)

	// The new weights take effect, the new target serves.
	for _, name := range []string{"a", "b"} {
		e.clouds[name].Clear()
	}
	// 2000 draws: ±5 points is over 4 standard deviations for each share.
	counts := map[string]int{}
	const n = 2000
	for range n / 40 {
		res := load(t, e, 40, 8)
		if res.failed > 0 {
			t.Fatal(res.errors)
		}
		for k, v := range res.byProvider {
			counts[k] += v
		}
	}
	for name, want := range map[string]float64{"a": 3.0 / 8, "b": 1.0 / 8, "c": 4.0 / 8} {
		got := float64(counts[name]) / n
		t.Logf("after reload: %s served %.1f%% (weight share %.1f%%)", name, 100*got, 100*want)
		if got < want-0.05 || got > want+0.05 {
			t.Errorf("%s served %.1f%%, want %.1f%% ± 5", name, 100*got, 100*want)
		}
	}
	if tv := e.targets(t)["d/x"]; tv.CooldownUntil == nil {
		t.Errorf("d's cooldown did not survive the reload: %+v", tv)
	}
}

func TestInvalidReloadKeepsRunningConfig(t *testing.T) {
	e := newEnv(t, reloadBefore, "a", "b", "c", "d")
	e.writeConfig(strings.Replace(reloadAfter, "provider: c,", "provider: nowhere,", 1))
	status, body := e.reload(t)
	if status != 422 || !strings.Contains(body, `unknown provider \"nowhere\"`) {
		t.Errorf("invalid reload: %d %s", status, body)
	}
	if by := servedBy(t, e, "m"); by != "a" && by != "b" {
		t.Errorf("served by %s after a rejected reload", by)
	}
	if got := metricValue(t, e, `switchyard_config_reloads_total{result="failure"}`); got != "1" {
		t.Errorf("failure not counted: %s", got)
	}
}

func TestConfigFileWatched(t *testing.T) {
	e := newEnv(t, reloadBefore, "a", "b", "c", "d")
	if err := e.watch(); err != nil {
		t.Skipf("no file watcher here: %v", err)
	}
	e.writeConfig(reloadAfter)
	eventually(t, "a reload after the watched file changed", func() bool {
		return metricValue(t, e, `switchyard_config_reloads_total{result="success"}`) != "0"
	})
	if _, ok := e.targets(t)["c/x"]; !ok {
		t.Error("a change to the watched file was not applied")
	}
}

func TestAdminTokenGuardsAdminEndpoints(t *testing.T) {
	e := newEnv(t, reloadBefore+"admin_token: s3cret-admin\n", "a", "b", "c", "d")
	if status, _ := e.reload(t); status != 401 {
		t.Errorf("reload without the token: %d", status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.admin+"/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer s3cret-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("reload with the token: %v %v", resp, err)
	}
	if r, err := http.Get(e.admin + "/metrics"); err != nil || r.StatusCode != 200 {
		t.Errorf("metrics must stay open: %v %v", r, err)
	}
}
