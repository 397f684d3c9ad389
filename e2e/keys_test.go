package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/testservers"
	"github.com/switchyard/switchyard/providers/fakes"
)

const e2eAdminToken = "adm-e2e-token"

// admin sends one call of the admin API to p and returns the status and the body.
func (p *proc) adminCall(method, path, body string) (int, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.admin+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// issue creates (or rotates) a key through p's admin API and returns its secret.
func (p *proc) issue(method, path, body string, want int) string {
	p.t.Helper()
	status, data := p.adminCall(method, path, body)
	var k struct {
		Key string `json:"key"`
	}
	if status != want || json.Unmarshal(data, &k) != nil || !strings.HasPrefix(k.Key, "sk-sy-") {
		p.t.Fatalf("%s %s: %d %s", method, path, status, data)
	}
	return k.Key
}

const hello = `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`

// code is a chat request's status with a key on p, and the error code if any.
func (p *proc) code(key string) (int, string) {
	p.t.Helper()
	resp, data := p.post(key, hello)
	var doc struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &doc)
	return resp.StatusCode, doc.Error.Code
}

// refusedBy polls both replicas until each refuses key with 401 invalid_api_key and
// returns when each first did, after since. The deadline is generous: this shows
// that the refusal arrives, and logs how soon; the bound is the keyring's design
// (one poll, 250 ms, plus one store round trip).
func refusedBy(t *testing.T, replicas []*proc, key string, since time.Time) []time.Duration {
	t.Helper()
	out := make([]time.Duration, len(replicas))
	deadline := time.Now().Add(30 * time.Second)
	for i, p := range replicas {
		for {
			status, code := p.code(key)
			if status == 401 && code == "invalid_api_key" {
				out[i] = time.Since(since)
				break
			}
			if status != 200 {
				t.Fatalf("replica %d: %d %s while waiting for a refusal", i, status, code)
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d still accepts the key after 30s", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out
}

// Two replicas sharing Redis: keys issued, rotated and revoked on one hold on both,
// and a budget set through the API is one budget across them.
func TestReplicasShareRuntimeKeys(t *testing.T) {
	redis := testservers.StartRedis(t)
	cloud := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "cloud"})
	defer cloud.Close()
	yaml := fmt.Sprintf(`
listen: "{{LISTEN}}"
admin_listen: "{{ADMIN}}"
admin_token: %s
drain_delay: 0s
keys:
  - {name: file-app, key: sk-file-app}
providers:
  - {name: cloud, type: openai, base_url: %q}
pricing:
  - {provider: cloud, model: "*", input: 2, output: 8}
models:
  - name: m
    targets: [{provider: cloud, model: m}]
state: {driver: redis, url: "redis://%s/0"}
log: {level: info}
`, e2eAdminToken, cloud.BaseURL(), redis.Addr)
	a, b := start(t, yaml), start(t, yaml)
	both := []*proc{a, b}

	// Created on one, usable on the other at once: no wait in between.
	secret := a.issue("POST", "/admin/keys", `{"name":"svc"}`, 201)
	if status, code := b.code(secret); status != 200 {
		t.Fatalf("a key created on A, used on B at once: %d %s", status, code)
	}
	other := b.issue("POST", "/admin/keys", `{"name":"svc-b"}`, 201)
	if status, code := a.code(other); status != 200 {
		t.Fatalf("a key created on B, used on A at once: %d %s", status, code)
	}
	if status, _ := b.adminCall("POST", "/admin/keys", `{"name":"svc"}`); status != 409 {
		t.Fatalf("the name taken on A, created again on B: %d", status)
	}

	// Revoked on one, refused on both.
	if status, data := a.adminCall("DELETE", "/admin/keys/svc", ""); status != 204 {
		t.Fatalf("revoke: %d %s", status, data)
	}
	revoked := time.Now()
	delays := refusedBy(t, both, secret, revoked)
	t.Logf("revoked on A: refused by A after %s, by B after %s (design: one 250ms poll plus a store round trip)",
		delays[0].Round(time.Millisecond), delays[1].Round(time.Millisecond))

	// Rotated: the old secret works until its grace period ends, then is refused.
	first := a.issue("POST", "/admin/keys", `{"name":"rot"}`, 201)
	second := a.issue("POST", "/admin/keys/rot/rotate", `{"grace":"1h"}`, 200)
	for _, p := range both {
		for _, key := range []string{first, second} {
			if status, code := p.code(key); status != 200 {
				t.Fatalf("within a 1h grace period: %d %s", status, code)
			}
		}
	}
	const grace = 3 * time.Second
	sent := time.Now()
	third := b.issue("POST", "/admin/keys/rot/rotate", `{"grace":"3s"}`, 200)
	for i, p := range both {
		if status, code := p.code(third); status != 200 {
			t.Fatalf("replica %d, the newest secret: %d %s", i, status, code)
		}
		status, code := p.code(second)
		if elapsed := time.Since(sent); elapsed < grace && status != 200 {
			t.Fatalf("replica %d refused the rotated secret %s into its 3s grace: %d %s", i, elapsed, status, code)
		}
	}
	ends := refusedBy(t, both, second, sent)
	for i, d := range ends {
		if d < grace {
			t.Fatalf("replica %d refused the rotated secret %s after the rotation was sent, before its 3s grace ended", i, d)
		}
	}
	t.Logf("a 3s grace period: the old secret was refused %s and %s after the rotation was sent",
		ends[0].Round(time.Millisecond), ends[1].Round(time.Millisecond))
	for _, p := range both {
		if status, _ := p.code(first); status != 200 {
			t.Fatalf("the first secret, still within its own 1h grace: %d", status)
		}
	}

	// A budget set through the API is one budget across both replicas.
	budgeted := a.issue("POST", "/admin/keys", `{"name":"budgeted","budget":{"usd":0.0005,"period":"daily"}}`, 201)
	served, spent, refusedOn := spendUntilRefused(t, both, budgeted)
	t.Logf("$0.0005 budget set through the API, across two replicas: %d served for $%.7f; both refusing: %v",
		served, spent, len(refusedOn) == 2)
	if spent > 0.0005+1e-12 || len(refusedOn) != 2 || served == 0 {
		t.Fatalf("budget: spent $%.7f in %d requests, refused by %v", spent, served, refusedOn)
	}
	status, data := b.adminCall("GET", "/admin/keys/budgeted", "")
	var k struct {
		Spend struct {
			USD float64 `json:"usd"`
		} `json:"spend"`
	}
	if status != 200 || json.Unmarshal(data, &k) != nil || k.Spend.USD < spent-1e-9 {
		t.Fatalf("spend read on B: %d %s (served $%.7f)", status, data, spent)
	}

	// The audit trail is in the logs of the replica that made each change, without
	// secrets.
	if lines := a.logLines(`"msg":"admin change"`); len(lines) < 5 {
		t.Errorf("A's audit lines: %d", len(lines))
	}
	for _, p := range both {
		for _, s := range []string{secret, first, second, third, budgeted} {
			if strings.Contains(p.logs.String(), s) {
				t.Fatalf("a secret in the logs")
			}
		}
	}
}
