package dashboards_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchyard/switchyard/telemetry"
)

// A light reading of PromQL, enough for the queries we write: metric selectors with
// their label matchers, and the label lists of by/on/ignoring/group_*. The real parser
// is Prometheus itself, in the live test.
var (
	selectorRe = regexp.MustCompile(`\b((?:switchyard|process|go)_[a-zA-Z0-9_]+)\s*(\{[^}]*\})?`)
	matcherRe  = regexp.MustCompile(`(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	groupingRe = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	labelVals  = regexp.MustCompile(`^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$`)
)

type selector struct {
	metric   string
	matchers []matcher
}

type matcher struct{ label, op, value string }

func selectors(expr string) []selector {
	var out []selector
	for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
		s := selector{metric: m[1]}
		for _, mm := range matcherRe.FindAllStringSubmatch(m[2], -1) {
			s.matchers = append(s.matchers, matcher{mm[1], mm[2], mm[3]})
		}
		out = append(out, s)
	}
	return out
}

func groupingLabels(expr string) []string {
	var out []string
	for _, m := range groupingRe.FindAllStringSubmatch(expr, -1) {
		for l := range strings.SplitSeq(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// labelValuesAsPromQL turns Grafana's label_values(metric, label) into the PromQL
// that yields the same values.
func labelValuesAsPromQL(q string) string {
	m := labelVals.FindStringSubmatch(q)
	if m == nil {
		return q
	}
	return "group by (" + m[2] + ") (" + m[1] + ")"
}

// metricSchema is every metric name Switchyard exports with its labels, read from the
// telemetry package itself: one child of each vector is created so that the registry
// gathers it. Histograms appear as their _bucket (with le), _sum and _count series.
func metricSchema(t *testing.T) map[string]map[string]bool {
	t.Helper()
	m := telemetry.NewMetrics("test")
	m.WatchTargets(func() []telemetry.TargetState {
		return []telemetry.TargetState{{Provider: "p", Target: "p/m", Aliases: []string{"a"}}}
	})
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		var get func(...string) error
		switch c := v.Field(i).Interface().(type) {
		case *prometheus.CounterVec:
			get = func(l ...string) error { _, err := c.GetMetricWithLabelValues(l...); return err }
		case *prometheus.GaugeVec:
			get = func(l ...string) error { _, err := c.GetMetricWithLabelValues(l...); return err }
		case *prometheus.HistogramVec:
			get = func(l ...string) error { _, err := c.GetMetricWithLabelValues(l...); return err }
		default:
			continue
		}
		created := false
		for n := 0; n <= 8 && !created; n++ { // the first cardinality accepted is the vector's
			created = get(make([]string, n)...) == nil
		}
		if !created {
			t.Fatalf("telemetry.Metrics.%s: no label count accepted", v.Type().Field(i).Name)
		}
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	schema := map[string]map[string]bool{}
	for _, f := range families {
		labels := map[string]bool{}
		for _, lp := range f.GetMetric()[0].GetLabel() {
			labels[lp.GetName()] = true
		}
		name := f.GetName()
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			bucket := map[string]bool{"le": true}
			for l := range labels {
				bucket[l] = true
			}
			schema[name+"_bucket"] = bucket
			schema[name+"_sum"] = labels
			schema[name+"_count"] = labels
		case dto.MetricType_SUMMARY:
			schema[name+"_sum"] = labels
			schema[name+"_count"] = labels
			withQ := map[string]bool{"quantile": true}
			for l := range labels {
				withQ[l] = true
			}
			schema[name] = withQ
		default:
			schema[name] = labels
		}
	}
	return schema
}

func TestMetricSchemaReadsTelemetry(t *testing.T) {
	schema := metricSchema(t)
	want := map[string][]string{
		"switchyard_requests_total":                  {"alias", "team", "provider", "status_class", "api"},
		"switchyard_request_duration_seconds_bucket": {"alias", "stream", "le"},
		"switchyard_breaker_state":                   {"provider", "target"},
		"process_resident_memory_bytes":              nil,
	}
	for name, labels := range want {
		got, ok := schema[name]
		if !ok || len(got) != len(labels) {
			t.Errorf("%s: labels %v, want %v", name, got, labels)
		}
		for _, l := range labels {
			if !got[l] {
				t.Errorf("%s lacks %s", name, l)
			}
		}
	}
	if _, ok := schema["switchyard_request_duration_seconds"]; ok {
		t.Error("a classic histogram has no series under its bare name")
	}
}

func TestSelectorsAndGrouping(t *testing.T) {
	expr := `sum by (alias, le) (rate(switchyard_x_bucket{alias=~"$alias", outcome!="success"}[5m])) ` +
		`* on (instance) group_left (team) go_goroutines`
	sels := selectors(expr)
	if len(sels) != 2 || sels[0].metric != "switchyard_x_bucket" || sels[1].metric != "go_goroutines" ||
		len(sels[0].matchers) != 2 || sels[0].matchers[1] != (matcher{"outcome", "!=", "success"}) {
		t.Errorf("selectors %+v", sels)
	}
	if got := strings.Join(groupingLabels(expr), ","); got != "alias,le,instance,team" {
		t.Errorf("grouping labels %s", got)
	}
	if got := labelValuesAsPromQL("label_values(switchyard_requests_total, team)"); got != "group by (team) (switchyard_requests_total)" {
		t.Errorf("label_values: %s", got)
	}
}
