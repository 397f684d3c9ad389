package openai

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// cacheUse is a request's part in the response cache: its key and how long an
// answer stored under it lives.
type cacheUse struct {
	key string
	ttl time.Duration
}

// cacheFor decides whether a request uses the response cache: the alias opts in
// (models[].cache.enabled), and a request may opt in or out with the header
// X-Switchyard-Cache: on | off. Only requests the cache can answer faithfully
// qualify (temperature 0 unless any_temperature, n = 1).
func (d *Dialect) cacheFor(r *http.Request, rec *executor.Record, alias *policy.Alias, req *providers.Request) *cacheUse {
	mc := alias.Cache
	on := mc.Enabled
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("X-Switchyard-Cache"))) {
	case "on", "use", "true":
		on = true
	case "off", "bypass", "no-store", "false":
		on = false
	}
	if !on {
		return nil
	}
	opts := cache.Options{TTL: mc.TTL, AnyTemperature: mc.AnyTemperature, Shared: mc.Shared}
	if opts.TTL <= 0 {
		opts.TTL = rec.Snapshot().Config.Cache.TTL
	}
	key, ok := opts.Key(rec.Caller.Name, alias.Name, req)
	if !ok {
		return nil
	}
	return &cacheUse{key: key, ttl: opts.TTL}
}

// serveFromCache answers from the cache when it holds the request's answer, and
// counts the lookup. It returns false on a miss: the request goes upstream.
func (d *Dialect) serveFromCache(w http.ResponseWriter, rec *executor.Record, use *cacheUse, req *providers.Request) bool {
	m := d.exe.Metrics()
	if e, ok := d.exe.Cache().Get(use.key); ok && d.serveCached(w, rec, e, req) {
		m.CacheRequests.WithLabelValues(rec.Alias, "hit").Inc()
		if e.Priced {
			m.CacheSavings.WithLabelValues(rec.Alias).Add(e.Cost)
		}
		return true
	}
	m.CacheRequests.WithLabelValues(rec.Alias, "miss").Inc()
	rec.CacheResult = "miss"
	w.Header().Set("X-Switchyard-Cache", "miss")
	return false
}

// serveCached answers from the cache: the stored completion, or its replay as a
// stream. A hit costs nothing; the usage reported is the original answer's.
// It returns false when the entry cannot be served in the form asked (a stream
// replay the cache refuses).
func (d *Dialect) serveCached(w http.ResponseWriter, rec *executor.Record, e *cache.Entry, req *providers.Request) bool {
	var chunks []providers.Chunk
	if req.Stream {
		var err error
		if chunks, err = cache.Replay(e); err != nil {
			return false
		}
	}
	h := w.Header()
	h.Set("X-Switchyard-Cache", "hit")
	h.Set("X-Switchyard-Provider", e.Provider)
	h.Set("X-Switchyard-Model", e.Model)
	h.Set("X-Switchyard-Attempts", "0")
	h.Set("X-Switchyard-Cost-Usd", "0")
	out := &rec.Outcome
	*out = executor.Outcome{Usage: e.Usage, UsageKnown: true, Priced: true} // a hit costs nothing
	rec.CacheResult = "hit"
	rc := http.NewResponseController(w)
	executor.ArmWrite(rc, rec.Snapshot().Config.ClientTimeouts.Write)
	if !req.Stream {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(e.Completion)))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(e.Completion)
		out.ClientGone = err != nil
		return true
	}
	h.Set("Content-Type", executor.SSEContentType)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	sink := chatSink{includeUsage: req.IncludeUsage}
	var err error
	for _, c := range chunks {
		if out.FirstToken.IsZero() && !c.UsageOnly {
			out.FirstToken = time.Now()
		}
		if err = sink.Chunk(w, c); err != nil {
			break
		}
	}
	if err == nil {
		err = sink.Done(w)
	}
	out.ClientGone = err != nil || rc.Flush() != nil
	return true
}

// storeBeforeDone stores a complete answer in the cache just before its end reaches
// the client, so that the client's next request finds it: a non-streamed answer as
// it is, a stream as the completion its chunks assemble into.
func (d *Dialect) storeBeforeDone(run *executor.Run, use *cacheUse, stream bool) {
	if stream {
		run.Tap = &cache.Assembler{}
	}
	run.BeforeDone = func(t *policy.Target, out *executor.Outcome, body []byte) {
		e := &cache.Entry{Usage: out.Usage, Cost: out.Cost, Priced: out.Priced, Provider: t.ProviderName, Model: t.Model}
		if !stream {
			e.Completion = body
		} else {
			completion, err := run.Tap.Completion()
			if err != nil {
				return
			}
			e.Completion = completion
			e.Cost, e.Priced = run.StreamCost(t, out)
		}
		if e.Completion != nil {
			d.exe.Cache().Put(use.key, e, use.ttl)
		}
	}
}
