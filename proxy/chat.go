package proxy

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange, body []byte) {
	if rt.cfg.Log.Bodies {
		ex.reqBody = body
	}
	req, err := providers.ParseChat(body)
	if err != nil {
		ex.fail(w, clientError(providers.AsError(err)))
		return
	}
	ex.alias, ex.stream = req.Model, req.Stream
	a, aerr := s.admit(r.Context(), rt, ex, requestInfo{alias: req.Model, promptTokens: rt.promptTokens(ex.key, req),
		maxTokens: req.MaxTokens, tools: req.HasTools, images: req.HasImages, stream: req.Stream,
		tags: tagsOf(r, metadataTags(req.Metadata))})
	if aerr != nil {
		ex.fail(w, aerr)
		return
	}
	defer s.settle(rt, ex, a)
	if a.decision.MaxTokens > 0 {
		if req, aerr = capMaxTokens(req, a.decision.MaxTokens); aerr != nil {
			ex.fail(w, aerr)
			return
		}
	}
	if a.rate.Allowed {
		setRateHeaders(w.Header(), &a.rate)
	}
	use := s.cacheFor(r, ex, a.plan.Alias, req)
	if use != nil {
		if e, ok := s.cache.Get(use.key); ok && s.serveCached(w, ex, e, req) {
			s.metrics.CacheRequests.WithLabelValues(ex.alias, "hit").Inc()
			if e.Priced {
				s.metrics.CacheSavings.WithLabelValues(ex.alias).Add(e.Cost)
			}
			ex.priced = true // a hit costs nothing
			return
		}
		s.metrics.CacheRequests.WithLabelValues(ex.alias, "miss").Inc()
		ex.cacheResult = "miss"
		w.Header().Set("X-Switchyard-Cache", "miss")
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), rt.cfg.Resilience.Timeouts.Total, errRequestTimeout)
	defer cancel()
	x := &execution{reqCtx: ctx, s: s, rt: rt, plan: a.plan,
		job: job{chat: req, stream: req.Stream, header: forwardHeaders(r)},
		log: requestLogger(s.log, r)}
	if use != nil {
		s.storeBeforeDone(x, use, req.Stream)
	}
	ex.x = x
	p, aerr := x.run(ctx)
	if aerr != nil {
		ex.fail(w, aerr)
		return
	}
	ex.target = p.target
	if p.resp != nil {
		ex.served = x.writeResponse(w, p)
		if rt.cfg.Log.Bodies {
			ex.respBody = p.resp.Body
		}
	} else {
		s.metrics.InFlight.WithLabelValues("stream").Inc()
		ex.served = x.relayStream(w, p, chatSink{includeUsage: req.IncludeUsage})
		s.metrics.InFlight.WithLabelValues("stream").Dec()
	}
	ex.cost, ex.priced = ex.served.cost, ex.served.priced
}

// resolveAlias finds the alias a client named and checks the key may use it.
func (s *Server) resolveAlias(rt *runtime, key *clientKey, name string) (*policy.Alias, *apiError) {
	alias := rt.router.Alias(name)
	if alias == nil {
		return nil, errorf(http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
			"The model `%s` does not exist or you do not have access to it.", name)
	}
	if !key.Allows(name) {
		return nil, errorf(http.StatusForbidden, "invalid_request_error", "model_not_allowed", "model",
			"Key %q is not allowed to use model `%s`.", key.Name, name)
	}
	return alias, nil
}

// forwardHeaders are the request headers passed upstream: W3C trace context only.
// Everything else, the client's credentials above all, stays here.
func forwardHeaders(r *http.Request) http.Header {
	tp := r.Header.Get("Traceparent")
	if tp == "" {
		return nil
	}
	h := http.Header{"Traceparent": {tp}}
	if ts := r.Header.Get("Tracestate"); ts != "" {
		h["Tracestate"] = []string{ts}
	}
	return h
}

func withModel(body []byte, model string) ([]byte, *apiError) {
	quoted, _ := jsonMarshalString(model)
	out, err := jsonfield.Set(body, "model", quoted)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid_request_error", "", "",
			"We could not parse the JSON body of your request.")
	}
	return out, nil
}

// capMaxTokens lowers the request's max tokens to a rule's cap: the members the
// client sent, or max_completion_tokens when it sent none.
func capMaxTokens(req *providers.Request, limit int) (*providers.Request, *apiError) {
	if req.MaxTokens > 0 && req.MaxTokens <= limit {
		return req, nil
	}
	body := req.Body
	val := []byte(strconv.Itoa(limit))
	var err error
	set := false
	for _, member := range []string{"max_tokens", "max_completion_tokens"} {
		if v, _ := jsonfield.Get(body, member); v != nil && string(v) != "null" {
			if body, err = jsonfield.Set(body, member, val); err != nil {
				return nil, clientError(providers.AsError(err))
			}
			set = true
		}
	}
	if !set {
		if body, err = jsonfield.Set(body, "max_completion_tokens", val); err != nil {
			return nil, clientError(providers.AsError(err))
		}
	}
	out, err := providers.ParseChat(body)
	if err != nil {
		return nil, clientError(providers.AsError(err))
	}
	return out, nil
}

// metadataTags is the "tags" member of a request's metadata, a comma-separated string.
func metadataTags(metadata []byte) string {
	if metadata == nil {
		return ""
	}
	v, _ := jsonfield.Get(metadata, "tags")
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}
