package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/testservers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// Two replicas sharing one Redis enforce one rate limit and one budget.
func TestReplicasShareLimitsAndBudgets(t *testing.T) {
	redis := testservers.StartRedis(t)
	cloud := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "cloud"})
	defer cloud.Close()
	yaml := fmt.Sprintf(`
listen: "{{LISTEN}}"
admin_listen: "{{ADMIN}}"
drain_delay: 0s
keys:
  - {name: limited, key: sk-limited, limits: {rpm: 10}}
  - {name: budgeted, key: sk-budgeted, budget: {usd: 0.0005, period: total}} # no day boundary mid-test
providers:
  - {name: cloud, type: openai, base_url: %q}
pricing:
  - {provider: cloud, model: "*", input: 2, output: 8}
models:
  - name: m
    targets: [{provider: cloud, model: m}]
state: {driver: redis, url: "redis://%s/0", timeout: 10s} # far above a loaded machine's (default 250ms)
log: {level: info} # start reads the bound addresses from the "serving" line
`, cloud.BaseURL(), redis.Addr)
	a, b := start(t, yaml), start(t, yaml)
	replicas := []*proc{a, b}

	ok := inOneMinute(t, func() int {
		ok := 0
		for i := range 20 {
			resp, _ := replicas[i%2].post("sk-limited", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode == 200 {
				ok++
			} else if resp.StatusCode != 429 {
				t.Fatalf("status %d", resp.StatusCode)
			}
		}
		return ok
	})
	t.Logf("rpm 10 across two replicas: %d of 20 admitted", ok)
	if ok != 10 {
		t.Errorf("%d requests admitted across two replicas, want exactly 10", ok)
	}

	served, spent, refusedBy := spendUntilRefused(t, replicas, "sk-budgeted")
	t.Logf("$0.0005 budget across two replicas: %d served for $%.7f; both replicas refusing: %v", served, spent, len(refusedBy) == 2)
	if spent > 0.0005+1e-12 || len(refusedBy) != 2 || served == 0 {
		t.Errorf("budget: spent $%.7f in %d requests, refused by %v", spent, served, refusedBy)
	}
}

// spendUntilRefused sends requests with key to the replicas in turn until each has
// refused one for its budget (insufficient_quota), and returns how many were
// served, what they cost (X-Switchyard-Cost-Usd) and which replicas refused.
func spendUntilRefused(t *testing.T, replicas []*proc, key string) (served int, spent float64, refusedBy map[int]bool) {
	t.Helper()
	refusedBy = map[int]bool{}
	for i := range 200 {
		body := fmt.Sprintf(`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"request %d"}]}`, i)
		resp, data := replicas[i%len(replicas)].post(key, body)
		switch resp.StatusCode {
		case 200:
			served++
			c, _ := strconv.ParseFloat(resp.Header.Get("X-Switchyard-Cost-Usd"), 64)
			spent += c
		case 429:
			if !strings.Contains(string(data), "insufficient_quota") {
				t.Fatalf("refusal: %s", data)
			}
			refusedBy[i%len(replicas)] = true
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, data)
		}
		if len(refusedBy) == len(replicas) {
			break
		}
	}
	return served, spent, refusedBy
}

// inOneMinute runs burst inside one rate-limit window: a minute aligned to the epoch
// on Redis's clock, which is this machine's (the replicas are separate processes,
// their clock cannot be injected). The burst starts with at least ten seconds
// left; if it outlasts its window all the same, it runs again at the start of a
// window that it has not touched.
func inOneMinute(t *testing.T, burst func() int) int {
	t.Helper()
	untilNext := func() time.Duration {
		return time.Minute - time.Duration(time.Now().UnixNano()%int64(time.Minute))
	}
	for {
		if left := untilNext(); left < 10*time.Second {
			time.Sleep(left)
		}
		window := time.Now().UnixNano() / int64(time.Minute)
		n := burst()
		if time.Now().UnixNano()/int64(time.Minute) == window {
			return n
		}
		t.Log("the burst outlasted its rate-limit window; again in a fresh one")
		time.Sleep(untilNext())
	}
}
