package proxy

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchyard/switchyard/providers"
)

func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange, body []byte) {
	var req providers.EmbeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		ex.fail(w, errorf(http.StatusBadRequest, "invalid_request_error", "", "",
			"We could not parse the JSON body of your request."))
		return
	}
	if req.Model == "" {
		ex.fail(w, errorf(http.StatusBadRequest, "invalid_request_error", "", "model", "you must provide a model parameter"))
		return
	}
	if req.Input.Raw == nil || string(req.Input.Raw) == "null" {
		ex.fail(w, errorf(http.StatusBadRequest, "invalid_request_error", "", "input", "'input' is a required property"))
		return
	}
	ex.alias = req.Model
	a, aerr := s.admit(r.Context(), rt, ex, requestInfo{alias: req.Model, promptTokens: len(req.Input.Raw) / 4,
		tags: tagsOf(r, "")})
	if aerr != nil {
		ex.fail(w, aerr)
		return
	}
	defer s.settle(rt, ex, a)
	if a.rate.Allowed {
		setRateHeaders(w.Header(), &a.rate)
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), rt.cfg.Resilience.Timeouts.Total, errRequestTimeout)
	defer cancel()
	x := &execution{reqCtx: ctx, s: s, rt: rt, plan: a.plan,
		job: job{embed: &providers.EmbedCall{Body: body, Input: &req}, header: forwardHeaders(r)},
		log: requestLogger(s.log, r)}
	ex.x = x
	p, aerr := x.run(ctx)
	if aerr != nil {
		ex.fail(w, aerr)
		return
	}
	ex.target = p.target
	ex.served = x.writeResponse(w, p)
	ex.cost, ex.priced = ex.served.cost, ex.served.priced
}
