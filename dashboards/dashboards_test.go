// Package dashboards_test checks Switchyard's Grafana dashboards and Prometheus alerts:
// their structure (fast, always), and that every query returns data from a real
// Prometheus scraping a proxy under load (prometheus_test.go).
package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// dashboardFiles are the dashboards Switchyard ships.
var dashboardFiles = []string{"overview.json", "providers.json", "cost.json"}

const alertsFile = "../deploy/prometheus/alerts.yaml"

// datasourceVar is the template variable every query's data source must be, so that
// the dashboards import into any Grafana whatever its Prometheus is called.
const datasourceVar = "${datasource}"

// filterVars are the template variables every query must apply to a metric carrying
// the label of the same name.
var filterVars = []string{"alias", "provider", "team"}

type dashboard struct {
	file          string
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Requires []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"__requires"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	Targets     []target       `json:"targets"`
	GridPos     *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	// Panels are a collapsed row's panels.
	Panels []panel `json:"panels"`
}

type target struct {
	RefID        string         `json:"refId"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat"`
	Datasource   *datasourceRef `json:"datasource"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *datasourceRef  `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// labelValuesQuery is the label_values(metric, label) of a query variable.
func (v variable) labelValuesQuery() string {
	var q struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &q); err != nil {
		_ = json.Unmarshal(v.Query, &q.Query) // the older plain-string form
	}
	return q.Query
}

func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	var out []*dashboard
	for _, f := range dashboardFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: f}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

// panels are every panel of d, rows and the panels of collapsed rows included.
func (d *dashboard) panels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func (d *dashboard) variable(name string) (variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

// varRef finds Grafana variable references: $name, ${name}, ${name:format}, [[name]].
var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// builtinVars are Grafana's global variables.
var builtinVars = []string{"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
	"__from", "__to", "__dashboard", "__org", "__user"}

func referencedVars(s string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2]+m[3])
	}
	return out
}

func TestDashboardsAreImportable(t *testing.T) {
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			if d.UID == "" || d.Title == "" {
				t.Errorf("uid %q, title %q", d.UID, d.Title)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = d.file
			if d.SchemaVersion < 38 {
				t.Errorf("schemaVersion %d: Grafana 10 writes 38 or later", d.SchemaVersion)
			}
			ds, ok := d.variable("datasource")
			if !ok || ds.Type != "datasource" || string(ds.Query) != `"prometheus"` {
				t.Errorf("no datasource variable of type datasource for prometheus: %+v", ds)
			}
			for _, name := range filterVars {
				v, ok := d.variable(name)
				if !ok {
					t.Errorf("no %s variable", name)
					continue
				}
				if v.Type != "query" || !v.Multi || !v.IncludeAll || v.AllValue != ".*" {
					t.Errorf("variable %s: want a multi-select query variable with All = .*: %+v", name, v)
				}
				if q := v.labelValuesQuery(); !regexp.MustCompile(`^label_values\(switchyard_\w+, *`+name+`\)$`).MatchString(q) ||
					q != v.Definition {
					t.Errorf("variable %s: query %q, definition %q", name, q, v.Definition)
				}
				if v.Datasource == nil || v.Datasource.UID != datasourceVar {
					t.Errorf("variable %s does not use the datasource variable", name)
				}
			}
			used := map[string]bool{}
			for _, r := range d.Requires {
				used[r.Type+"/"+r.ID] = true
			}
			ids := map[int]bool{}
			for _, p := range d.panels() {
				if ids[p.ID] {
					t.Errorf("panel id %d repeated", p.ID)
				}
				ids[p.ID] = true
				if p.Title == "" || p.GridPos == nil {
					t.Errorf("panel %d: no title or gridPos", p.ID)
				}
				checkVars(t, d, p.Title)
				if p.Type == "row" {
					continue
				}
				if !used["panel/"+p.Type] {
					t.Errorf("panel type %s missing from __requires", p.Type)
				}
				if p.Description == "" || !strings.Contains(p.Description, "?") {
					t.Errorf("panel %q: its description must ask the question it answers: %q", p.Title, p.Description)
				}
				if p.Datasource == nil || p.Datasource.UID != datasourceVar || p.Datasource.Type != "prometheus" {
					t.Errorf("panel %q does not use the datasource variable: %+v", p.Title, p.Datasource)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				refs := map[string]bool{}
				for _, q := range p.Targets {
					if q.Expr == "" || q.RefID == "" || refs[q.RefID] {
						t.Errorf("panel %q: query %q with refId %q", p.Title, q.Expr, q.RefID)
					}
					refs[q.RefID] = true
					if q.Datasource != nil && q.Datasource.UID != datasourceVar {
						t.Errorf("panel %q: query %s has its own data source %+v", p.Title, q.RefID, q.Datasource)
					}
					checkVars(t, d, q.Expr)
					checkVars(t, d, q.LegendFormat)
				}
			}
		})
	}
}

// checkVars fails for a variable that s references and d does not define.
func checkVars(t *testing.T, d *dashboard, s string) {
	t.Helper()
	for _, name := range referencedVars(s) {
		if _, ok := d.variable(name); !ok && !slices.Contains(builtinVars, name) {
			t.Errorf("%q references $%s, which the dashboard does not define", s, name)
		}
	}
}

// TestQueriesMatchTheMetrics checks every dashboard and alert query against the
// metrics Switchyard registers: no unknown metric or label, and every metric with an
// alias, provider or team label filtered by the variable of that name.
func TestQueriesMatchTheMetrics(t *testing.T) {
	schema := metricSchema(t)
	for _, d := range loadDashboards(t) {
		for _, p := range d.panels() {
			for _, q := range p.Targets {
				where := d.file + ": " + p.Title + " " + q.RefID
				checkQuery(t, schema, where, q.Expr, true)
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				checkQuery(t, schema, d.file+": variable "+v.Name, labelValuesAsPromQL(v.labelValuesQuery()), false)
			}
		}
	}
	for _, r := range loadAlerts(t) {
		checkQuery(t, schema, alertsFile+": "+r.Alert, r.Expr, false)
	}
}

func checkQuery(t *testing.T, schema map[string]map[string]bool, where, expr string, filtered bool) {
	t.Helper()
	sels := selectors(expr)
	if len(sels) == 0 {
		t.Errorf("%s: no Switchyard metric in %q", where, expr)
	}
	known := map[string]bool{"instance": true, "job": true}
	for _, s := range sels {
		labels, ok := schema[s.metric]
		if !ok {
			t.Errorf("%s: unknown metric %s", where, s.metric)
			continue
		}
		for l := range labels {
			known[l] = true
		}
		for _, m := range s.matchers {
			if !labels[m.label] {
				t.Errorf("%s: %s has no label %q", where, s.metric, m.label)
			}
		}
		if !filtered {
			continue
		}
		for _, v := range filterVars {
			if labels[v] && !slices.Contains(s.matchers, matcher{v, "=~", "$" + v}) {
				t.Errorf("%s: %s is not filtered by %s=~\"$%s\"", where, s.metric, v, v)
			}
		}
	}
	for _, l := range groupingLabels(expr) {
		if !known[l] {
			t.Errorf("%s: groups by %q, which no metric of the query has", where, l)
		}
	}
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadAlerts(t *testing.T) []alertRule {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var out []alertRule
	for _, g := range doc.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
	return out
}

func TestAlertsAreDocumented(t *testing.T) {
	severities := []string{"critical", "warning", "info"}
	names := map[string]bool{}
	for _, r := range loadAlerts(t) {
		if r.Alert == "" || names[r.Alert] {
			t.Errorf("rule without a name or repeated: %q", r.Alert)
		}
		names[r.Alert] = true
		if !slices.Contains(severities, r.Labels["severity"]) {
			t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: summary and description annotations are required", r.Alert)
		}
		if r.For == "" {
			t.Errorf("%s: no for: (write for: 0m when it should fire at once)", r.Alert)
		}
	}
	for _, want := range []string{"SwitchyardTargetBreakerOpen", "SwitchyardClientErrorRatioHigh",
		"SwitchyardBudgetNearlyExhausted", "SwitchyardAliasAllTargetsDown", "SwitchyardConfigReloadFailed"} {
		if !names[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestReadmeNamesEveryDashboardAndAlert(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, d := range loadDashboards(t) {
		if !strings.Contains(readme, d.file) || !strings.Contains(readme, d.Title) {
			t.Errorf("README does not present %s (%s)", d.file, d.Title)
		}
	}
	for _, r := range loadAlerts(t) {
		if !strings.Contains(readme, r.Alert) {
			t.Errorf("README does not explain alert %s", r.Alert)
		}
	}
	if !strings.Contains(readme, filepath.Base(alertsFile)) {
		t.Errorf("README does not point to %s", alertsFile)
	}
}
