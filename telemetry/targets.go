package telemetry

import "github.com/prometheus/client_golang/prometheus"

// TargetState is what a scrape reports of one target.
type TargetState struct {
	Provider string
	Target   string
	// Aliases serve through the target.
	Aliases []string
	// Breaker is 0 closed, 1 half-open, 2 open.
	Breaker     int
	CoolingDown bool
	SuccessRate float64
}

// targetCollector reads target state at scrape time, so that an open breaker past its
// timeout reads half-open without a timer, and removed targets vanish after a reload.
type targetCollector struct {
	list                         func() []TargetState
	breaker, cooling, rate, info *prometheus.Desc
}

// WatchTargets exports the state of the targets list returns at each scrape.
func (m *Metrics) WatchTargets(list func() []TargetState) {
	labels := []string{"provider", "target"}
	m.Registry.MustRegister(&targetCollector{
		list: list,
		breaker: prometheus.NewDesc("switchyard_breaker_state",
			"Circuit breaker state per target: 0 closed, 1 half-open, 2 open.", labels, nil),
		cooling: prometheus.NewDesc("switchyard_target_cooling_down",
			"1 while a target rests after a rate limit (Retry-After), else 0.", labels, nil),
		rate: prometheus.NewDesc("switchyard_target_success_ratio",
			"Recent share of successful attempts per target (moving average).", labels, nil),
		info: prometheus.NewDesc("switchyard_target_info",
			"1 for every alias served through a target: joins target series to aliases.", []string{"alias", "provider", "target"}, nil),
	})
}

func (c *targetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.breaker
	ch <- c.cooling
	ch <- c.rate
	ch <- c.info
}

func (c *targetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.list() {
		cooling := 0.0
		if t.CoolingDown {
			cooling = 1
		}
		ch <- prometheus.MustNewConstMetric(c.breaker, prometheus.GaugeValue, float64(t.Breaker), t.Provider, t.Target)
		ch <- prometheus.MustNewConstMetric(c.cooling, prometheus.GaugeValue, cooling, t.Provider, t.Target)
		ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, t.SuccessRate, t.Provider, t.Target)
		for _, a := range t.Aliases {
			ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, a, t.Provider, t.Target)
		}
	}
}
