package openai

import (
	"net/http"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/providers"
)

func (d *Dialect) serveEmbeddings(w http.ResponseWriter, rec *executor.Record, body []byte) {
	r := rec.Request()
	req, err := providers.ParseEmbeddings(body)
	if err != nil {
		rec.Fail(w, executor.ClientError(providers.AsError(err)))
		return
	}
	rec.Requested = req.Model
	a, aerr := d.exe.Admit(r.Context(), rec, executor.Info{Alias: req.Model, PromptTokens: len(req.Input.Raw) / 4,
		Tags: executor.Tags(r, "")})
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	defer d.exe.Settle(rec, a)
	if a.Rate.Allowed {
		executor.SetRateHeaders(w.Header(), &a.Rate)
	}
	run := d.exe.NewRun(rec, a, executor.Work{Embed: &providers.EmbedCall{Body: body, Input: req},
		Header: executor.ForwardHeaders(r)})
	defer run.Close()
	ans, aerr := run.Start()
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	run.Respond(w, ans)
}
