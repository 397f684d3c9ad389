package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/keyring"
	"github.com/switchyard/switchyard/proxy"
)

const adminToken = "adm-token-123"

// keysConfig is baseConfig with an admin token, a priced alias and a file team.
const keysConfig = baseConfig + `
admin_token: ` + adminToken + `
pricing:
  - {provider: openai, model: "*", input: 2, output: 8}
teams:
  - {name: search}
`

// adminDo sends one admin API call with a token and returns the response and body.
func (e *env) adminDo(method, path, token, body string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.admin+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// adminJSON is adminDo with the admin token, decoding the answer into v and
// failing unless the status is want.
func (e *env) adminJSON(method, path, body string, want int, v any, header ...string) {
	e.t.Helper()
	resp, out := e.adminDo(method, path, adminToken, body, header...)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}

func chatAs(t *testing.T, e *env, key, model string) (int, string) {
	t.Helper()
	resp, body := e.post("/chat/completions", key, `{"model":"`+model+`","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode == 200 {
		return 200, ""
	}
	_, code, _ := errorCode(t, body)
	return resp.StatusCode, code
}

func TestKeyAPIIsOffWithoutAnAdminToken(t *testing.T) {
	e := newEnv(t, baseConfig)
	for _, call := range [][2]string{{"POST", "/admin/keys"}, {"GET", "/admin/keys"}, {"GET", "/admin/teams/x"}, {"DELETE", "/admin/keys/app"}} {
		resp, body := e.adminDo(call[0], call[1], "anything", `{"name":"x"}`)
		if _, code, _ := errorCode(t, body); resp.StatusCode != 403 || code != "admin_api_disabled" {
			t.Errorf("%s %s without admin_token: %d %s", call[0], call[1], resp.StatusCode, body)
		}
	}
	// The other admin endpoints keep their behaviour: open without a token.
	if resp, _ := e.adminDo("GET", "/admin/targets", "", ""); resp.StatusCode != 200 {
		t.Errorf("/admin/targets: %d", resp.StatusCode)
	}
}

func TestRuntimeKeyLifecycle(t *testing.T) {
	e := newEnv(t, keysConfig)
	if resp, body := e.adminDo("GET", "/admin/keys", "wrong", ""); resp.StatusCode != 401 {
		t.Fatalf("wrong admin token: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.adminDo("POST", "/admin/keys", "wrong", `{"name":"x"}`); resp.StatusCode != 401 {
		t.Fatalf("wrong admin token: %d %s", resp.StatusCode, body)
	}
	if e.logs.FilterMessage("admin change").FilterField(zap.String("result", "unauthorized")).Len() != 1 {
		t.Fatal("a change refused for its token is not audited")
	}
	var created keyring.Key
	e.adminJSON("POST", "/admin/keys", `{"name":"runtime-app","team":"search","models":["claude-*"],
		"limits":{"rpm":100},"budget":{"usd":5,"period":"monthly"},"metadata":{"owner":"team-search"}}`, 201, &created)
	if !strings.HasPrefix(created.Secret, "sk-sy-") || created.Source != "runtime" || created.Version < 1 {
		t.Fatalf("created %+v", created)
	}
	secret := created.Secret

	// The SDK, with the new key: /v1/models lists exactly what its models allow.
	ctx := context.Background()
	client := e.client(secret)
	list, err := client.Models.List(ctx)
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != "claude-sonnet" {
		t.Fatalf("models of the runtime key: %+v %v", list.Data, err)
	}
	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet",
		Messages: userMsg("hi"), MaxTokens: openai.Int(20)}); err != nil {
		t.Fatalf("chat with the runtime key: %v", err)
	}
	if status, _ := chatAs(t, e, secret, "gpt-4o"); status == 200 {
		t.Fatal("the runtime key used a model outside its allowlist")
	}

	// Reads: the list has the file's keys (read-only) and this one; no secret.
	var all keyring.List[keyring.Key]
	e.adminJSON("GET", "/admin/keys", "", 200, &all)
	sources := map[string]string{}
	for _, k := range all.Data {
		sources[k.Name] = k.Source
	}
	if sources["app"] != "config" || sources["limited"] != "config" || sources["runtime-app"] != "runtime" || len(all.Data) != 3 {
		t.Fatalf("list %+v", sources)
	}
	resp, body := e.adminDo("GET", "/admin/keys/runtime-app", adminToken, "")
	if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte(`"key"`)) || resp.Header.Get("ETag") != `"`+strconv.FormatInt(created.Version, 10)+`"` {
		t.Fatalf("read of a key: %s %v", body, resp.Header)
	}
	var got keyring.Key
	json.Unmarshal(body, &got)
	sp := got.Spend
	if sp == nil || sp.USD <= 0 || sp.LimitUSD != 5 || sp.RemainingUSD != 5-sp.USD || sp.Period != "monthly" || sp.ResetsAt == nil {
		t.Fatalf("spend after one request: %s", body)
	}
	// The minute of the rate limit may roll over between a request and the read:
	// then a second request and read fall into one minute.
	for attempt := 1; ; attempt++ {
		rl := got.RateLimits
		if rl == nil || rl.RPM == nil || rl.RPM.Limit != 100 || rl.RPM.Remaining != 100-rl.RPM.Used {
			t.Fatalf("rate limits: %s", body)
		}
		if rl.RPM.Used >= 1 {
			break
		}
		if attempt == 3 {
			t.Fatalf("rate limits show no request: %s", body)
		}
		if status, code := chatAs(t, e, secret, "claude-sonnet"); status != 200 {
			t.Fatalf("%d %s", status, code)
		}
		e.adminJSON("GET", "/admin/keys/runtime-app", "", 200, &got)
	}

	// An update reaches the request path at once.
	var updated keyring.Key
	e.adminJSON("PATCH", "/admin/keys/runtime-app", `{"models":["claude-*","gpt-4o"]}`, 200, &updated)
	if status, code := chatAs(t, e, secret, "gpt-4o"); status != 200 {
		t.Fatalf("after the update: %d %s", status, code)
	}
	// Rotation: both secrets work within the grace period.
	var rotated keyring.Key
	e.adminJSON("POST", "/admin/keys/runtime-app/rotate", `{"grace":"1h"}`, 200, &rotated)
	if rotated.Secret == "" || rotated.Secret == secret {
		t.Fatalf("rotated %+v", rotated)
	}
	for _, s := range []string{secret, rotated.Secret} {
		if status, code := chatAs(t, e, s, "gpt-4o"); status != 200 {
			t.Fatalf("within the grace period: %d %s", status, code)
		}
	}
	// Revocation: every secret of the key is refused, as an unknown key is, and its
	// budget series leave /metrics.
	if !strings.Contains(e.scrape(), `switchyard_budget_spend_usd{name="runtime-app",period="monthly",scope="key"}`) {
		t.Fatal("no budget series for the runtime key")
	}
	e.adminJSON("DELETE", "/admin/keys/runtime-app", "", 204, nil)
	if strings.Contains(e.scrape(), `name="runtime-app"`) {
		t.Fatal("the revoked key's budget series stay")
	}
	for _, s := range []string{secret, rotated.Secret} {
		if status, code := chatAs(t, e, s, "gpt-4o"); status != 401 || code != "invalid_api_key" {
			t.Fatalf("revoked: %d %s", status, code)
		}
	}
	e.adminJSON("GET", "/admin/keys/runtime-app", "", 404, nil)

	// The audit trail: one line per change, with who, what and when, never a secret.
	audit := e.logs.FilterMessage("admin change").FilterField(zap.String("result", "ok")).All()
	var actions []string
	for _, l := range audit {
		m := l.ContextMap()
		actions = append(actions, m["action"].(string))
		if m["actor"] != "admin" || m["name"] != "runtime-app" || m["result"] != "ok" || m["at"] == nil {
			t.Errorf("audit line %v", m)
		}
	}
	if strings.Join(actions, ",") != "create,update,rotate,revoke" {
		t.Errorf("audit actions %v", actions)
	}
	for _, l := range e.logs.All() {
		line, _ := json.Marshal(append([]any{l.Message}, l.ContextMap()))
		for _, s := range []string{secret, rotated.Secret} {
			if bytes.Contains(line, []byte(s)) || bytes.Contains(line, []byte(s[len(keyring.SecretPrefix)+6:])) {
				t.Fatalf("a log line holds a secret: %s", line)
			}
		}
	}
	metrics := e.scrape()
	for _, want := range []string{`switchyard_admin_changes_total{action="create",object="key",result="ok"} 1`,
		`switchyard_admin_changes_total{action="revoke",object="key",result="ok"} 1`,
		`switchyard_client_keys{source="config"} 2`, `switchyard_client_keys{source="runtime"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// scrape reads /metrics.
func (e *env) scrape() string {
	e.t.Helper()
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestKeyAPIBadInput(t *testing.T) {
	e := newEnv(t, keysConfig)
	e.adminJSON("POST", "/admin/keys", `{"name":"dup"}`, 201, nil)
	cases := []struct {
		method, path, body string
		status             int
		code, param        string
	}{
		{"POST", "/admin/keys", `{"name":"a","limts":{"rpm":1}}`, 400, "unknown_field", "limts"},
		{"POST", "/admin/keys", `{"name":"a","budget":{"usd":"lots"}}`, 400, "invalid_value", "budget.usd"},
		{"POST", "/admin/keys", `{"name":"a","budget":{"usd":1,"period":"hourly"}}`, 400, "invalid_value", "budget.period"},
		{"POST", "/admin/keys", `{"name":"dup"}`, 409, "key_exists", "name"},
		{"POST", "/admin/keys", `{"name":"app"}`, 409, "defined_in_config", "name"},
		{"PATCH", "/admin/keys/app", `{"models":[]}`, 409, "defined_in_config", "name"},
		{"POST", "/admin/keys/app/rotate", `{}`, 409, "defined_in_config", "name"},
		{"DELETE", "/admin/keys/app", ``, 409, "defined_in_config", "name"},
		{"PATCH", "/admin/keys/nobody", `{"models":[]}`, 404, "key_not_found", "name"},
		{"POST", "/admin/teams", `{"name":"search"}`, 409, "defined_in_config", "name"},
		{"POST", "/admin/teams", `{"name":"t","budget":{"usd":1},"owner":"x"}`, 400, "unknown_field", "owner"},
		{"POST", "/admin/keys", strings.Repeat(" ", 70<<10), 413, "request_too_large", ""},
		{"PUT", "/admin/keys/dup", `{}`, 404, "unknown_url", ""},
	}
	for _, tc := range cases {
		resp, body := e.adminDo(tc.method, tc.path, adminToken, tc.body)
		var doc struct {
			Error struct {
				Message, Type string
				Param, Code   *string
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != tc.status || doc.Error.Code == nil ||
			*doc.Error.Code != tc.code || (tc.param != "" && (doc.Error.Param == nil || *doc.Error.Param != tc.param)) {
			t.Errorf("%s %s %.40s: %d %s", tc.method, tc.path, tc.body, resp.StatusCode, body)
			continue
		}
		if tc.code == "defined_in_config" && !strings.Contains(doc.Error.Message, e.configPath) {
			t.Errorf("%s %s: the refusal does not name the file %s: %s", tc.method, tc.path, e.configPath, doc.Error.Message)
		}
	}
	// Versions: If-Match (or "version") must be the current one.
	resp, _ := e.adminDo("GET", "/admin/keys/dup", adminToken, "")
	etag := resp.Header.Get("ETag")
	resp, body := e.adminDo("PATCH", "/admin/keys/dup", adminToken, `{"limits":{"rpm":5}}`, "If-Match", etag)
	if resp.StatusCode != 200 {
		t.Fatalf("update at the current version: %d %s", resp.StatusCode, body)
	}
	resp, body = e.adminDo("PATCH", "/admin/keys/dup", adminToken, `{"limits":{"rpm":6}}`, "If-Match", etag)
	if _, code, _ := errorCode(t, body); resp.StatusCode != 409 || code != "version_conflict" {
		t.Fatalf("update at a stale version: %d %s", resp.StatusCode, body)
	}
	if got := e.logs.FilterMessage("admin change").FilterField(zap.String("result", "refused")).Len(); got < 9 {
		t.Errorf("%d refused changes audited", got)
	}
}

// An expired runtime key is refused with a message of its own; the clock is the
// test's.
func TestExpiredRuntimeKeyIsRefusedDistinctly(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	e := newEnvWith(t, keysConfig, func(o *proxy.Options) { o.Keyring.Now = clock })
	var k keyring.Key
	e.adminJSON("POST", "/admin/keys", `{"name":"temp","expires_at":"2031-06-01T13:00:00Z"}`, 201, &k)
	if status, code := chatAs(t, e, k.Secret, "gpt-4o"); status != 200 {
		t.Fatalf("before expiry: %d %s", status, code)
	}
	now.Add(int64(time.Hour))
	c := e.client(k.Secret)
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: userMsg("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "expired_api_key" ||
		!strings.Contains(apiErr.Message, "expired at 2031-06-01T13:00:00Z") {
		t.Fatalf("expired key through the SDK: %v", err)
	}
	if status, code := chatAs(t, e, "sk-sy-neverissued", "gpt-4o"); status != 401 || code != "invalid_api_key" {
		t.Fatalf("unknown key: %d %s", status, code)
	}
}

// A team made through the API enforces its budget and its rate limits on every key
// of the team together.
func TestRuntimeTeamEnforcesBudgetAndLimits(t *testing.T) {
	// The test's clock stands still: the six requests count in one rate window
	// however slowly the machine serves them.
	at := time.Date(2031, 6, 1, 12, 0, 30, 0, time.UTC)
	e := newEnvWith(t, keysConfig, func(o *proxy.Options) { o.Clock = func() time.Time { return at } })
	e.adminJSON("POST", "/admin/teams", `{"name":"growth","limits":{"rpm":3}}`, 201, nil)
	var a, b keyring.Key
	e.adminJSON("POST", "/admin/keys", `{"name":"growth-a","team":"growth"}`, 201, &a)
	e.adminJSON("POST", "/admin/keys", `{"name":"growth-b","team":"growth"}`, 201, &b)
	served := 0
	var refusal []byte
	for i := range 6 {
		key := []string{a.Secret, b.Secret}[i%2]
		resp, body := e.post("/chat/completions", key, `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
		switch resp.StatusCode {
		case 200:
			served++
		case 429:
			refusal = body
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	if served != 3 || !bytes.Contains(refusal, []byte(`Rate limit reached for team \"growth\"`)) {
		t.Fatalf("team rpm 3 over two keys: %d served; refusal %s", served, refusal)
	}
	// A budget set afterwards, small enough to run out.
	e.adminJSON("PATCH", "/admin/teams/growth", `{"limits":null,"budget":{"usd":0.0002,"period":"daily"}}`, 200, nil)
	var exhausted []byte
	for i := range 100 {
		resp, body := e.post("/chat/completions", []string{a.Secret, b.Secret}[i%2],
			`{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode == 429 {
			exhausted = body
			break
		}
	}
	if _, code, msg := errorCode(t, exhausted); code != "insufficient_quota" || !strings.Contains(msg, `team budget "growth"`) {
		t.Fatalf("team budget: %s", exhausted)
	}
	var team keyring.Team
	e.adminJSON("GET", "/admin/teams/growth", "", 200, &team)
	if team.Spend == nil || team.Spend.USD <= 0 || team.Spend.LimitUSD != 0.0002 || team.Spend.Period != "daily" {
		t.Fatalf("team spend %+v", team.Spend)
	}
	resp, body := e.adminDo("DELETE", "/admin/teams/growth", adminToken, "")
	if _, code, _ := errorCode(t, body); resp.StatusCode != 409 || code != "team_in_use" {
		t.Fatalf("deleting a team with keys: %d %s", resp.StatusCode, body)
	}

	// Deleted, the team leaves no series behind: teams created and deleted through
	// the API must not grow /metrics without bound.
	series := func() []string {
		var out []string
		for _, line := range strings.Split(e.metricsText(), "\n") {
			if strings.Contains(line, `team="growth"`) || strings.Contains(line, `name="growth"`) {
				out = append(out, line)
			}
		}
		return out
	}
	for _, name := range []string{"switchyard_requests_total", "switchyard_tokens_total", "switchyard_cost_usd_total",
		"switchyard_rate_limit_rejections_total", "switchyard_budget_spend_usd"} {
		if !slices.ContainsFunc(series(), func(l string) bool { return strings.HasPrefix(l, name+"{") }) {
			t.Fatalf("no %s series of the team before it is deleted: %q", name, series())
		}
	}
	e.adminJSON("DELETE", "/admin/keys/growth-a", "", 204, nil)
	e.adminJSON("DELETE", "/admin/keys/growth-b", "", 204, nil)
	e.adminJSON("DELETE", "/admin/teams/growth", "", 204, nil)
	deadline := time.Now().Add(30 * time.Second)
	for left := series(); len(left) > 0; left = series() {
		if time.Now().After(deadline) {
			t.Fatalf("series of the deleted team: %q", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With no file keys the API is open; the first runtime key closes it.
func TestFirstRuntimeKeyClosesAnOpenAPI(t *testing.T) {
	yaml := strings.Replace(keysConfig, "keys:\n  - {name: app, key: "+clientKey+", team: search}\n  - {name: limited, key: sk-limited, team: other, models: [\"claude-*\"]}\n", "", 1)
	yaml = strings.Replace(yaml, "teams:\n  - {name: search}\n", "", 1)
	e := newEnv(t, yaml)
	if status, _ := chatAs(t, e, "", "gpt-4o"); status != 200 {
		t.Fatalf("open API: %d", status)
	}
	var k keyring.Key
	e.adminJSON("POST", "/admin/keys", `{"name":"first"}`, 201, &k)
	if status, code := chatAs(t, e, "", "gpt-4o"); status != 401 || code != "missing_api_key" {
		t.Fatalf("after the first key, no key: %d %s", status, code)
	}
	if status, _ := chatAs(t, e, k.Secret, "gpt-4o"); status != 200 {
		t.Fatalf("the first key: %d", status)
	}
}
