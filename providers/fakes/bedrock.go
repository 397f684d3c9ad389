package fakes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BedrockOptions configure an emulated Bedrock Runtime endpoint.
type BedrockOptions struct {
	// Name appears in replies ("<name> heard: ...").
	Name string
	// Region is the region requests must be signed for; empty accepts any.
	Region string
	// AccessKeyID and SecretAccessKey are the credentials requests must be signed
	// with (SigV4, service "bedrock"); an empty AccessKeyID accepts unsigned requests.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must come as X-Amz-Security-Token (temporary
	// credentials, e.g. from AssumeRole).
	SessionToken string
	// ContextWindow makes longer prompts fail with Bedrock's "Input is too long"
	// ValidationException (0 = none).
	ContextWindow int
	// MinCacheTokens is the shortest prefix the emulated prompt cache keeps
	// (0 = DefaultMinCacheTokens).
	MinCacheTokens int
}

// Bedrock emulates bedrock-runtime.REGION.amazonaws.com: Converse, ConverseStream
// (AWS event-stream framing), InvokeModel for Titan and Cohere embeddings,
// InvokeModel, InvokeModelWithResponseStream and CountTokens for Claude with
// Anthropic's Messages body (bedrock_invoke.go), with
// SigV4 verification and Bedrock's error shapes (a {"message"} body, the error
// code in x-amzn-ErrorType).
//
// Faults apply as usual; in addition a Fault with CutAfter > 0 whose Code names a
// stream exception (throttlingException, serviceUnavailableException,
// internalServerException, modelStreamErrorException, validationException) sends
// that exception event after CutAfter events instead of ending silently.
type Bedrock struct {
	server
	opts   BedrockOptions
	script *claudeScript
}

// NewBedrock starts an emulated Bedrock Runtime endpoint on loopback.
func NewBedrock(opts BedrockOptions) *Bedrock {
	if opts.Name == "" {
		opts.Name = "bedrock"
	}
	br := &Bedrock{opts: opts, script: &claudeScript{}}
	br.server = startServer(opts.Name, func(b *Backend) http.Handler {
		h := &bedrockHandler{b: b, opts: opts, signer: v4.NewSigner(), script: br.script}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /model/{modelId}/converse", h.authorize(h.converse))
		mux.HandleFunc("POST /model/{modelId}/converse-stream", h.authorize(h.converse))
		mux.HandleFunc("POST /model/{modelId}/invoke", h.authorize(h.invoke))
		mux.HandleFunc("POST /model/{modelId}/invoke-with-response-stream", h.authorize(h.invokeStream))
		mux.HandleFunc("POST /model/{modelId}/count-tokens", h.authorize(h.countTokens))
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			b.admit(r, nil)
			writeBedrockError(w, http.StatusNotFound, "UnknownOperationException", "", 0)
		})
		return mux
	})
	return br
}

// Endpoint is what the SDK takes as BaseEndpoint (and the provider as base_url).
func (br *Bedrock) Endpoint() string { return br.URL() }

type bedrockHandler struct {
	b      *Backend
	opts   BedrockOptions
	signer *v4.Signer
	script *claudeScript
	ids    atomic.Int64
	cache  promptCache
}

// writeBedrockError writes Bedrock's error response: the code in x-amzn-ErrorType
// with the service namespace suffix the service sends
// ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
// and {"message": ...} as the body.
func writeBedrockError(w http.ResponseWriter, status int, code, msg string, retryAfter time.Duration) {
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.Header().Set("X-Amzn-RequestId", requestID())
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	body := map[string]any{"message": msg}
	if msg == "" {
		body = map[string]any{} // UnknownOperationException comes with an empty object
	}
	writeJSON(w, status, body)
}

var requestCounter atomic.Int64

func requestID() string {
	n := requestCounter.Add(1)
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", n>>48, n&0xffffffffffff)
}

// authorize checks the SigV4 signature before serving. The messages and codes are
// those Bedrock answers: MissingAuthenticationTokenException without a signature,
// UnrecognizedClientException for an unknown access key or token,
// InvalidSignatureException for a wrong secret, region or service, or an expired
// date (all 403).
func (h *bedrockHandler) authorize(next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := readBody(r)
		if h.opts.AccessKeyID != "" {
			if code, msg := h.verify(r, body); code != "" {
				h.b.admit(r, nil)
				writeBedrockError(w, http.StatusForbidden, code, msg, 0)
				return
			}
		}
		next(w, r, body)
	}
}

const sigv4Algorithm = "AWS4-HMAC-SHA256"

func (h *bedrockHandler) verify(r *http.Request, body []byte) (code, msg string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	rest, ok := strings.CutPrefix(auth, sigv4Algorithm+" ")
	if !ok {
		return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/") // AKID/DATE/REGION/SERVICE/aws4_request
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."
	}
	if scope[0] != h.opts.AccessKeyID {
		return "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if h.opts.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != h.opts.SessionToken {
		return "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if h.opts.Region != "" && scope[2] != h.opts.Region {
		return "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", scope[2])
	}
	if scope[3] != "bedrock" {
		return "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'. "
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	if d := time.Since(signedAt); d > 5*time.Minute || d < -5*time.Minute {
		return "InvalidSignatureException", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			signedAt.Format("20060102T150405Z"), time.Now().UTC().Add(-5*time.Minute).Format("20060102T150405Z"),
			time.Now().UTC().Format("20060102T150405Z"))
	}
	// Recompute the signature over the headers the client signed, with the SDK's
	// own signer: any difference in path escaping, headers, body or secret shows.
	clone := &http.Request{Method: r.Method, Host: r.Host, ContentLength: r.ContentLength, Header: http.Header{},
		URL: &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}}
	for _, name := range strings.Split(fields["SignedHeaders"], ";") {
		if name == "host" || name == "content-length" {
			continue // the signer takes these from Host and ContentLength
		}
		if v, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
			clone.Header[http.CanonicalHeaderKey(name)] = v
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: h.opts.AccessKeyID, SecretAccessKey: h.opts.SecretAccessKey,
		SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := h.signer.SignHTTP(context.Background(), creds, clone, hex.EncodeToString(sum[:]), "bedrock", scope[2], signedAt); err != nil {
		return "InvalidSignatureException", err.Error()
	}
	_, want, _ := strings.Cut(clone.Header.Get("Authorization"), "Signature=")
	if want != fields["Signature"] {
		return "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return "", ""
}

// fault answers an injected failure with the exception Bedrock sends for its
// status (API_runtime_Converse.html, "Errors"); Fault.Code overrides the
// exception name, e.g. ModelNotReadyException or ServiceQuotaExceededException.
func (h *bedrockHandler) fault(w http.ResponseWriter, f Fault) {
	code, msg := f.Code, f.Message
	if code == "" {
		switch f.Status {
		case http.StatusTooManyRequests:
			code, msg = "ThrottlingException", cmp(msg, "Too many requests, please wait before trying again.")
		case http.StatusServiceUnavailable:
			code, msg = "ServiceUnavailableException", cmp(msg, "Bedrock is unable to process your request.")
		case http.StatusRequestTimeout:
			code, msg = "ModelTimeoutException", cmp(msg, "Model has timed out in processing the request. Try your request again.")
		case http.StatusFailedDependency:
			code, msg = "ModelErrorException", cmp(msg, "The model returned an error. Try your request again.")
		case http.StatusForbidden:
			code, msg = "AccessDeniedException", cmp(msg, "You don't have access to the model with the specified model ID.")
		case http.StatusNotFound:
			code, msg = "ResourceNotFoundException", cmp(msg, "Could not resolve the foundation model from the provided model identifier.")
		case http.StatusBadRequest:
			code, msg = "ValidationException", cmp(msg, "Malformed input request, please reformat your input and try again.")
		default:
			code, msg = "InternalServerException", cmp(msg, "The system encountered an unexpected error during processing. Try your request again.")
		}
	}
	if msg == "" {
		msg = code
	}
	writeBedrockError(w, f.Status, code, msg, f.RetryAfter)
}

func cmp(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// converse serves Converse and ConverseStream, told apart by the path.
func (h *bedrockHandler) converse(w http.ResponseWriter, r *http.Request, body []byte) {
	fault, faulty := h.b.admit(r, body)
	stream := strings.HasSuffix(r.URL.Path, "/converse-stream")
	var req converseRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request, please reformat your input and try again.", 0)
		return
	}
	p, problem := promptFromConverse(&req)
	if problem != "" {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", problem, 0)
		return
	}
	p.Model = r.PathValue("modelId")
	p.Stream = stream
	if problem := bedrockThinking(&req, p); problem != "" {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", problem, 0)
		return
	}
	if h.opts.ContextWindow > 0 && p.PromptTokens() > h.opts.ContextWindow {
		// The message Bedrock relays from the model (aws-samples/bedrock-chat#95,
		// continuedev/continue#6005).
		writeBedrockError(w, http.StatusBadRequest, "ValidationException",
			"The model returned the following errors: Input is too long for requested model.", 0)
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
	reply, stop := h.reply(p)
	// The emulated cache sets the counts a responder left unset.
	if read, write := h.cache.use(converseCacheWalk(&req), h.opts.MinCacheTokens, reply.PromptTokens); reply.CachedTokens == 0 && reply.CacheWriteTokens == 0 {
		reply.CachedTokens, reply.CacheWriteTokens = read, write
	}
	if stream {
		h.stream(w, r, reply, stop, fault)
		return
	}
	content := []any{}
	if reply.Reasoning != "" {
		content = append(content, map[string]any{"reasoningContent": map[string]any{
			"reasoningText": map[string]any{"text": reply.Reasoning, "signature": ClaudeSignature(reply.Reasoning)}}})
	}
	if reply.Content != "" || len(reply.ToolCalls) == 0 {
		content = append(content, map[string]any{"text": reply.Content})
	}
	for _, c := range reply.ToolCalls {
		content = append(content, map[string]any{"toolUse": map[string]any{
			"toolUseId": c.ID, "name": c.Name, "input": json.RawMessage(c.Arguments)}})
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	writeJSON(w, http.StatusOK, map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": stop,
		"usage":      bedrockUsage(reply),
		"metrics":    map[string]any{"latencyMs": 42},
	})
}

// reply asks the model and names the stop reason as Converse does: it tells
// end_turn from stop_sequence, which Reply.Finish both call "stop".
func (h *bedrockHandler) reply(p *Prompt) (Reply, string) {
	h.b.mu.Lock()
	responder := h.b.responder
	h.b.mu.Unlock()
	raw := responder(p)
	r := raw.Finish(p)
	switch r.FinishReason {
	case "length":
		return r, "max_tokens"
	case "tool_calls":
		return r, "tool_use"
	case "content_filter":
		return r, "content_filtered"
	}
	if len(r.ToolCalls) == 0 && len(r.Content) < len(raw.Content) &&
		slices.ContainsFunc(p.Stop, func(s string) bool { return s != "" && strings.Contains(raw.Content, s) }) {
		return r, "stop_sequence"
	}
	return r, "end_turn"
}

// bedrockUsage reports the reply's tokens as Bedrock does: inputTokens without the
// cache reads and writes, which come separately (cacheReadInputTokens,
// cacheWriteInputTokens), and totalTokens of all.
func bedrockUsage(r Reply) map[string]any {
	input := max(r.PromptTokens-r.CachedTokens-r.CacheWriteTokens, 0)
	return map[string]any{
		"inputTokens": input, "outputTokens": r.CompletionTokens,
		"totalTokens":          input + r.CachedTokens + r.CacheWriteTokens + r.CompletionTokens,
		"cacheReadInputTokens": r.CachedTokens, "cacheWriteInputTokens": r.CacheWriteTokens,
	}
}

// stream writes the ConverseStream events in AWS event-stream framing
// (application/vnd.amazon.eventstream): messageStart, text deltas (text blocks
// have no contentBlockStart), per tool call a contentBlockStart with its id and
// name, input fragments and contentBlockStop, then messageStop and metadata. Like
// Bedrock, each payload carries a "p" member of padding.
func (h *bedrockHandler) stream(w http.ResponseWriter, r *http.Request, reply Reply, stop string, f Fault) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if f.CutAfter < 0 {
		_ = rc.Flush()
		return
	}
	type event struct {
		typ     string
		payload map[string]any
	}
	events := []event{{"messageStart", map[string]any{"role": "assistant"}}}
	block := 0
	if reply.Reasoning != "" {
		for _, piece := range splitWords(reply.Reasoning) {
			events = append(events, event{"contentBlockDelta", map[string]any{"contentBlockIndex": block,
				"delta": map[string]any{"reasoningContent": map[string]any{"text": piece}}}})
		}
		events = append(events, event{"contentBlockDelta", map[string]any{"contentBlockIndex": block,
			"delta": map[string]any{"reasoningContent": map[string]any{"signature": ClaudeSignature(reply.Reasoning)}}}},
			event{"contentBlockStop", map[string]any{"contentBlockIndex": block}})
		block++
	}
	if len(reply.Chunks) > 0 {
		for _, piece := range reply.Chunks {
			events = append(events, event{"contentBlockDelta", map[string]any{"contentBlockIndex": block, "delta": map[string]any{"text": piece}}})
		}
		events = append(events, event{"contentBlockStop", map[string]any{"contentBlockIndex": block}})
		block++
	}
	for _, c := range reply.ToolCalls {
		events = append(events, event{"contentBlockStart", map[string]any{"contentBlockIndex": block,
			"start": map[string]any{"toolUse": map[string]any{"toolUseId": c.ID, "name": c.Name}}}})
		for _, frag := range fragments(c.Arguments, 8) {
			events = append(events, event{"contentBlockDelta", map[string]any{"contentBlockIndex": block,
				"delta": map[string]any{"toolUse": map[string]any{"input": frag}}}})
		}
		events = append(events, event{"contentBlockStop", map[string]any{"contentBlockIndex": block}})
		block++
	}
	events = append(events,
		event{"messageStop", map[string]any{"stopReason": stop}},
		event{"metadata", map[string]any{"usage": bedrockUsage(reply), "metrics": map[string]any{"latencyMs": 42}}})
	enc := eventstream.NewEncoder()
	for i, ev := range events {
		if f.CutAfter > 0 && i >= f.CutAfter {
			if isStreamException(f.Code) {
				msg := cmp(f.Message, "The stream failed: "+f.Code)
				_ = writeFrame(w, rc, enc, exceptionMessage(f.Code, msg))
			}
			return
		}
		if i > 0 && f.ChunkDelay > 0 && !sleep(r.Context(), f.ChunkDelay) {
			h.b.noteCanceled()
			return
		}
		ev.payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[:1+i%36]
		payload, err := json.Marshal(ev.payload)
		if err != nil {
			return
		}
		msg := eventstream.Message{Payload: payload}
		msg.Headers.Set(":event-type", eventstream.StringValue(ev.typ))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		if writeFrame(w, rc, enc, msg) != nil {
			h.b.noteCanceled()
			return
		}
	}
}

func isStreamException(code string) bool {
	switch code {
	case "throttlingException", "serviceUnavailableException", "internalServerException",
		"modelStreamErrorException", "validationException":
		return true
	}
	return false
}

func exceptionMessage(code, msg string) eventstream.Message {
	payload, _ := json.Marshal(map[string]string{"message": msg})
	m := eventstream.Message{Payload: payload}
	m.Headers.Set(":exception-type", eventstream.StringValue(code))
	m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	m.Headers.Set(":message-type", eventstream.StringValue("exception"))
	return m
}

func writeFrame(w http.ResponseWriter, rc *http.ResponseController, enc *eventstream.Encoder, msg eventstream.Message) error {
	var buf bytes.Buffer
	if err := enc.Encode(&buf, msg); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	return rc.Flush()
}

// converseRequest is the part of a Converse request the emulated model reads
// (API_runtime_Converse.html, request syntax).
type converseRequest struct {
	Messages []struct {
		Role    string          `json:"role"`
		Content []converseBlock `json:"content"`
	} `json:"messages"`
	System []struct {
		Text       *string         `json:"text"`
		CachePoint json.RawMessage `json:"cachePoint"`
	} `json:"system"`
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields"`
	InferenceConfig              *struct {
		MaxTokens     *int     `json:"maxTokens"`
		Temperature   *float64 `json:"temperature"`
		TopP          *float64 `json:"topP"`
		StopSequences []string `json:"stopSequences"`
	} `json:"inferenceConfig"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec *struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
			CachePoint json.RawMessage `json:"cachePoint"`
		} `json:"tools"`
		ToolChoice *struct {
			Auto *struct{} `json:"auto"`
			Any  *struct{} `json:"any"`
			Tool *struct {
				Name string `json:"name"`
			} `json:"tool"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
	OutputConfig *struct {
		TextFormat *struct {
			Type string `json:"type"`
		} `json:"textFormat"`
		Effort string `json:"effort"`
	} `json:"outputConfig"`
}

type converseBlock struct {
	Text  *string `json:"text"`
	Image *struct {
		Format string `json:"format"`
		Source struct {
			Bytes []byte `json:"bytes"`
		} `json:"source"`
	} `json:"image"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ToolResult *struct {
		ToolUseID string `json:"toolUseId"`
		Content   []struct {
			Text *string         `json:"text"`
			JSON json.RawMessage `json:"json"`
		} `json:"content"`
		Status string `json:"status"`
	} `json:"toolResult"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text      string `json:"text"`
			Signature string `json:"signature"`
		} `json:"reasoningText"`
		RedactedContent []byte `json:"redactedContent"`
	} `json:"reasoningContent"`
	CachePoint json.RawMessage `json:"cachePoint"`
}

// promptFromConverse reduces a Converse request to a Prompt, checking what Bedrock
// checks: a first user turn, alternating roles, no blank text, tool blocks only
// with a toolConfig, tool results answering the previous turn's tool uses. The
// second result is the ValidationException message of a rejected request.
func promptFromConverse(req *converseRequest) (*Prompt, string) {
	p := &Prompt{}
	var system []string
	for _, s := range req.System {
		if s.Text != nil {
			system = append(system, *s.Text)
		}
	}
	p.System = strings.Join(system, "\n")
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil {
			if *ic.MaxTokens < 1 {
				return nil, "The value at inferenceConfig.maxTokens must be at least 1."
			}
			p.MaxTokens = *ic.MaxTokens
		}
		p.Stop = ic.StopSequences
	}
	var toolNames []string
	if tc := req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			if t.ToolSpec != nil {
				toolNames = append(toolNames, t.ToolSpec.Name)
				p.offer(t.ToolSpec.Name, t.ToolSpec.Description)
			}
		}
		if c := tc.ToolChoice; c != nil {
			switch {
			case c.Tool != nil:
				if !slices.Contains(toolNames, c.Tool.Name) {
					return nil, fmt.Sprintf("The tool %s in toolConfig.toolChoice is not defined in toolConfig.tools.", c.Tool.Name)
				}
				p.ToolChoice = c.Tool.Name
			case c.Any != nil:
				p.ToolChoice = "required"
			case c.Auto != nil:
				p.ToolChoice = "auto"
			}
		}
	}
	if oc := req.OutputConfig; oc != nil && oc.TextFormat != nil && oc.TextFormat.Type == "json_schema" {
		p.JSON = true
	}
	if len(req.Messages) == 0 {
		return nil, "Malformed input request: #/messages: expected minimum item count: 1, found: 0, please reformat your input and try again."
	}
	var lastToolUses []string
	for i, m := range req.Messages {
		switch {
		case i == 0 && m.Role != "user":
			return nil, "A conversation must start with a user message. Try again with a conversation that starts with a user message."
		case i > 0 && m.Role == req.Messages[i-1].Role:
			return nil, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		case m.Role != "user" && m.Role != "assistant":
			return nil, fmt.Sprintf("Malformed input request: #/messages/%d/role: %s is not a valid enum value, please reformat your input and try again.", i, m.Role)
		case len(m.Content) == 0:
			return nil, fmt.Sprintf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		turn := Turn{Role: m.Role}
		var texts []string
		var uses []string
		for j, b := range m.Content {
			switch {
			case b.Text != nil:
				if strings.TrimSpace(*b.Text) == "" {
					return nil, fmt.Sprintf("The text field in the ContentBlock object at messages.%d.content.%d is blank. Add text to the text field, and try again.", i, j)
				}
				texts = append(texts, *b.Text)
			case b.Image != nil:
				if !slices.Contains([]string{"png", "jpeg", "gif", "webp"}, b.Image.Format) || len(b.Image.Source.Bytes) == 0 {
					return nil, fmt.Sprintf("The image at messages.%d.content.%d is invalid: the format must be png, jpeg, gif or webp, with the bytes of the image.", i, j)
				}
				turn.Images++
			case b.ToolUse != nil:
				if req.ToolConfig == nil {
					return nil, "The toolConfig field must be defined when using toolUse and toolResult content blocks."
				}
				if m.Role != "assistant" || len(b.ToolUse.Input) == 0 || b.ToolUse.Input[0] != '{' {
					return nil, fmt.Sprintf("The toolUse block at messages.%d.content.%d must be in an assistant message, with a JSON object as input.", i, j)
				}
				uses = append(uses, b.ToolUse.ToolUseID)
				turn.ToolCalls = append(turn.ToolCalls, ToolCall{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Arguments: string(b.ToolUse.Input)})
			case b.ToolResult != nil:
				if req.ToolConfig == nil {
					return nil, "The toolConfig field must be defined when using toolUse and toolResult content blocks."
				}
				if m.Role != "user" || !slices.Contains(lastToolUses, b.ToolResult.ToolUseID) {
					return nil, fmt.Sprintf("The toolUseId %s of the toolResult block at messages.%d.content.%d does not match a toolUse block of the previous assistant message.", b.ToolResult.ToolUseID, i, j)
				}
				var result []string
				for _, c := range b.ToolResult.Content {
					if c.Text != nil {
						result = append(result, *c.Text)
					} else if len(c.JSON) > 0 {
						result = append(result, string(c.JSON))
					}
				}
				p.Turns = append(p.Turns, Turn{Role: "tool", Text: strings.Join(result, ""), ToolCallID: b.ToolResult.ToolUseID})
			case b.ReasoningContent != nil:
				if m.Role != "assistant" {
					return nil, fmt.Sprintf("The reasoningContent block at messages.%d.content.%d must be in an assistant message.", i, j)
				}
			case len(b.CachePoint) > 0:
			default:
				return nil, fmt.Sprintf("The ContentBlock object at messages.%d.content.%d has no member set.", i, j)
			}
		}
		turn.Text = strings.Join(texts, "\n")
		if m.Role == "assistant" || len(texts) > 0 || turn.Images > 0 {
			p.Turns = append(p.Turns, turn)
		}
		lastToolUses = uses
	}
	return p, ""
}

// invoke serves InvokeModel for the embedding models: Titan Text Embeddings
// (model-parameters-titan-embed-text.html) and Cohere Embed v3/v4
// (model-parameters-embed-v3.html, -v4.html). Like Bedrock, it reports the input
// tokens in X-Amzn-Bedrock-Input-Token-Count.
func (h *bedrockHandler) invoke(w http.ResponseWriter, r *http.Request, body []byte) {
	fault, faulty := h.b.admit(r, body)
	model := r.PathValue("modelId")
	var out any
	var tokens int
	var problem string
	switch {
	case strings.Contains(model, "anthropic.claude"):
		h.claude(w, r, model, body, fault, faulty, false)
		return
	case strings.Contains(model, "titan-embed"):
		out, tokens, problem = titanEmbedding(model, body)
	case strings.Contains(model, "cohere.embed"):
		out, tokens, problem = cohereEmbedding(model, body)
	default:
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "The provided model identifier is invalid.", 0)
		return
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
	w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(tokens))
	w.Header().Set("X-Amzn-Bedrock-Invocation-Latency", "42")
	writeJSON(w, http.StatusOK, out)
}

func embeddingTokens(text string) int { return len(text)/4 + 1 }

func titanEmbedding(model string, body []byte) (any, int, string) {
	var req struct {
		InputText  *string `json:"inputText"`
		Dimensions *int    `json:"dimensions"`
		Normalize  *bool   `json:"normalize"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 0, "Malformed input request, please reformat your input and try again."
	}
	if req.InputText == nil {
		return nil, 0, "Malformed input request: #: required key [inputText] not found, please reformat your input and try again."
	}
	dims := 1536 // v1
	if strings.Contains(model, "titan-embed-text-v2") {
		dims = 1024
		if req.Dimensions != nil {
			if !slices.Contains([]int{256, 512, 1024}, *req.Dimensions) {
				return nil, 0, fmt.Sprintf("Malformed input request: #/dimensions: %d is not a valid enum value, please reformat your input and try again.", *req.Dimensions)
			}
			dims = *req.Dimensions
		}
	} else if req.Dimensions != nil || req.Normalize != nil {
		return nil, 0, "Malformed input request: #: extraneous key [dimensions] is not permitted, please reformat your input and try again."
	}
	vec := Vector(*req.InputText, dims)
	n := embeddingTokens(*req.InputText)
	return map[string]any{"embedding": vec, "embeddingsByType": map[string]any{"float": vec}, "inputTextTokenCount": n}, n, ""
}

func cohereEmbedding(model string, body []byte) (any, int, string) {
	var req struct {
		Texts           []string `json:"texts"`
		InputType       *string  `json:"input_type"`
		EmbeddingTypes  []string `json:"embedding_types"`
		OutputDimension *int     `json:"output_dimension"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 0, "Malformed input request, please reformat your input and try again."
	}
	switch {
	case req.InputType == nil:
		return nil, 0, "Malformed input request: #: required key [input_type] not found, please reformat your input and try again."
	case !slices.Contains([]string{"search_document", "search_query", "classification", "clustering"}, *req.InputType):
		return nil, 0, fmt.Sprintf("Malformed input request: #/input_type: %s is not a valid enum value, please reformat your input and try again.", *req.InputType)
	case len(req.Texts) > 96:
		return nil, 0, fmt.Sprintf("Malformed input request: #/texts: expected maximum item count: 96, found: %d, please reformat your input and try again.", len(req.Texts))
	}
	dims := 1024 // v3
	if strings.Contains(model, "embed-v4") {
		dims = 1536
		if req.OutputDimension != nil {
			if !slices.Contains([]int{256, 512, 1024, 1536}, *req.OutputDimension) {
				return nil, 0, fmt.Sprintf("Malformed input request: #/output_dimension: %d is not a valid enum value, please reformat your input and try again.", *req.OutputDimension)
			}
			dims = *req.OutputDimension
		}
	} else if req.OutputDimension != nil {
		return nil, 0, "Malformed input request: #: extraneous key [output_dimension] is not permitted, please reformat your input and try again."
	}
	vecs := make([][]float32, len(req.Texts))
	tokens := 0
	for i, t := range req.Texts {
		vecs[i] = Vector(t, dims)
		tokens += embeddingTokens(t)
	}
	out := map[string]any{"id": fmt.Sprintf("emb-%d", requestCounter.Add(1)), "texts": req.Texts}
	if len(req.EmbeddingTypes) > 0 {
		out["embeddings"] = map[string]any{"float": vecs}
		out["response_type"] = "embeddings_by_type"
	} else {
		out["embeddings"] = vecs
		out["response_type"] = "embeddings_floats"
	}
	return out, tokens, ""
}
