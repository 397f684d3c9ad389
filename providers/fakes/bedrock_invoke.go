package fakes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Claude on Bedrock with Anthropic's Messages body
// (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html):
// InvokeModel answers the Message JSON; InvokeModelWithResponseStream sends each
// Anthropic stream event as a "chunk" event whose payload is {"bytes": base64 of
// the event JSON, "p": padding}, message_stop carrying
// amazon-bedrock-invocationMetrics; CountTokens (API_runtime_CountTokens.html)
// counts an InvokeModel body or a Converse input. The body must carry
// "anthropic_version": "bedrock-2023-05-31" (or an Anthropic API version date,
// which the official SDK v2 sends) and neither "model" nor "stream";
// "anthropic_beta" flags outside Bedrock's list are refused with Bedrock's 400,
// ValidationException "invalid beta flag".

// bedrockClaudeBeta are the anthropic_beta values the emulated Bedrock accepts:
// the list of the page above.
var bedrockClaudeBeta = []string{
	"computer-use-2024-10-22", "computer-use-2025-01-24", "computer-use-2025-11-24",
	"token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14", "output-128k-2025-02-19",
	"dev-full-thinking-2025-05-14", "context-1m-2025-08-07", "context-management-2025-06-27",
	"effort-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29",
}

// Script queues Claude answers (InvokeModel and its stream) that the next
// requests get, in order, instead of the responder's.
func (br *Bedrock) Script(replies ...ClaudeReply) { br.script.add(replies) }

func (h *bedrockHandler) invokeStream(w http.ResponseWriter, r *http.Request, body []byte) {
	fault, faulty := h.b.admit(r, body)
	model := r.PathValue("modelId")
	if !strings.Contains(model, "anthropic.claude") {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "The provided model identifier is invalid.", 0)
		return
	}
	h.claude(w, r, model, body, fault, faulty, true)
}

// claudeInvokePrompt validates an InvokeModel body for Claude; problem is the
// ValidationException message of a body Bedrock refuses.
func claudeInvokePrompt(model string, body []byte) (*Prompt, string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, "Malformed input request, please reformat your input and try again."
	}
	var version string
	if err := json.Unmarshal(members["anthropic_version"], &version); err != nil || members["anthropic_version"] == nil {
		return nil, "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again."
	}
	apiVersion, ok := bodyVersion(version, "bedrock-2023-05-31")
	if !ok {
		return nil, fmt.Sprintf("Malformed input request: #/anthropic_version: %s is not a valid enum value, please reformat your input and try again.", version)
	}
	for _, k := range []string{"model", "stream"} {
		if _, ok := members[k]; ok {
			return nil, "Malformed input request: #: extraneous key [" + k + "] is not permitted, please reformat your input and try again."
		}
	}
	if raw, ok := members["anthropic_beta"]; ok {
		var flags []string
		if err := json.Unmarshal(raw, &flags); err != nil {
			return nil, "Malformed input request: #/anthropic_beta: expected type: JSONArray, please reformat your input and try again."
		}
		for _, f := range flags {
			if !slices.Contains(bedrockClaudeBeta, f) {
				return nil, "invalid beta flag"
			}
		}
	}
	_, p, msg := claudePrompt(body, model, apiVersion)
	if msg != "" {
		return nil, msg
	}
	return p, ""
}

// claudeName is the model name Bedrock's Claude answers carry: the id without
// its geography, provider prefix and version suffix.
func claudeName(model string) string {
	if i := strings.Index(model, "anthropic."); i >= 0 {
		model = model[i+len("anthropic."):]
	}
	if i := strings.LastIndex(model, "-v"); i > 0 && strings.Contains(model[i:], ":") {
		model = model[:i]
	}
	return model
}

// claude serves InvokeModel (stream false) or its stream for a Claude model.
func (h *bedrockHandler) claude(w http.ResponseWriter, r *http.Request, model string, body []byte, fault Fault, faulty bool, stream bool) {
	p, problem := claudeInvokePrompt(model, body)
	if problem != "" {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", problem, 0)
		return
	}
	if h.opts.ContextWindow > 0 && p.PromptTokens() > h.opts.ContextWindow {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "Input is too long for requested model.", 0)
		return
	}
	midStream := stream && fault.CutAfter != 0
	if faulty {
		if !h.b.preamble(w, r, fault) {
			return
		}
		if fault.Status != 0 && !midStream {
			h.fault(w, fault)
			return
		}
	}
	ans, problem := h.claudeAnswer(p)
	if problem != "" {
		writeBedrockError(w, http.StatusInternalServerError, "InternalServerException", problem, 0)
		return
	}
	id := fmt.Sprintf("msg_bdrk_%s_%d", h.b.Name, h.ids.Add(1))
	w.Header().Set("X-Amzn-RequestId", requestID())
	if !stream {
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(ans.usage.InputTokens))
		w.Header().Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(ans.usage.OutputTokens))
		w.Header().Set("X-Amzn-Bedrock-Invocation-Latency", "42")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(ans.message(id, claudeName(model)))
		return
	}
	metrics := map[string]any{"amazon-bedrock-invocationMetrics": map[string]any{
		"inputTokenCount": ans.usage.InputTokens, "outputTokenCount": ans.usage.OutputTokens,
		"invocationLatency": 42, "firstByteLatency": 21}}
	h.chunks(w, r, ans.events(id, claudeName(model), metrics), fault)
}

// claudeAnswer is the scripted answer if one is queued, else the responder's.
func (h *bedrockHandler) claudeAnswer(p *Prompt) (claudeAnswer, string) {
	if sc, ok := h.script.next(); ok {
		return answerFromScript(p, sc)
	}
	reply, stopSeq := (&anthropicHandler{b: h.b}).reply(p)
	return answerFromReply(p, reply, stopSeq), ""
}

// chunks writes events as InvokeModelWithResponseStream does; a fault with
// CutAfter ends the stream after that many, with the stream exception its Code
// names (throttlingException, modelStreamErrorException, ...) when it names one.
func (h *bedrockHandler) chunks(w http.ResponseWriter, r *http.Request, events []anthropicEvent, f Fault) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amzn-Bedrock-Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if f.CutAfter < 0 {
		_ = rc.Flush()
		return
	}
	enc := eventstream.NewEncoder()
	for i, ev := range events {
		if f.CutAfter > 0 && i >= f.CutAfter {
			if isStreamException(f.Code) {
				_ = writeFrame(w, rc, enc, exceptionMessage(f.Code, cmp(f.Message, "The stream failed: "+f.Code)))
			}
			return
		}
		if i > 0 && f.ChunkDelay > 0 && !sleep(r.Context(), f.ChunkDelay) {
			h.b.noteCanceled()
			return
		}
		payload := mustJSON(map[string]string{"bytes": base64.StdEncoding.EncodeToString(ev.data),
			"p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[:1+i%36]})
		msg := eventstream.Message{Payload: payload}
		msg.Headers.Set(":event-type", eventstream.StringValue("chunk"))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		if writeFrame(w, rc, enc, msg) != nil {
			h.b.noteCanceled()
			return
		}
	}
}

// countTokens serves CountTokens: {"input": {"invokeModel": {"body": base64}}}
// or {"input": {"converse": {"messages", "system", ...}}} → {"inputTokens": N},
// the count InvokeModel's usage would report. Like Bedrock, it takes foundation
// model ids only: an inference profile's id is refused.
func (h *bedrockHandler) countTokens(w http.ResponseWriter, r *http.Request, body []byte) {
	fault, faulty := h.b.admit(r, body)
	model := r.PathValue("modelId")
	if !strings.HasPrefix(model, "anthropic.claude") {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "The provided model doesn't support counting tokens.", 0)
		return
	}
	var req struct {
		Input struct {
			InvokeModel *struct {
				Body []byte `json:"body"` // a blob: base64 in JSON
			} `json:"invokeModel"`
			Converse *converseRequest `json:"converse"`
		} `json:"input"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request, please reformat your input and try again.", 0)
		return
	}
	var p *Prompt
	var problem string
	switch in := req.Input; {
	case in.InvokeModel != nil:
		p, problem = claudeInvokePrompt(model, in.InvokeModel.Body)
	case in.Converse != nil:
		p, problem = promptFromConverse(in.Converse)
	default:
		problem = "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"
	}
	if problem != "" {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", problem, 0)
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
	w.Header().Set("X-Amzn-RequestId", requestID())
	writeJSON(w, http.StatusOK, map[string]int{"inputTokens": p.PromptTokens()})
}
