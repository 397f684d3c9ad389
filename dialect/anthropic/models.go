package anthropic

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/executor"
)

// modelInfo is one model in Anthropic's list shape.
type modelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// ServeModels lists the aliases the caller may use in Anthropic's list shape, as
// Claude Code's model discovery reads it.
func (d *Dialect) ServeModels(w http.ResponseWriter, rec *executor.Record) {
	snap := rec.Snapshot()
	list := struct {
		Data    []modelInfo `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
	}{Data: []modelInfo{}}
	for _, name := range snap.Router.Names() {
		if rec.Caller.Allows(name) {
			list.Data = append(list.Data, infoOf(snap, name))
		}
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
	}
	writeJSON(w, list)
}

// ServeModel describes one alias in Anthropic's shape.
func (d *Dialect) ServeModel(w http.ResponseWriter, rec *executor.Record) {
	id := rec.Request().PathValue("id")
	snap := rec.Snapshot()
	if snap.Router.Alias(id) == nil || !rec.Caller.Allows(id) {
		rec.Fail(w, executor.ModelNotFound(id))
		return
	}
	writeJSON(w, infoOf(snap, id))
}

func infoOf(snap *executor.Snapshot, name string) modelInfo {
	return modelInfo{Type: "model", ID: name, DisplayName: name, CreatedAt: snap.LoadedAt.UTC().Format(time.RFC3339)}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
