package anthropic

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// Dialect serves Anthropic's Messages API (POST /v1/messages, count_tokens, and the
// models list), also under /anthropic/v1 for clients configured with that prefix.
// A target that speaks Messages natively gets the client's body with only the model
// rewritten; every other target gets the request translated through the canonical
// chat request, and its answer translated back.
type Dialect struct {
	exe *executor.Executor
}

// New returns the Anthropic dialect over exe.
func New(exe *executor.Executor) *Dialect { return &Dialect{exe: exe} }

// Endpoints are the dialect's routes. GET /v1/models is shared with the OpenAI
// dialect: the server sends requests that carry anthropic-version here
// (ServeModels), as Claude Code's model discovery does.
func (d *Dialect) Endpoints() []executor.Endpoint {
	var eps []executor.Endpoint
	for _, prefix := range []string{"/v1", "/anthropic/v1"} {
		eps = append(eps,
			executor.Endpoint{Pattern: "POST " + prefix + "/messages", API: "messages", Serve: d.serveMessages},
			executor.Endpoint{Pattern: "POST " + prefix + "/messages/count_tokens", API: "count_tokens", Serve: d.serveCountTokens},
		)
	}
	return append(eps,
		executor.Endpoint{Pattern: "GET /anthropic/v1/models", API: "models", Serve: d.ServeModels},
		executor.Endpoint{Pattern: "GET /anthropic/v1/models/{id...}", API: "models", Serve: d.ServeModel})
}

// Credential returns the key a client presented: x-api-key as the Anthropic SDKs
// send it, or "Authorization: Bearer" as Claude Code does with ANTHROPIC_AUTH_TOKEN.
func Credential(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// Render writes an error in Anthropic's shape, with its request-id header (and
// Retry-After and the rate-limit headers of a refusal). Every target failing
// (502, 503) is Anthropic's 529 overloaded_error, which Claude Code and the SDKs
// retry with backoff.
func Render(w http.ResponseWriter, e *executor.Error) {
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Rate != nil {
		executor.SetRateHeaders(h, e.Rate)
	}
	writeError(w, fromExecutor(e))
}

// fromExecutor names an error by its status, as Anthropic does. A type of
// Anthropic's other than invalid_request_error is kept: a native target's own
// verdict on the client's request. invalid_request_error is also OpenAI's word
// for every client error (a 401, a 404), so it says nothing.
func fromExecutor(e *executor.Error) *Error {
	status := e.Status
	if status == http.StatusBadGateway || status == http.StatusServiceUnavailable {
		status = StatusOverloaded
	}
	typ := TypeForStatus(status)
	if isAnthropicType(e.Type) && e.Type != TypeInvalidRequest && status < 500 {
		typ = e.Type
	}
	return &Error{Status: status, Type: typ, Message: e.Message}
}

func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	id := h.Get("X-Request-Id")
	h.Set("Content-Type", "application/json")
	if id != "" {
		h.Set("Request-Id", id)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.JSON(id))
}

// clientError is a parse or translation failure of the client's request.
func clientError(err error) *executor.Error {
	if e, ok := err.(*Error); ok {
		return &executor.Error{Status: e.Status, Type: e.Type, Message: e.Message}
	}
	return executor.ClientError(providers.AsError(err))
}

// readRequest reads and checks a Messages (or, with count, a count_tokens) body;
// when it is not ok, the client has its answer.
func readRequest(w http.ResponseWriter, rec *executor.Record, count bool) ([]byte, *Head, bool) {
	w.Header().Set("Request-Id", rec.Request().Header.Get("X-Request-Id"))
	// A Messages request keeps no slice of its body past its Run; count_tokens
	// sends its body outside one, so it keeps it.
	read := rec.BorrowBody
	if count {
		read = rec.ReadBody
	}
	body, aerr := read(w)
	if aerr != nil {
		rec.Fail(w, aerr)
		return nil, nil, false
	}
	head, err := ReadHead(body, count)
	if err != nil {
		rec.Fail(w, clientError(err))
		return nil, nil, false
	}
	rec.Requested = head.Model
	return body, head, true
}

func (d *Dialect) serveMessages(w http.ResponseWriter, rec *executor.Record) {
	r, snap := rec.Request(), rec.Snapshot()
	body, head, ok := readRequest(w, rec, false)
	if !ok {
		return
	}
	rec.Stream = head.Stream
	tokens := len(body) / 4
	if snap.NeedsTokens(rec.Caller) {
		tokens = EstimateInputTokens(body)
	}
	a, aerr := d.exe.Admit(r.Context(), rec, executor.Info{Alias: head.Model, PromptTokens: tokens,
		MaxTokens: head.MaxTokens, Tools: head.Tools, Images: snap.Router.Rules.UsesImages() && head.Images(), Stream: head.Stream,
		Tags: executor.Tags(r, "")})
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	defer d.exe.Settle(rec, a)
	layout := &head.layout
	if limit := a.Decision.MaxTokens; limit > 0 && head.MaxTokens > limit {
		// A rule's cap binds what goes upstream, natively and translated alike.
		var err error
		if body, err = jsonfield.Set(body, "max_tokens", []byte(strconv.Itoa(limit))); err != nil {
			rec.Fail(w, clientError(err))
			return
		}
		layout = nil // a new body: the provider finds its members itself
	}
	if a.Rate.Allowed {
		executor.SetRateHeaders(w.Header(), &a.Rate)
	}
	call := &providers.MessagesCall{Body: body, Layout: layout, Beta: providers.SplitBeta(r.Header.Values("Anthropic-Beta"))}
	if log := d.exe.Log(); log.Core().Enabled(zap.DebugLevel) {
		call.DroppedBeta = func(flags []string) {
			log.Debug("anthropic-beta flags the target's cloud does not take were left out", zap.Strings("flags", flags))
		}
	}
	tr := &translation{body: body, lease: rec.BodyLease(), head: head}
	run := d.exe.NewRun(rec, a, executor.Work{Messages: call, ChatFor: tr.request, Stream: head.Stream,
		Header: executor.ForwardHeaders(r)})
	defer run.Close()
	ans, aerr := run.Start()
	if aerr != nil {
		rec.Fail(w, aerr)
		return
	}
	switch {
	case ans.Native && ans.Streaming():
		run.Relay(w, ans, &nativeSink{})
	case ans.Native:
		run.Respond(w, ans)
	case ans.Streaming():
		run.Relay(w, ans, &translatedSink{t: NewStreamTranslator(StreamOptions{Model: rec.Alias, InputTokens: tokens})})
	default:
		out, err := FromChat(ans.Response, ResponseOptions{Model: rec.Alias})
		if err != nil {
			ans.Reject(true)
			rec.Fail(w, executor.Errorf(http.StatusBadGateway, "server_error", "upstream_error", "",
				"The upstream answer could not be read."))
			return
		}
		ans.Response.Body = out
		run.Respond(w, ans)
	}
}

// translation is the chat request every non-native target gets: the body
// translated once, on first use, so that a request served natively never pays
// for it. The conversation is copied as written when chatBody takes it, and
// decoded into the canonical request only when a provider asks for that.
type translation struct {
	body []byte
	// lease lends body; the chat body is written in a buffer attached to it.
	lease *providers.Lease
	// head is what ReadHead read of the body as the client sent it.
	head *Head
	once sync.Once
	out  *providers.Request
	err  error
}

// request is the translation, for any target. What it cannot carry is the
// client's 400, never a failure of the target.
func (x *translation) request(*policy.Target) (*providers.Request, error) {
	x.once.Do(func() {
		var own *providers.Lease
		var buf []byte
		if x.lease != nil {
			if own = providers.NewLease(chatBodySize(len(x.body))); own != nil {
				buf = own.Buffer()
			}
		}
		chat, ok := chatBody(x.body, buf, x.head)
		if own != nil && ok && own.Owns(chat.body) {
			x.lease.Attach(own)
		} else {
			own.Release()
		}
		if ok {
			x.out, x.err = providers.NewChatBody(chat.head, chat.body, chat.at, chat.images, x.canonical)
			return
		}
		var c *providers.ChatRequest
		if c, x.err = x.canonical(); x.err == nil {
			x.out, x.err = providers.NewRequest(c)
		}
	})
	return x.out, x.err
}

// canonical decodes and translates the body into the canonical request.
func (x *translation) canonical() (*providers.ChatRequest, error) {
	req, err := ParseRequest(x.body)
	var c *providers.ChatRequest
	if err == nil {
		c, err = req.Canonical()
	}
	if e, ok := err.(*Error); ok {
		err = &providers.Error{Class: providers.ClassInvalidRequest, Status: e.Status, Type: e.Type, Message: e.Message}
	}
	return c, err
}

// serveCountTokens counts a request's input tokens: exactly where a target of the
// alias has a counting endpoint (Anthropic, Claude on Bedrock and on Vertex AI),
// otherwise by the local estimate. The answer says which in the header
// X-Switchyard-Token-Count (exact or estimate). Counting is not a model call: it
// passes the allow-list but no rate limit or budget.
func (d *Dialect) serveCountTokens(w http.ResponseWriter, rec *executor.Record) {
	r, snap := rec.Request(), rec.Snapshot()
	body, head, ok := readRequest(w, rec, true)
	if !ok {
		return
	}
	alias := snap.Router.Alias(head.Model)
	if alias == nil || !rec.Caller.Allows(head.Model) {
		rec.Fail(w, executor.ModelNotFound(head.Model))
		return
	}
	rec.Alias = alias.Name
	n, exact := d.count(r, alias, body)
	if !exact {
		n = EstimateInputTokens(body)
	}
	how := "estimate"
	if exact {
		how = "exact"
	}
	w.Header().Set("X-Switchyard-Token-Count", how)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"input_tokens":` + strconv.Itoa(n) + "}"))
}

// count asks the first available target of the alias whose cloud counts tokens.
func (d *Dialect) count(r *http.Request, alias *policy.Alias, body []byte) (int, bool) {
	for _, tier := range alias.Tiers {
		for _, t := range tier {
			m, ok := t.Provider.(providers.Messenger)
			c, counts := t.Provider.(providers.TokenCounter)
			if !ok || !counts || !m.SpeaksMessages(t.Model) || !t.Health.Available() {
				continue
			}
			ctx, cancel := context.WithTimeout(r.Context(), t.Timeouts.FirstByte)
			n, err := c.CountTokens(ctx, &providers.MessagesCall{Body: body, Model: t.Model,
				Beta: providers.SplitBeta(r.Header.Values("Anthropic-Beta")), Header: executor.ForwardHeaders(r)})
			cancel()
			if err == nil {
				return n, true
			}
			d.exe.Log().Debug("counting tokens upstream failed; trying the next target", zap.String("target", t.ID), zap.Error(err))
		}
	}
	return 0, false
}
