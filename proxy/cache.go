package proxy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/cache"
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
func (s *Server) cacheFor(r *http.Request, ex *exchange, alias *policy.Alias, req *providers.Request) *cacheUse {
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
		opts.TTL = ex.rt.cfg.Cache.TTL
	}
	key, ok := opts.Key(ex.key.Name, alias.Name, req)
	if !ok {
		return nil
	}
	return &cacheUse{key: key, ttl: opts.TTL}
}

// serveCached answers from the cache: the stored completion, or its replay as a
// stream. A hit costs nothing; the usage reported is the original answer's.
// It returns false when the entry cannot be served in the form asked (a stream
// replay the cache refuses): the request then goes upstream.
func (s *Server) serveCached(w http.ResponseWriter, ex *exchange, e *cache.Entry, req *providers.Request) bool {
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
	ex.served = served{usage: e.Usage, usageKnown: true, priced: true}
	ex.cacheResult = "hit"
	if !req.Stream {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(e.Completion)))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(e.Completion)
		ex.served.clientGone = err != nil
		return true
	}
	h.Set("Content-Type", sseHeaderCT)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sink := chatSink{includeUsage: req.IncludeUsage}
	var err error
	for _, c := range chunks {
		if ex.served.firstToken.IsZero() && !c.UsageOnly {
			ex.served.firstToken = time.Now()
		}
		if err = sink.chunk(w, c.Data, c.UsageOnly); err != nil {
			break
		}
	}
	if err == nil {
		err = sink.done(w)
	}
	ex.served.clientGone = err != nil || rc.Flush() != nil
	return true
}

// storeBeforeDone stores a complete answer in the cache just before its end reaches
// the client, so that the client's next request finds it: a non-streamed answer as
// it is, a stream as the completion its chunks assemble into.
func (s *Server) storeBeforeDone(x *execution, use *cacheUse, stream bool) {
	if stream {
		x.tap = &cache.Assembler{}
	}
	x.beforeDone = func(t *policy.Target, out *served, body []byte) {
		e := &cache.Entry{Usage: out.usage, Cost: out.cost, Priced: out.priced, Provider: t.ProviderName, Model: t.Model}
		if !stream {
			e.Completion = body
		} else {
			completion, err := x.tap.Completion()
			if err != nil {
				return
			}
			e.Completion = completion
			e.Cost, e.Priced = x.streamCost(t, out)
		}
		if e.Completion != nil {
			s.cache.Put(use.key, e, use.ttl)
		}
	}
}
