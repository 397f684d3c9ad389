package dashboards_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// requireTools returns the paths of prometheus and promtool: a laptop without them
// skips, CI fails.
func requireTools(t *testing.T) (prometheusBin, promtoolBin string) {
	t.Helper()
	var missing []string
	prometheusBin, err := exec.LookPath("prometheus")
	if err != nil {
		missing = append(missing, "prometheus")
	}
	promtoolBin, err = exec.LookPath("promtool")
	if err != nil {
		missing = append(missing, "promtool")
	}
	if len(missing) > 0 {
		msg := "needs " + strings.Join(missing, " and ") + " (Debian package prometheus)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return prometheusBin, promtoolBin
}

// promServer is a real Prometheus scraping the proxy's /metrics every 5 seconds and
// evaluating deploy/prometheus/alerts.yaml every second.
type promServer struct {
	url string
}

// syncBuffer collects Prometheus's log while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startPrometheus(t *testing.T, bin, scrapeTarget string) *promServer {
	t.Helper()
	rules, err := filepath.Abs(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A scrape that times out marks every series of the proxy stale, and the
	// dashboards' queries would find nothing: the timeout is far above what a scrape
	// of a -race binary on a loaded machine takes (it cannot exceed the interval).
	cfg := fmt.Sprintf(`global:
  scrape_interval: 5s
  scrape_timeout: 5s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: switchyard
    static_configs:
      - targets: [%q]
`, rules, scrapeTarget)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus cannot listen on port 0 and say where: a free port is picked, and
	// picked again if another program took it before Prometheus bound it.
	for attempt := 1; ; attempt++ {
		p, log, err := runPrometheus(t, bin, cfgPath, filepath.Join(dir, fmt.Sprintf("data-%d", attempt)))
		if err == nil {
			return p
		}
		if attempt == 3 || !strings.Contains(log, "address already in use") {
			t.Fatalf("%v:\n%s", err, log)
		}
	}
}

// runPrometheus starts Prometheus on a free loopback port and waits until it is ready.
func runPrometheus(t *testing.T, bin, cfgPath, data string) (*promServer, string, error) {
	addr := freeAddr(t)
	log := &syncBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	p := &promServer{url: "http://" + addr}
	// The watchdog tells a Prometheus that never starts from a slow machine.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, "", nil
			}
		}
		select {
		case <-exited:
			return nil, log.String(), errors.New("prometheus exited")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, log.String(), errors.New("prometheus not ready after a minute")
		}
	}
}

// freeAddr is a loopback address with a port nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

func (p *promServer) get(path string, params url.Values) (json.RawMessage, error) {
	resp, err := http.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	return r.Data, nil
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// finite reports whether the sample has a value a panel can draw.
func (s sample) finite() bool {
	v, err := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// query evaluates expr now and returns its series (a scalar counts as one).
func (p *promServer) query(expr string) ([]sample, error) {
	data, err := p.get("/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	switch d.ResultType {
	case "vector":
		var out []sample
		err := json.Unmarshal(d.Result, &out)
		return out, err
	case "scalar":
		var v [2]any
		err := json.Unmarshal(d.Result, &v)
		return []sample{{Value: v}}, err
	}
	return nil, fmt.Errorf("result type %s", d.ResultType)
}

// waitScrapedAfter waits until Prometheus holds a scrape of the proxy taken after at,
// and has evaluated its rules since. A scrape is committed at once, so once a query
// sees it, an evaluation that starts later sees it too. The watchdog tells a
// Prometheus that stopped scraping from a slow machine.
func (p *promServer) waitScrapedAfter(t *testing.T, at time.Time) {
	t.Helper()
	var seen time.Time // when a query first returned a scrape taken after at
	for watchdog := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(watchdog) {
			t.Fatalf("prometheus did not scrape the proxy, then evaluate its rules, after the load (scrape seen at %v)", seen)
		}
		if seen.IsZero() {
			s, err := p.query(`timestamp(switchyard_build_info)`)
			if err == nil && len(s) == 1 {
				ts, _ := strconv.ParseFloat(fmt.Sprint(s[0].Value[1]), 64)
				if at := at.Add(2 * time.Second); ts > float64(at.UnixMilli())/1000 {
					seen = time.Now()
				}
			}
			continue
		}
		if p.evaluatedAfter(seen) {
			return
		}
	}
}

// evaluatedAfter reports whether every rule group was last evaluated after at.
func (p *promServer) evaluatedAfter(at time.Time) bool {
	data, err := p.get("/api/v1/rules", nil)
	if err != nil {
		return false
	}
	var d struct {
		Groups []struct {
			LastEvaluation time.Time `json:"lastEvaluation"`
		} `json:"groups"`
	}
	if json.Unmarshal(data, &d) != nil || len(d.Groups) == 0 {
		return false
	}
	for _, g := range d.Groups {
		if !g.LastEvaluation.After(at) {
			return false
		}
	}
	return true
}

// Grafana variables as the live test fills them: template variables take their All
// value; $__rate_interval is what Grafana computes for 5s scrapes and a short
// dashboard range (20s), rounded up so that a window always holds several scrapes.
var builtinValues = map[string]string{
	"__rate_interval": "30s",
	"__interval":      "15s",
	"__interval_ms":   "15000",
	"__range":         "5m",
	"__range_s":       "300",
	"__range_ms":      "300000",
}

func substitute(t *testing.T, d *dashboard, expr string) string {
	t.Helper()
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		name := referencedVars(ref)[0]
		if v, ok := d.variable(name); ok && v.IncludeAll {
			return v.AllValue
		}
		if v, ok := builtinValues[name]; ok {
			return v
		}
		t.Fatalf("no value for $%s in %q", name, expr)
		return ""
	})
}

func TestDashboardsQueryLivePrometheus(t *testing.T) {
	prometheusBin, promtoolBin := requireTools(t)
	f := startFleet(t)
	prom := startPrometheus(t, prometheusBin, f.admin)

	runStories(t, f)
	prom.waitScrapedAfter(t, time.Now())
	runSteadyTraffic(t, f)
	prom.waitScrapedAfter(t, time.Now())

	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				expr := labelValuesAsPromQL(v.labelValuesQuery())
				if s, err := prom.query(expr); err != nil || len(s) == 0 {
					t.Errorf("variable %s: %s: %d values, %v", v.Name, expr, len(s), err)
				}
			}
			for _, p := range d.panels() {
				for _, q := range p.Targets {
					expr := substitute(t, d, q.Expr)
					s, err := prom.query(expr)
					switch {
					case err != nil:
						t.Errorf("%q %s: %v\n\t%s", p.Title, q.RefID, err, expr)
					case len(s) == 0:
						t.Errorf("%q %s: no series\n\t%s", p.Title, q.RefID, expr)
					case !slices.ContainsFunc(s, sample.finite):
						t.Errorf("%q %s: no series has a value (NaN or infinite only): %v\n\t%s", p.Title, q.RefID, s, expr)
					}
				}
			}
		})
	}

	t.Run("alerts", func(t *testing.T) {
		alerts := loadAlerts(t)
		checkRulesLoaded(t, prom, alerts)
		for _, r := range alerts {
			if _, err := prom.query(r.Expr); err != nil {
				t.Errorf("%s: %v", r.Alert, err)
			}
		}
		// legacy's only target has an open breaker; gpt-4o's primary cools down but
		// its standby serves: only legacy is down.
		s, err := prom.query(alertExpr(t, alerts, "SwitchyardAliasAllTargetsDown"))
		if err != nil || len(s) != 1 || s[0].Metric["alias"] != "legacy" {
			t.Errorf("SwitchyardAliasAllTargetsDown: %v %v, want alias legacy alone", s, err)
		}
		waitAlertPending(t, prom, "SwitchyardAliasAllTargetsDown", "legacy")
	})

	t.Run("promtool", func(t *testing.T) {
		out, err := exec.Command(promtoolBin, "check", "rules", alertsFile).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
		cmd := exec.Command(promtoolBin, "check", "metrics")
		cmd.Stdin = bytes.NewReader(f.metrics(t))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on /metrics: %v\n%s", err, out)
		}
	})
}

func alertExpr(t *testing.T, alerts []alertRule, name string) string {
	t.Helper()
	for _, r := range alerts {
		if r.Alert == name {
			return r.Expr
		}
	}
	t.Fatalf("no alert %s", name)
	return ""
}

// checkRulesLoaded checks that Prometheus loaded every alert of the file and
// evaluated each without error.
func checkRulesLoaded(t *testing.T, prom *promServer, alerts []alertRule) {
	t.Helper()
	data, err := prom.get("/api/v1/rules", url.Values{"type": {"alert"}})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Groups []struct {
			Rules []struct {
				Name           string `json:"name"`
				Health         string `json:"health"`
				LastError      string `json:"lastError"`
				LastEvaluation string `json:"lastEvaluation"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, g := range d.Groups {
		for _, r := range g.Rules {
			loaded = append(loaded, r.Name)
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s: health %q, error %q (last evaluated %s)", r.Name, r.Health, r.LastError, r.LastEvaluation)
			}
		}
	}
	for _, r := range alerts {
		if !slices.Contains(loaded, r.Alert) {
			t.Errorf("prometheus did not load %s (loaded: %v)", r.Alert, loaded)
		}
	}
}

// waitAlertPending waits for Prometheus to hold the alert, pending or firing, for the
// alias.
func waitAlertPending(t *testing.T, prom *promServer, name, alias string) {
	t.Helper()
	// Prometheus evaluates the rule every second; the watchdog tells an alert that
	// never comes from a slow machine.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last json.RawMessage
	for ctx.Err() == nil {
		data, err := prom.get("/api/v1/alerts", nil)
		if err != nil {
			t.Fatal(err)
		}
		last = data
		var d struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		for _, a := range d.Alerts {
			if a.Labels["alertname"] == name && a.Labels["alias"] == alias && a.Labels["severity"] != "" {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("alert %s for %s never became pending: %s", name, alias, last)
}
