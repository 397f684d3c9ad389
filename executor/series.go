package executor

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/telemetry"
)

// The series every request reports to are resolved once per set of label values:
// WithLabelValues checks, hashes and looks up its labels at each call, eight times
// for a served request. Label values are bounded (aliases, teams, providers,
// targets, outcomes); the series of a runtime team are dropped when it is deleted
// (Forget), from the vectors and from here together, so that a resolved child is
// always the one /metrics shows.

// seriesKey is a set of label values that resolves its children.
type seriesKey[V any] interface {
	comparable
	resolve(m *telemetry.Metrics) V
}

// seriesCache holds the children resolved for each key.
type seriesCache[K seriesKey[V], V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *seriesCache[K, V]) get(m *telemetry.Metrics, k K) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	// Resolved under the lock: a child resolved before forget and stored after it
	// would count where /metrics no longer looks.
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	v = k.resolve(m)
	if c.m == nil {
		c.m = map[K]V{}
	}
	c.m[k] = v
	return v
}

// forget drops the keys that match, and with drop their series from the vectors,
// in one step for the requests that resolve them.
func (c *seriesCache[K, V]) forget(match func(K) bool, drop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	drop()
	for k := range c.m {
		if match(k) {
			delete(c.m, k)
		}
	}
}

// requestKey labels a request's end: its count and its duration.
type requestKey struct {
	alias, team, provider, statusClass, api string
	stream                                  bool
}

type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (k requestKey) resolve(m *telemetry.Metrics) requestSeries {
	stream := "false"
	if k.stream {
		stream = "true"
	}
	return requestSeries{requests: m.Requests.WithLabelValues(k.alias, k.team, k.provider, k.statusClass, k.api),
		duration: m.RequestDuration.WithLabelValues(k.alias, stream)}
}

// tokensKey labels a served request's tokens, reported four at a time.
type tokensKey struct{ alias, provider, team string }

// tokenSeries are input, cached, cache_write and output.
type tokenSeries [4]prometheus.Counter

func (k tokensKey) resolve(m *telemetry.Metrics) tokenSeries {
	var s tokenSeries
	for i, kind := range [...]string{"input", "cached", "cache_write", "output"} {
		s[i] = m.Tokens.WithLabelValues(k.alias, k.provider, k.team, kind)
	}
	return s
}

// attemptKey labels an attempt: its count and its duration.
type attemptKey struct{ alias, provider, target, outcome string }

type attemptSeries struct {
	attempts prometheus.Counter
	duration prometheus.Observer
}

func (k attemptKey) resolve(m *telemetry.Metrics) attemptSeries {
	return attemptSeries{attempts: m.Attempts.WithLabelValues(k.alias, k.provider, k.target, k.outcome),
		duration: m.AttemptDuration.WithLabelValues(k.provider, k.target, k.outcome)}
}

// series are an executor's resolved children.
type series struct {
	requests seriesCache[requestKey, requestSeries]
	tokens   seriesCache[tokensKey, tokenSeries]
	attempts seriesCache[attemptKey, attemptSeries]
}
