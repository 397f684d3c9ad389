package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/responses"
	"github.com/switchyard/switchyard/state"
)

// The Responses API on top of the chat pipeline: the proxy keeps the conversation,
// turns it into a chat request for whichever target the plan picks (fitted to that
// target's context window), and turns the answer back into a Response.

func (s *Server) owner(ex *exchange) responses.Owner {
	return responses.Owner{Key: ex.key.Name, Team: ex.key.Team}
}

// responsesError answers a responses package error: the client's own (OpenAI
// shaped), or the state store being unreachable.
func (s *Server) responsesError(ex *exchange, w http.ResponseWriter, err error) {
	var perr *providers.Error
	switch {
	case errors.As(err, &perr):
		ex.fail(w, clientError(perr))
	case errors.Is(err, state.ErrUnavailable):
		s.stateError("responses", err)
		ex.fail(w, errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "",
			"Stored conversations are unavailable right now; try again shortly."))
	default:
		s.log.Error("responses store", zap.Error(err))
		ex.fail(w, errorf(http.StatusInternalServerError, "server_error", "", "", "The gateway failed to read or store the conversation."))
	}
}

func (s *Server) serveResponsesCreate(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange, body []byte) {
	req, err := responses.DecodeCreate(body)
	if err != nil {
		ex.fail(w, clientError(providers.AsError(err)))
		return
	}
	ex.alias, ex.stream = req.Model, req.Stream
	turn, err := rt.responses.Begin(r.Context(), req, s.owner(ex))
	if err != nil {
		s.responsesError(ex, w, err)
		return
	}
	est := responses.EstimateJSON(policy.EstimatePromptTokens)
	chat, err := turn.Chat(0, est)
	if err != nil {
		ex.fail(w, clientError(providers.AsError(err)))
		return
	}
	chat.Stream = req.Stream
	base, err := providers.NewRequest(chat)
	if err != nil {
		ex.fail(w, clientError(providers.AsError(err)))
		return
	}
	turns := len(turn.Chain) + 1
	ex.turns = turns
	a, aerr := s.admit(r.Context(), rt, ex, requestInfo{alias: req.Model,
		promptTokens: policy.EstimatePromptTokens(base.Messages), maxTokens: base.MaxTokens, tools: base.HasTools,
		images: base.HasImages, stream: req.Stream, tags: tagsOf(r, req.Metadata["tags"])})
	if aerr != nil {
		ex.fail(w, aerr)
		return
	}
	defer s.settle(rt, ex, a)
	s.metrics.ResponsesTurns.WithLabelValues(ex.alias).Observe(float64(turns))
	if a.rate.Allowed {
		setRateHeaders(w.Header(), &a.rate)
	}
	a.plan.PreferFit()

	ctx, cancel := context.WithTimeoutCause(r.Context(), rt.cfg.Resilience.Timeouts.Total, errRequestTimeout)
	defer cancel()
	x := &execution{reqCtx: ctx, s: s, rt: rt, plan: a.plan,
		job: job{chat: base, chatFor: fitted(turn, est, base, req.Stream, a.decision.MaxTokens), stream: req.Stream,
			header: forwardHeaders(r)},
		log: s.log.With(zap.String("request_id", r.Header.Get("X-Request-Id")))}
	ex.x = x
	p, aerr := x.run(ctx)
	if aerr != nil {
		ex.fail(w, aerr)
		return
	}
	ex.target = p.target
	// The response is stored before its end reaches the client, so that the next
	// turn (on any replica) finds it.
	save := func(final *responses.Response) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*rt.cfg.State.Timeout)
		defer cancel()
		if _, err := rt.responses.Save(ctx, turn, final); err != nil {
			s.stateError("responses", err)
		}
	}
	if p.resp != nil {
		s.writeResponsesAnswer(w, x, ex, p, turn, save)
	} else {
		s.metrics.InFlight.WithLabelValues("stream").Inc()
		ex.served = x.relayStream(w, p, &responsesSink{b: turn.Stream(), save: save})
		s.metrics.InFlight.WithLabelValues("stream").Dec()
	}
	ex.cost, ex.priced = ex.served.cost, ex.served.priced
}

// fitted builds each target's chat request: the conversation fitted to its context
// window (truncation: auto drops the oldest turns), computed once per window size.
func fitted(turn *responses.Turn, est responses.Estimator, base *providers.Request, stream bool, maxTokens int) func(*policy.Target) (*providers.Request, error) {
	var mu sync.Mutex
	byWindow := map[int]*providers.Request{0: base}
	return func(t *policy.Target) (*providers.Request, error) {
		mu.Lock()
		defer mu.Unlock()
		if r, ok := byWindow[t.ContextWindow]; ok {
			return r, nil
		}
		chat, err := turn.Chat(t.ContextWindow, est)
		if err != nil {
			return nil, err
		}
		chat.Stream = stream
		r, err := providers.NewRequest(chat)
		if err != nil {
			return nil, err
		}
		if maxTokens > 0 {
			if r, err = capRequest(r, maxTokens); err != nil {
				return nil, err
			}
		}
		byWindow[t.ContextWindow] = r
		return r, nil
	}
}

// capRequest applies a rule's max_tokens cap to a built request.
func capRequest(r *providers.Request, limit int) (*providers.Request, error) {
	out, aerr := capMaxTokens(r, limit)
	if aerr != nil {
		return nil, providers.InvalidRequest("", aerr.Message)
	}
	return out, nil
}

// writeResponsesAnswer turns a chat completion into the Response, stores it, and
// writes it.
func (s *Server) writeResponsesAnswer(w http.ResponseWriter, x *execution, ex *exchange, p *prepared, turn *responses.Turn,
	save func(*responses.Response)) {
	final, err := turn.CompleteJSON(p.resp.Body)
	if err != nil {
		p.report(true, false)
		p.release()
		ex.fail(w, errorf(http.StatusBadGateway, "server_error", "upstream_error", "", "The upstream answer could not be read."))
		return
	}
	body, err := json.Marshal(final)
	if err != nil {
		p.release()
		ex.fail(w, errorf(http.StatusInternalServerError, "server_error", "", "", "Encoding the response failed."))
		return
	}
	save(final)
	p.resp.Body = body // writeResponse sends it, with the served headers and cost
	ex.served = x.writeResponse(w, p)
}

// responsesSink renders a relayed chat stream as Responses API events.
type responsesSink struct {
	b *responses.StreamBuilder
	// save stores the final Response before the terminal event is written.
	save  func(*responses.Response)
	began bool
}

func (r *responsesSink) start(w io.Writer) error {
	if r.began {
		return nil
	}
	r.began = true
	_, err := w.Write(r.b.Start())
	return err
}

func (r *responsesSink) chunk(w io.Writer, data []byte, _ bool) error {
	if err := r.start(w); err != nil {
		return err
	}
	ev, err := r.b.Chunk(data)
	if err != nil {
		return err
	}
	_, err = w.Write(ev)
	return err
}

func (r *responsesSink) done(w io.Writer) error {
	if err := r.start(w); err != nil {
		return err
	}
	ev, final := r.b.Finish()
	r.save(final)
	_, err := w.Write(ev)
	return err
}

func (r *responsesSink) fail(w io.Writer, e *providers.Error) error {
	if err := r.start(w); err != nil {
		return err
	}
	ev, final := r.b.Fail(e)
	r.save(final)
	_, err := w.Write(ev)
	return err
}

func (s *Server) handleResponsesGet(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange) {
	rec, err := rt.responses.Get(r.Context(), r.PathValue("id"), s.owner(ex))
	if err != nil {
		s.responsesError(ex, w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec.Response)
}

func (s *Server) handleResponsesDelete(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange) {
	id := r.PathValue("id")
	if err := rt.responses.Delete(r.Context(), id, s.owner(ex)); err != nil {
		s.responsesError(ex, w, err)
		return
	}
	writeJSON(w, http.StatusOK, responses.DeletedResponse(id))
}

func (s *Server) handleResponsesInputItems(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange) {
	params, err := responses.ParseListParams(r.URL.Query())
	if err != nil {
		s.responsesError(ex, w, err)
		return
	}
	list, err := rt.responses.InputItems(r.Context(), r.PathValue("id"), s.owner(ex), params)
	if err != nil {
		s.responsesError(ex, w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}
