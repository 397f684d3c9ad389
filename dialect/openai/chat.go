package openai

import (
	"encoding/json"
	"net/http"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

func (d *Dialect) serveChat(w http.ResponseWriter, rec *executor.Record, body []byte) {
	r, snap := rec.Request(), rec.Snapshot()
	req, err := providers.ParseChat(body)
	if err != nil {
		rec.Fail(w, executor.ClientError(providers.AsError(err)))
		return
	}
	rec.Requested, rec.Stream = req.Model, req.Stream
	a, aerr := d.exe.Admit(r.Context(), rec, executor.Info{Alias: req.Model,
		PromptTokens: snap.PromptTokens(rec.Caller, req.Messages), MaxTokens: req.MaxTokens, Tools: req.HasTools,
		Images: req.HasImages, Stream: req.Stream,
		Tags: executor.Tags(r, req.Tags)})
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	defer d.exe.Settle(rec, a)
	if a.Decision.MaxTokens > 0 {
		if req, aerr = capMaxTokens(req, a.Decision.MaxTokens); aerr != nil {
			rec.Fail(w, aerr)
			return
		}
	}
	if a.Rate.Allowed {
		executor.SetRateHeaders(w.Header(), &a.Rate)
	}
	use := d.cacheFor(r, rec, a.Plan.Alias, req)
	if use != nil && d.serveFromCache(w, rec, use, req) {
		return
	}
	run := d.exe.NewRun(rec, a, executor.Work{Chat: req, Stream: req.Stream, Header: executor.ForwardHeaders(r)})
	defer run.Close()
	if use != nil {
		d.storeBeforeDone(run, use, req.Stream)
	}
	ans, aerr := run.Start()
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	if ans.Streaming() {
		run.Relay(w, ans, chatSink{includeUsage: req.IncludeUsage})
		return
	}
	run.Respond(w, ans)
}

func withModel(body []byte, model string) ([]byte, *executor.Error) {
	quoted, _ := json.Marshal(model)
	out, err := jsonfield.Set(body, "model", quoted)
	if err != nil {
		return nil, executor.Errorf(http.StatusBadRequest, "invalid_request_error", "", "",
			"We could not parse the JSON body of your request.")
	}
	return out, nil
}

// capMaxTokens lowers the request's max tokens to a rule's cap (see
// providers.Request.CapMaxTokens).
func capMaxTokens(req *providers.Request, limit int) (*providers.Request, *executor.Error) {
	out, err := req.CapMaxTokens(limit)
	if err != nil {
		return nil, executor.ClientError(providers.AsError(err))
	}
	return out, nil
}
