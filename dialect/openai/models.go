package openai

import (
	"net/http"

	"github.com/switchyard/switchyard/executor"
)

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ServeModels lists the aliases the caller may use, in OpenAI's list shape.
func (d *Dialect) ServeModels(w http.ResponseWriter, rec *executor.Record) {
	snap := rec.Snapshot()
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: []modelObject{}}
	for _, name := range snap.Router.Names() {
		if rec.Caller.Allows(name) {
			list.Data = append(list.Data, modelOf(snap, name))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// serveModel describes one alias; another key's aliases do not exist for this one.
func (d *Dialect) serveModel(w http.ResponseWriter, rec *executor.Record) {
	id := rec.Request().PathValue("id")
	snap := rec.Snapshot()
	if snap.Router.Alias(id) == nil || !rec.Caller.Allows(id) {
		rec.Fail(w, executor.ModelNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, modelOf(snap, id))
}

func modelOf(snap *executor.Snapshot, name string) modelObject {
	return modelObject{ID: name, Object: "model", Created: snap.LoadedAt.Unix(), OwnedBy: "switchyard"}
}
