package proxy

import (
	"encoding/json"
	"net/http"
)

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// handleModels lists the aliases this key may use, in OpenAI's list shape.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange) {
	key := keyFrom(r.Context())
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: []modelObject{}}
	for _, name := range rt.router.Names() {
		if key.Allows(name) {
			list.Data = append(list.Data, s.modelObject(rt, name))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// handleModel describes one alias; another key's aliases do not exist for this one.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request, rt *runtime, ex *exchange) {
	id := r.PathValue("id")
	if rt.router.Alias(id) == nil || !keyFrom(r.Context()).Allows(id) {
		ex.fail(w, errorf(http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
			"The model '%s' does not exist", id))
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject(rt, id))
}

func (s *Server) modelObject(rt *runtime, name string) modelObject {
	return modelObject{ID: name, Object: "model", Created: rt.loadedAt.Unix(), OwnedBy: "switchyard"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonMarshalString(s string) ([]byte, error) { return json.Marshal(s) }
