package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Script queues answers that the next requests get, in order, instead of the
// responder's: their content blocks are sent byte for byte (see ClaudeReply).
// Faults apply to them as usual.
func (a *Anthropic) Script(replies ...ClaudeReply) { a.script.add(replies) }

func (h *anthropicHandler) scripted(w http.ResponseWriter, r *http.Request, id string, req *anthropicRequest, p *Prompt, sc ClaudeReply, f Fault) {
	ans, msg := answerFromScript(p, sc)
	if msg != "" {
		h.error(w, http.StatusInternalServerError, "api_error", msg)
		return
	}
	if req.Stream {
		writeClaudeSSE(w, r, h.b, "req_"+id, ans.events(id, req.Model, nil), f)
		return
	}
	w.Header().Set("Request-Id", "req_"+id)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ans.message(id, req.Model))
}

// countTokens serves POST /v1/messages/count_tokens
// (https://platform.claude.com/docs/en/api/messages-count-tokens): the request of
// Messages without max_tokens, answered {"input_tokens": N} with the count the
// same request's usage reports. Faults apply as to messages.
func (h *anthropicHandler) countTokens(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key = bearer(r)
	}
	if h.opts.APIKey != "" && key != h.opts.APIKey {
		h.b.admit(r, nil)
		h.error(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	body := readBody(r)
	fault, faulty := h.b.admit(r, body)
	version := r.Header.Get("Anthropic-Version")
	if version == "" {
		h.invalid(w, "anthropic-version: header is required")
		return
	}
	tokens, msg := countPrompt(body, version)
	if msg != "" {
		h.invalid(w, msg)
		return
	}
	if faulty {
		if !h.b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 {
			h.fault(w, fault)
			return
		}
	}
	w.Header().Set("Request-Id", fmt.Sprintf("req_%s_count_%d", h.b.Name, h.ids.Add(1)))
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": tokens})
}

// countPrompt validates a count_tokens body as the API does (max_tokens is not
// one of its members) and counts its prompt.
func countPrompt(body []byte, version string) (int, string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return 0, "There was an issue with the format or content of your request: " + err.Error()
	}
	for _, k := range []string{"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences"} {
		if _, ok := members[k]; ok {
			return 0, k + ": Extra inputs are not permitted"
		}
	}
	members["max_tokens"] = json.RawMessage("1") // the Messages validation needs one
	_, p, msg := claudePrompt(mustJSON(members), "", version)
	if msg != "" {
		return 0, msg
	}
	return p.PromptTokens(), ""
}
