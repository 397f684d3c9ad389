package fakes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// GeminiOptions configure an emulated Gemini API / Vertex AI endpoint.
type GeminiOptions struct {
	// Name appears in replies ("<name> heard: ...").
	Name string
	// APIKey is required on Gemini API paths, in the x-goog-api-key header or the
	// key query parameter; empty accepts any key (but not none).
	APIKey string
	// Token is the OAuth2 bearer token Vertex AI paths accept; empty accepts any.
	Token string
	// Models are the model ids that exist; empty accepts any.
	Models []string
	// ContextWindow makes longer prompts fail with Gemini's token-limit error.
	ContextWindow int
	// ImplicitCacheMinTokens turns on emulated implicit caching: a request whose
	// prefix (system instruction and every turn but the last) of at least this
	// many tokens was seen before reports it as cachedContentTokenCount
	// (Gemini 2.5 and later cache implicitly; 0 = off).
	ImplicitCacheMinTokens int
}

// Gemini emulates both endpoints of Google's generateContent API:
//
//   - the Gemini API: POST /v1beta/models/{model}:{method} (and /v1/), with an
//     API key in x-goog-api-key or ?key=;
//   - Vertex AI: POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}
//     (and /v1beta1/, the genai SDK's default),
//     with "Authorization: Bearer".
//
// Methods: generateContent, streamGenerateContent (SSE with ?alt=sse, else a JSON
// array, as the real API does), batchEmbedContents (Gemini API) and predict
// (Vertex AI embeddings). Requests are validated as the API validates them (unknown
// fields, roles, empty parts, function call and response turns, Gemini 3's thought
// signatures), errors are google.rpc.Status bodies, and a 429 carries RetryInfo.
// Model function calls carry a thoughtSignature, which must come back.
//
// Faults: Status answers with Google's error for that status (Code overrides the
// status name, Message the text); a stream Fault with CutAfter > 0 and a Message
// sends an error event after CutAfter events, as Gemini does when generation fails
// mid-stream, instead of only cutting.
type Gemini struct {
	server
	opts  GeminiOptions
	ids   atomic.Int64
	cache promptCache
}

// NewGemini starts an emulated Gemini endpoint on loopback.
func NewGemini(opts GeminiOptions) *Gemini {
	if opts.Name == "" {
		opts.Name = "gemini"
	}
	g := &Gemini{opts: opts}
	g.server = startServer(opts.Name, func(b *Backend) http.Handler {
		mux := http.NewServeMux()
		geminiAPI := func(w http.ResponseWriter, r *http.Request) {
			if g.authorizeKey(w, r, b) {
				g.serve(w, r, b, false)
			}
		}
		mux.HandleFunc("POST /v1beta/models/{action}", geminiAPI)
		mux.HandleFunc("POST /v1/models/{action}", geminiAPI)
		vertex := func(w http.ResponseWriter, r *http.Request) {
			if g.authorizeToken(w, r, b) {
				g.serve(w, r, b, true)
			}
		}
		mux.HandleFunc("POST /v1/projects/{project}/locations/{location}/publishers/google/models/{action}", vertex)
		mux.HandleFunc("POST /v1beta1/projects/{project}/locations/{location}/publishers/google/models/{action}", vertex)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeGoogleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.", nil)
		})
		return mux
	})
	return g
}

// BaseURL is what the genai SDK and Switchyard take as base_url.
func (g *Gemini) BaseURL() string { return g.URL() }

func (g *Gemini) authorizeKey(w http.ResponseWriter, r *http.Request, b *Backend) bool {
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch {
	case key == "":
		b.admit(r, nil)
		writeGoogleError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", nil)
		return false
	case g.opts.APIKey != "" && key != g.opts.APIKey:
		b.admit(r, nil)
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			[]any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
				"domain": "googleapis.com", "metadata": map[string]any{"service": "generativelanguage.googleapis.com"}}})
		return false
	}
	return true
}

func (g *Gemini) authorizeToken(w http.ResponseWriter, r *http.Request, b *Backend) bool {
	tok := bearer(r)
	if tok != "" && (g.opts.Token == "" || tok == g.opts.Token) {
		return true
	}
	b.admit(r, nil)
	writeGoogleError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		[]any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
			"domain": "googleapis.com"}})
	return false
}

func (g *Gemini) serve(w http.ResponseWriter, r *http.Request, b *Backend, vertex bool) {
	model, method, _ := strings.Cut(r.PathValue("action"), ":")
	body := readBody(r)
	fault, faulty := b.admit(r, body)
	if len(g.opts.Models) > 0 && !slices.Contains(g.opts.Models, model) {
		writeGoogleError(w, http.StatusNotFound, "NOT_FOUND",
			fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.", model, method), nil)
		return
	}
	switch {
	case method == "generateContent" || method == "streamGenerateContent":
	case method == "batchEmbedContents" && !vertex, method == "predict" && vertex:
		if faulty && !g.applyFault(w, r, fault) {
			return
		}
		if vertex {
			g.predict(w, body)
		} else {
			g.batchEmbed(w, body, model)
		}
		return
	default:
		writeGoogleError(w, http.StatusNotFound, "NOT_FOUND", "Method not found: "+method, nil)
		return
	}
	req, err := decodeGeminiRequest(body)
	if err != nil {
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error(), nil)
		return
	}
	p := req.prompt(model, method == "streamGenerateContent")
	if g.opts.ContextWindow > 0 && p.PromptTokens() > g.opts.ContextWindow {
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			fmt.Sprintf("The input token count (%d) exceeds the maximum number of tokens allowed (%d).", p.PromptTokens(), g.opts.ContextWindow), nil)
		return
	}
	stream := method == "streamGenerateContent"
	if stream && fault.CutAfter > 0 && fault.Message != "" {
		// The status belongs to the error event sent mid-stream, not to the response.
		if !g.Backend.preamble(w, r, fault) {
			return
		}
	} else if faulty && !g.applyFault(w, r, fault) {
		return
	}
	reply := b.reply(p)
	if g.opts.ImplicitCacheMinTokens > 0 {
		reply.CachedTokens, _ = g.cache.use(geminiPrefix(req), g.opts.ImplicitCacheMinTokens, reply.PromptTokens)
	}
	id := fmt.Sprintf("%s-%d", b.Name, g.ids.Add(1))
	candidates := max(req.GenerationConfig.CandidateCount, 1)
	if !stream {
		writeJSON(w, http.StatusOK, geminiResponse(reply, model, id, candidates))
		return
	}
	g.stream(w, r, reply, model, id, candidates, fault)
}

// applyFault applies a fault's transport part and its status; it reports whether
// the handler should go on answering.
func (g *Gemini) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if !g.Backend.preamble(w, r, f) {
		return false
	}
	if f.Status != 0 {
		writeGeminiFault(w, f)
		return false
	}
	return true
}

// geminiStatus is the google.rpc.Code name Google sends with an HTTP status
// (https://cloud.google.com/apis/design/errors#handling_errors).
func geminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests, http.StatusPaymentRequired:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

func writeGeminiFault(w http.ResponseWriter, f Fault) {
	status, msg := f.Code, f.Message
	if status == "" {
		status = geminiStatus(f.Status)
	}
	var details []any
	switch f.Status {
	case http.StatusTooManyRequests:
		if msg == "" {
			msg = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
		}
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
			"violations": []any{map[string]any{"quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count",
				"quotaId": "GenerateContentPaidTierInputTokensPerModelPerMinute"}}})
		if f.RetryAfter > 0 {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo",
				"retryDelay": strconv.FormatFloat(f.RetryAfter.Seconds(), 'f', -1, 64) + "s"})
		}
	case http.StatusServiceUnavailable:
		if msg == "" {
			msg = "The model is overloaded. Please try again later."
		}
	case http.StatusGatewayTimeout:
		if msg == "" {
			msg = "Deadline expired before operation could complete."
		}
	}
	if msg == "" {
		if f.Status >= 500 {
			msg = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
		} else {
			msg = "Request contains an invalid argument."
		}
	}
	writeGoogleError(w, f.Status, status, msg, details)
}

// writeGoogleError writes a google.rpc.Status error body.
func writeGoogleError(w http.ResponseWriter, code int, status, msg string, details []any) {
	writeJSON(w, code, map[string]any{"error": googleError(code, status, msg, details)})
}

func googleError(code int, status, msg string, details []any) map[string]any {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	return e
}

// stream writes the reply as streamGenerateContent does: with ?alt=sse one
// "data: <partial response>" event per text piece, CRLF-framed as Gemini frames
// them, the last carrying finishReason and the full usageMetadata; without alt=sse
// a JSON array of the same partial responses.
func (g *Gemini) stream(w http.ResponseWriter, r *http.Request, reply Reply, model, id string, candidates int, f Fault) {
	events := geminiEvents(reply, model, id, candidates)
	sseMode := r.URL.Query().Get("alt") == "sse"
	if sseMode {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if f.CutAfter < 0 {
		_ = rc.Flush()
		return
	}
	write := func(i int, ev []byte) bool {
		var buf bytes.Buffer
		switch {
		case sseMode:
			buf.WriteString("data: ")
			buf.Write(ev)
			buf.WriteString("\r\n\r\n")
		case i == 0:
			buf.WriteByte('[')
			buf.Write(ev)
		default:
			buf.WriteString(",\r\n")
			buf.Write(ev)
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for i, ev := range events {
		if f.CutAfter > 0 && i >= f.CutAfter {
			if f.Message != "" {
				code := f.Status
				if code == 0 {
					code = http.StatusInternalServerError
				}
				status := f.Code
				if status == "" {
					status = geminiStatus(code)
				}
				write(i, mustJSON(map[string]any{"error": googleError(code, status, f.Message, nil)}))
			}
			return
		}
		if i > 0 && f.ChunkDelay > 0 && !sleep(r.Context(), f.ChunkDelay) {
			g.Backend.noteCanceled()
			return
		}
		if !write(i, ev) {
			g.Backend.noteCanceled()
			return
		}
	}
	if !sseMode {
		_, _ = w.Write([]byte("]"))
	}
}

// geminiEvents splits a reply into the partial responses of a stream.
func geminiEvents(reply Reply, model, id string, candidates int) [][]byte {
	usage := geminiUsage(reply)
	promptOnly := map[string]any{"promptTokenCount": reply.PromptTokens, "totalTokenCount": reply.PromptTokens}
	event := func(parts []any, finish string) []byte {
		cands := make([]any, candidates)
		for i := range cands {
			c := map[string]any{"index": i}
			if len(parts) > 0 {
				c["content"] = map[string]any{"parts": parts, "role": "model"}
			}
			if finish != "" {
				c["finishReason"] = finish
			}
			cands[i] = c
		}
		u := promptOnly
		if finish != "" {
			u = usage
		}
		return mustJSON(map[string]any{"candidates": cands, "usageMetadata": u, "modelVersion": model, "responseId": id})
	}
	finish := geminiFinish(reply)
	var out [][]byte
	if reply.Reasoning != "" {
		out = append(out, event([]any{map[string]any{"text": reply.Reasoning, "thought": true}}, ""))
	}
	if len(reply.ToolCalls) > 0 {
		return append(out, event(geminiCallParts(reply), finish))
	}
	if len(reply.Chunks) == 0 {
		return append(out, event([]any{map[string]any{"text": ""}}, finish))
	}
	for i, piece := range reply.Chunks {
		f := ""
		if i == len(reply.Chunks)-1 {
			f = finish
		}
		out = append(out, event([]any{map[string]any{"text": piece}}, f))
	}
	return out
}

func geminiResponse(reply Reply, model, id string, candidates int) map[string]any {
	var parts []any
	if reply.Reasoning != "" {
		parts = append(parts, map[string]any{"text": reply.Reasoning, "thought": true})
	}
	if len(reply.ToolCalls) > 0 {
		parts = append(parts, geminiCallParts(reply)...)
	} else {
		parts = append(parts, map[string]any{"text": reply.Content})
	}
	cands := make([]any, candidates)
	for i := range cands {
		c := map[string]any{"index": i, "finishReason": geminiFinish(reply)}
		if reply.FinishReason != "content_filter" {
			c["content"] = map[string]any{"parts": parts, "role": "model"}
		}
		cands[i] = c
	}
	return map[string]any{"candidates": cands, "usageMetadata": geminiUsage(reply), "modelVersion": model, "responseId": id}
}

// geminiCallParts are the reply's calls as functionCall parts; like Gemini 3, the
// first carries a thought signature.
func geminiCallParts(reply Reply) []any {
	parts := make([]any, 0, len(reply.ToolCalls))
	for i, c := range reply.ToolCalls {
		args := json.RawMessage(c.Arguments)
		if !json.Valid(args) {
			args = json.RawMessage("{}")
		}
		p := map[string]any{"functionCall": map[string]any{"name": c.Name, "args": args}}
		if i == 0 {
			p["thoughtSignature"] = geminiSignature(c.Name)
		}
		parts = append(parts, p)
	}
	return parts
}

// geminiSignature is the fake's opaque thought signature of a call.
func geminiSignature(name string) string {
	return base64.StdEncoding.EncodeToString([]byte("fake-thought:" + name))
}

func geminiFinish(reply Reply) string {
	switch reply.FinishReason {
	case "length":
		return "MAX_TOKENS"
	case "content_filter":
		return "SAFETY"
	}
	return "STOP"
}

func geminiUsage(r Reply) map[string]any {
	u := map[string]any{
		"promptTokenCount": r.PromptTokens, "candidatesTokenCount": r.CompletionTokens - r.ReasoningTokens,
		"totalTokenCount":     r.PromptTokens + r.CompletionTokens,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": r.PromptTokens}},
	}
	if r.ReasoningTokens > 0 {
		u["thoughtsTokenCount"] = r.ReasoningTokens
	}
	if r.CachedTokens > 0 {
		u["cachedContentTokenCount"] = r.CachedTokens
	}
	return u
}

func (g *Gemini) batchEmbed(w http.ResponseWriter, body []byte, model string) {
	var req struct {
		Requests []struct {
			Model   string `json:"model"`
			Content struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			TaskType             string `json:"taskType"`
			Title                string `json:"title"`
			OutputDimensionality int    `json:"outputDimensionality"`
		} `json:"requests"`
	}
	if err := strictJSON(body, &req); err != nil || len(req.Requests) == 0 {
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests must not be empty.\n", nil)
		return
	}
	var embeddings []any
	for i, r := range req.Requests {
		if r.Model != "models/"+model {
			writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
				fmt.Sprintf("Model name in requests[%d] (%q) does not match the model of the batch request (models/%s).", i, r.Model, model), nil)
			return
		}
		var text strings.Builder
		for _, p := range r.Content.Parts {
			text.WriteString(p.Text)
		}
		embeddings = append(embeddings, map[string]any{"values": Vector(text.String(), embedDims(r.OutputDimensionality))})
	}
	writeJSON(w, http.StatusOK, map[string]any{"embeddings": embeddings})
}

func (g *Gemini) predict(w http.ResponseWriter, body []byte) {
	var req struct {
		Instances []struct {
			Content  string `json:"content"`
			TaskType string `json:"task_type"`
			Title    string `json:"title"`
		} `json:"instances"`
		Parameters struct {
			OutputDimensionality int  `json:"outputDimensionality"`
			AutoTruncate         bool `json:"autoTruncate"`
		} `json:"parameters"`
	}
	if err := strictJSON(body, &req); err != nil || len(req.Instances) == 0 {
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid request: instances must not be empty.", nil)
		return
	}
	var predictions []any
	for _, in := range req.Instances {
		predictions = append(predictions, map[string]any{"embeddings": map[string]any{
			"values":     Vector(in.Content, embedDims(req.Parameters.OutputDimensionality)),
			"statistics": map[string]any{"token_count": len(in.Content)/4 + 1, "truncated": false}}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"predictions": predictions})
}

func embedDims(n int) int {
	if n > 0 && n <= 4096 {
		return n
	}
	return 8
}

// strictJSON decodes like Google's JSON front end: unknown fields are errors.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("Invalid JSON payload received. Unknown name %s: Cannot find field.", name)
		}
		return fmt.Errorf("Invalid JSON payload received. %v", err)
	}
	return nil
}

// geminiRequest is the generateContent request as the fake accepts it: every
// member the API knows that clients send, so that unknown ones can be refused.
type geminiRequest struct {
	Contents          []geminiContent   `json:"contents"`
	SystemInstruction *geminiContent    `json:"systemInstruction"`
	Tools             []geminiTool      `json:"tools"`
	ToolConfig        *geminiToolConfig `json:"toolConfig"`
	SafetySettings    json.RawMessage   `json:"safetySettings"`
	CachedContent     string            `json:"cachedContent"`
	Labels            json.RawMessage   `json:"labels"`
	GenerationConfig  struct {
		StopSequences      []string        `json:"stopSequences"`
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ResponseModalities json.RawMessage `json:"responseModalities"`
		CandidateCount     int             `json:"candidateCount"`
		MaxOutputTokens    int             `json:"maxOutputTokens"`
		Temperature        *float64        `json:"temperature"`
		TopP               *float64        `json:"topP"`
		TopK               *float64        `json:"topK"`
		Seed               *int32          `json:"seed"`
		PresencePenalty    *float64        `json:"presencePenalty"`
		FrequencyPenalty   *float64        `json:"frequencyPenalty"`
		ResponseLogprobs   bool            `json:"responseLogprobs"`
		Logprobs           *int            `json:"logprobs"`
		ThinkingConfig     json.RawMessage `json:"thinkingConfig"`
		MediaResolution    string          `json:"mediaResolution"`
		SpeechConfig       json.RawMessage `json:"speechConfig"`
	} `json:"generationConfig"`
}

type geminiContent struct {
	Role  string       `json:"role"`
	Parts []geminiPart `json:"parts"`
}

type geminiPart struct {
	Text       *string `json:"text"`
	InlineData *struct {
		MimeType string `json:"mimeType"`
		Data     string `json:"data"`
	} `json:"inlineData"`
	FileData         json.RawMessage `json:"fileData"`
	FunctionCall     *geminiCall     `json:"functionCall"`
	FunctionResponse *struct {
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	} `json:"functionResponse"`
	Thought          bool            `json:"thought"`
	ThoughtSignature string          `json:"thoughtSignature"`
	VideoMetadata    json.RawMessage `json:"videoMetadata"`
}

type geminiCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type geminiTool struct {
	FunctionDeclarations []struct {
		Name                 string          `json:"name"`
		Description          string          `json:"description"`
		Parameters           json.RawMessage `json:"parameters"`
		ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		Response             json.RawMessage `json:"response"`
		ResponseJSONSchema   json.RawMessage `json:"responseJsonSchema"`
		Behavior             string          `json:"behavior"`
	} `json:"functionDeclarations"`
	GoogleSearch          json.RawMessage `json:"googleSearch"`
	GoogleSearchRetrieval json.RawMessage `json:"googleSearchRetrieval"`
	CodeExecution         json.RawMessage `json:"codeExecution"`
	URLContext            json.RawMessage `json:"urlContext"`
}

type geminiToolConfig struct {
	FunctionCallingConfig *struct {
		Mode                 string   `json:"mode"`
		AllowedFunctionNames []string `json:"allowedFunctionNames"`
	} `json:"functionCallingConfig"`
	RetrievalConfig json.RawMessage `json:"retrievalConfig"`
}

// decodeGeminiRequest parses and validates a generateContent body; the error text
// is what the API answers in its 400.
func decodeGeminiRequest(body []byte) (*geminiRequest, error) {
	var req geminiRequest
	if err := strictJSON(body, &req); err != nil {
		return nil, err
	}
	if len(req.Contents) == 0 {
		return nil, errors.New("* GenerateContentRequest.contents: contents is not specified\n")
	}
	for i, c := range req.Contents {
		if c.Role != "" && c.Role != "user" && c.Role != "model" {
			return nil, errors.New("Please use a valid role: user, model.")
		}
		if len(c.Parts) == 0 {
			return nil, fmt.Errorf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i)
		}
		for j, p := range c.Parts {
			if err := p.validate(); err != nil {
				return nil, fmt.Errorf("* GenerateContentRequest.contents[%d].parts[%d].%v\n", i, j, err)
			}
		}
	}
	if err := validateTurns(req.Contents); err != nil {
		return nil, err
	}
	for _, t := range req.Tools {
		for i, d := range t.FunctionDeclarations {
			if d.Name == "" {
				return nil, fmt.Errorf("* GenerateContentRequest.tools[0].function_declarations[%d].name: Name cannot be empty.\n", i)
			}
			if d.Parameters != nil && d.ParametersJSONSchema != nil {
				return nil, fmt.Errorf("* GenerateContentRequest.tools[0].function_declarations[%d]: parameters and parameters_json_schema are mutually exclusive.\n", i)
			}
			if d.ParametersJSONSchema != nil && !bytes.HasPrefix(bytes.TrimSpace(d.ParametersJSONSchema), []byte("{")) {
				return nil, fmt.Errorf("* GenerateContentRequest.tools[0].function_declarations[%d].parameters_json_schema: must be a JSON object.\n", i)
			}
		}
	}
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		switch fc.Mode {
		case "", "AUTO", "ANY", "NONE", "VALIDATED":
		default:
			return nil, fmt.Errorf("Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), %q", fc.Mode)
		}
		if len(fc.AllowedFunctionNames) > 0 && fc.Mode != "ANY" && fc.Mode != "VALIDATED" {
			return nil, errors.New("* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: allowed_function_names should only be set when the mode is ANY or VALIDATED.\n")
		}
	}
	gc := req.GenerationConfig
	if (gc.ResponseJSONSchema != nil || gc.ResponseSchema != nil) && gc.ResponseMimeType != "application/json" {
		return nil, errors.New("* GenerateContentRequest.generation_config.response_mime_type: response_schema and response_json_schema require response_mime_type application/json.\n")
	}
	if gc.ResponseJSONSchema != nil && gc.ResponseSchema != nil {
		return nil, errors.New("* GenerateContentRequest.generation_config: response_schema and response_json_schema are mutually exclusive.\n")
	}
	if gc.CandidateCount > 8 {
		return nil, errors.New("* GenerateContentRequest.generation_config.candidate_count: must be at most 8.\n")
	}
	if err := checkGeminiThinking(gc.ThinkingConfig); err != nil {
		return nil, err
	}
	return &req, nil
}

func (p *geminiPart) validate() error {
	n := 0
	for _, set := range []bool{p.Text != nil, p.InlineData != nil, p.FileData != nil, p.FunctionCall != nil, p.FunctionResponse != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("data: required oneof field 'data' must have one initialized field")
	case n > 1:
		return errors.New("data: oneof field 'data' is already set")
	case p.InlineData != nil:
		if p.InlineData.MimeType == "" {
			return errors.New("inline_data.mime_type: mime_type must be set")
		}
		if _, err := base64.StdEncoding.DecodeString(p.InlineData.Data); err != nil {
			return errors.New("inline_data.data: Base64 decoding failed")
		}
	case p.FunctionCall != nil:
		if p.FunctionCall.Name == "" {
			return errors.New("function_call.name: Name cannot be empty")
		}
		if a := bytes.TrimSpace(p.FunctionCall.Args); len(a) > 0 && a[0] != '{' {
			return errors.New("function_call.args: args must be a JSON object")
		}
	case p.FunctionResponse != nil:
		if p.FunctionResponse.Name == "" {
			return errors.New("function_response.name: Name cannot be empty")
		}
		if r := bytes.TrimSpace(p.FunctionResponse.Response); len(r) == 0 || r[0] != '{' {
			return errors.New("function_response.response: response must be a JSON object")
		}
	}
	if p.ThoughtSignature != "" {
		if _, err := base64.StdEncoding.DecodeString(p.ThoughtSignature); err != nil {
			if _, err := base64.URLEncoding.DecodeString(p.ThoughtSignature); err != nil {
				return errors.New("thought_signature: Base64 decoding failed")
			}
		}
	}
	return nil
}

// validateTurns applies the function-calling rules of the API: a function call turn
// follows a user turn or a function response turn and carries a thought signature
// on its first call (Gemini 3); a function response turn follows a function call
// turn and answers each of its calls.
func validateTurns(contents []geminiContent) error {
	calls := -1 // function calls of the previous model turn, -1 when it had none
	prevUser := false
	for _, c := range contents {
		nCalls, nResponses := 0, 0
		for j, p := range c.Parts {
			if p.FunctionCall != nil {
				if nCalls == 0 && p.ThoughtSignature == "" {
					return fmt.Errorf("Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `%s` , position %d. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.", p.FunctionCall.Name, j+1)
				}
				nCalls++
			}
			if p.FunctionResponse != nil {
				nResponses++
			}
		}
		if nCalls > 0 && !prevUser {
			return errors.New("Please ensure that function call turn comes immediately after a user turn or after a function response turn.")
		}
		if nResponses > 0 {
			if calls < 0 {
				return errors.New("Please ensure that function response turn comes immediately after a function call turn.")
			}
			if nResponses != calls {
				return errors.New("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.")
			}
		}
		calls = -1
		if c.Role == "model" && nCalls > 0 {
			calls = nCalls
		}
		prevUser = c.Role != "model"
	}
	return nil
}

// functionOutput is what the model reads of a functionResponse.response: its
// "output" member when it has one, else its "error" member, else the whole object
// ("Use "output" key to specify function output and "error" key to specify error
// details (if any). If "output" and "error" keys are not specified, then whole
// "response" is treated as function output": FunctionResponse.response in the API
// reference and in google.golang.org/genai). A string output is read as its text.
func functionOutput(response json.RawMessage) string {
	var members map[string]json.RawMessage
	if json.Unmarshal(response, &members) == nil {
		for _, key := range []string{"output", "error"} {
			v, ok := members[key]
			if !ok {
				continue
			}
			var s string
			if json.Unmarshal(v, &s) == nil {
				return s
			}
			return string(v)
		}
	}
	return string(response)
}

// prompt reduces a validated request to a Prompt.
func (req *geminiRequest) prompt(model string, stream bool) *Prompt {
	gc := req.GenerationConfig
	p := &Prompt{Model: model, MaxTokens: gc.MaxOutputTokens, Stop: gc.StopSequences, Stream: stream,
		JSON: gc.ResponseMimeType == "application/json"}
	p.Thinking, p.Effort = geminiThoughts(gc.ThinkingConfig)
	if si := req.SystemInstruction; si != nil {
		var texts []string
		for _, part := range si.Parts {
			if part.Text != nil {
				texts = append(texts, *part.Text)
			}
		}
		p.System = strings.Join(texts, "\n")
	}
	var allowed []string
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		allowed = fc.AllowedFunctionNames
		switch {
		case fc.Mode == "AUTO":
			p.ToolChoice = "auto"
		case fc.Mode == "NONE":
			p.ToolChoice = "none"
		case len(allowed) == 1:
			p.ToolChoice = allowed[0]
		case fc.Mode == "ANY" || fc.Mode == "VALIDATED":
			p.ToolChoice = "required"
		}
	}
	for _, t := range req.Tools {
		for _, d := range t.FunctionDeclarations {
			if len(allowed) == 0 || slices.Contains(allowed, d.Name) {
				p.offer(d.Name, d.Description)
			}
		}
	}
	for _, c := range req.Contents {
		turn := Turn{Role: "user"}
		if c.Role == "model" {
			turn.Role = "assistant"
		}
		var text strings.Builder
		for _, part := range c.Parts {
			switch {
			case part.Thought:
			case part.Text != nil:
				text.WriteString(*part.Text)
			case part.InlineData != nil:
				turn.Images++
			case part.FunctionCall != nil:
				turn.ToolCalls = append(turn.ToolCalls, ToolCall{ID: part.FunctionCall.ID, Name: part.FunctionCall.Name,
					Arguments: string(part.FunctionCall.Args)})
			case part.FunctionResponse != nil:
				p.Turns = append(p.Turns, Turn{Role: "tool", Text: functionOutput(part.FunctionResponse.Response)})
			}
		}
		turn.Text = text.String()
		if turn.Text != "" || turn.Images > 0 || len(turn.ToolCalls) > 0 {
			p.Turns = append(p.Turns, turn)
		}
	}
	if len(p.Turns) == 0 {
		p.Turns = []Turn{{Role: "user"}}
	}
	return p
}
