package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/responses"
	"github.com/switchyard/switchyard/state"
)

// The Responses API on top of the chat pipeline: the gateway keeps the conversation,
// turns it into a chat request for whichever target the plan picks (fitted to that
// target's context window), and turns the answer back into a Response.

func owner(rec *executor.Record) responses.Owner {
	return responses.Owner{Key: rec.Caller.Name, Team: rec.Caller.Team}
}

// responsesError answers a responses package error: the client's own (OpenAI
// shaped), or the state store being unreachable.
func (d *Dialect) responsesError(w http.ResponseWriter, rec *executor.Record, err error) {
	var perr *providers.Error
	switch {
	case errors.As(err, &perr):
		rec.Fail(w, executor.ClientError(perr))
	case errors.Is(err, state.ErrUnavailable):
		d.exe.StateError(rec.Snapshot(), "responses", err)
		rec.Fail(w, executor.Errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "",
			"Stored conversations are unavailable right now; try again shortly."))
	default:
		d.exe.StateError(rec.Snapshot(), "responses", err)
		rec.Fail(w, executor.Errorf(http.StatusInternalServerError, "server_error", "", "", "The gateway failed to read or store the conversation."))
	}
}

func (d *Dialect) serveResponsesCreate(w http.ResponseWriter, rec *executor.Record, body []byte) {
	r, snap := rec.Request(), rec.Snapshot()
	req, err := responses.DecodeCreate(body)
	if err != nil {
		rec.Fail(w, executor.ClientError(providers.AsError(err)))
		return
	}
	rec.Requested, rec.Stream = req.Model, req.Stream
	turn, err := snap.Responses.Begin(r.Context(), req, owner(rec))
	if err != nil {
		d.responsesError(w, rec, err)
		return
	}
	est := responses.EstimateJSON(policy.EstimatePromptTokens)
	chat, err := turn.Chat(0, est)
	if err != nil {
		rec.Fail(w, executor.ClientError(providers.AsError(err)))
		return
	}
	chat.Stream = req.Stream
	base, err := providers.NewRequest(chat)
	if err != nil {
		rec.Fail(w, executor.ClientError(providers.AsError(err)))
		return
	}
	rec.Turns = len(turn.Chain) + 1
	a, aerr := d.exe.Admit(r.Context(), rec, executor.Info{Alias: req.Model,
		PromptTokens: policy.EstimatePromptTokens(base.Messages), MaxTokens: base.MaxTokens, Tools: base.HasTools,
		Images: base.HasImages, Stream: req.Stream,
		Tags: executor.Tags(r, req.Metadata["tags"])})
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	defer d.exe.Settle(rec, a)
	d.exe.Metrics().ResponsesTurns.WithLabelValues(rec.Alias).Observe(float64(rec.Turns))
	if a.Rate.Allowed {
		executor.SetRateHeaders(w.Header(), &a.Rate)
	}
	a.Plan.PreferFit()

	run := d.exe.NewRun(rec, a, executor.Work{Chat: base, ChatFor: fitted(turn, est, base, req.Stream, a.Decision.MaxTokens),
		Stream: req.Stream, Header: executor.ForwardHeaders(r)})
	defer run.Close()
	ans, aerr := run.Start()
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	// The response is stored before its end reaches the client, so that the next
	// turn (on any replica) finds it; one that could not be stored is never
	// answered as a success.
	save := func(final *responses.Response) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*snap.Config.State.Timeout)
		defer cancel()
		_, err := snap.Responses.Save(ctx, turn, final)
		if err != nil {
			d.exe.StateError(snap, "responses", err)
		}
		return err
	}
	if ans.Streaming() {
		sink := &responsesSink{b: turn.Stream(), save: save}
		run.Relay(w, ans, sink)
		if sink.notStored != nil && rec.Outcome.StreamErr == nil {
			// The stream ended with response.failed: the client saw an error.
			rec.Outcome.StreamErr = &providers.Error{Class: providers.ClassLocal, Message: responses.NotStored, Err: sink.notStored}
		}
		return
	}
	final, err := turn.CompleteJSON(ans.Response.Body)
	if err != nil {
		ans.Reject(true)
		rec.Fail(w, executor.Errorf(http.StatusBadGateway, "server_error", "upstream_error", "", "The upstream answer could not be read."))
		return
	}
	out, err := json.Marshal(final)
	if err != nil {
		ans.Reject(false)
		rec.Fail(w, executor.Errorf(http.StatusInternalServerError, "server_error", "", "", "Encoding the response failed."))
		return
	}
	if err := save(final); err != nil {
		// The client gets no id of a response that does not exist; the answer was
		// paid for, and counts against budgets.
		run.Withhold(ans)
		rec.Fail(w, executor.Errorf(http.StatusServiceUnavailable, "server_error", "state_unavailable", "", "%s", responses.NotStored))
		return
	}
	ans.Response.Body = out // Respond sends it, with the served headers and cost
	run.Respond(w, ans)
}

// fitted builds each target's chat request: the conversation fitted to its context
// window (truncation: auto drops the oldest turns), computed once per window size,
// with a rule's max_tokens cap. A conversation that fits whole is the same request
// for every window: base, built once.
func fitted(turn *responses.Turn, est responses.Estimator, base *providers.Request, stream bool, maxTokens int) func(*policy.Target) (*providers.Request, error) {
	var mu sync.Mutex
	byWindow := map[int]*providers.Request{}
	capped := func(r *providers.Request) (*providers.Request, error) {
		if maxTokens > 0 {
			return capRequest(r, maxTokens)
		}
		return r, nil
	}
	var get func(window int) (*providers.Request, error)
	get = func(window int) (*providers.Request, error) {
		if r, ok := byWindow[window]; ok {
			return r, nil
		}
		var r *providers.Request
		var err error
		switch whole, ferr := turn.Whole(window, est); {
		case ferr != nil:
			return nil, ferr
		case window == 0:
			r, err = capped(base)
		case whole:
			r, err = get(0)
		default:
			var chat *providers.ChatRequest
			if chat, err = turn.Chat(window, est); err == nil {
				chat.Stream = stream
				if r, err = providers.NewRequest(chat); err == nil {
					r, err = capped(r)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		byWindow[window] = r
		return r, nil
	}
	return func(t *policy.Target) (*providers.Request, error) {
		mu.Lock()
		defer mu.Unlock()
		return get(t.ContextWindow)
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

// responsesSink renders a relayed chat stream as Responses API events.
type responsesSink struct {
	b *responses.StreamBuilder
	// save stores the final Response before the terminal event is written.
	save  func(*responses.Response) error
	began bool
	// notStored is save's failure: the stream ended with response.failed.
	notStored error
}

func (r *responsesSink) start(w io.Writer) error {
	if r.began {
		return nil
	}
	r.began = true
	_, err := w.Write(r.b.Start())
	return err
}

func (r *responsesSink) Chunk(w io.Writer, c providers.Chunk) error {
	if err := r.start(w); err != nil {
		return err
	}
	ev, err := r.b.Chunk(c.Data)
	if err != nil {
		return err
	}
	_, err = w.Write(ev)
	return err
}

func (r *responsesSink) Done(w io.Writer) error {
	if err := r.start(w); err != nil {
		return err
	}
	ev, _, err := r.b.FinishSaved(r.save)
	r.notStored = err
	_, err = w.Write(ev)
	return err
}

func (r *responsesSink) Fail(w io.Writer, e *providers.Error) error {
	if err := r.start(w); err != nil {
		return err
	}
	ev, final := r.b.Fail(e)
	_ = r.save(final) // the stream failed anyway; a store failure is counted by save
	_, err := w.Write(ev)
	return err
}

func (d *Dialect) serveResponsesGet(w http.ResponseWriter, rec *executor.Record) {
	stored, err := rec.Snapshot().Responses.Get(rec.Request().Context(), rec.Request().PathValue("id"), owner(rec))
	if err != nil {
		d.responsesError(w, rec, err)
		return
	}
	writeJSON(w, http.StatusOK, stored.Response)
}

func (d *Dialect) serveResponsesDelete(w http.ResponseWriter, rec *executor.Record) {
	id := rec.Request().PathValue("id")
	if err := rec.Snapshot().Responses.Delete(rec.Request().Context(), id, owner(rec)); err != nil {
		d.responsesError(w, rec, err)
		return
	}
	writeJSON(w, http.StatusOK, responses.DeletedResponse(id))
}

func (d *Dialect) serveResponsesInputItems(w http.ResponseWriter, rec *executor.Record) {
	params, err := responses.ParseListParams(rec.Request().URL.Query())
	if err != nil {
		d.responsesError(w, rec, err)
		return
	}
	list, err := rec.Snapshot().Responses.InputItems(rec.Request().Context(), rec.Request().PathValue("id"), owner(rec), params)
	if err != nil {
		d.responsesError(w, rec, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}
