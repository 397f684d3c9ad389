package responses

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdk "github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/providers"
)

// richResponse is a completed response with every kind of output and usage detail.
func richResponse(t testing.TB) *Response {
	req := mustDecode(t, `{"model":"gpt-4o","instructions":"Be brief.","input":"Weather?",
		"previous_response_id":"resp_prev","temperature":0.3,"top_p":0.8,"max_output_tokens":256,
		"metadata":{"team":"search"},"truncation":"auto","parallel_tool_calls":false,
		"tools":[{"type":"function","name":"weather","description":"Weather of a city.","parameters":{"type":"object"},"strict":true}],
		"tool_choice":{"type":"function","name":"weather"},
		"text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
		"reasoning":{"effort":"low"},"user":"u1"}`)
	base := NewResponse(req, NewResponseID(), time.Unix(1700000000, 0))
	chat := reply("Checking.", providers.FinishToolCalls, call("call_1", "weather", `{"city":"Paris"}`), call("call_2", "weather", `{"city":"Rome"}`))
	chat.Usage = &providers.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120,
		PromptTokensDetails:     &providers.PromptTokensDetails{CachedTokens: 64},
		CompletionTokensDetails: &providers.CompletionTokensDetails{ReasoningTokens: 7}}
	return FromChat(chat, base)
}

// Our Response decodes with the official SDK's types, field by field.
func TestResponseDecodesWithTheSDK(t *testing.T) {
	r := richResponse(t)
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got sdk.Response
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || string(got.Object) != "response" || got.CreatedAt != 1700000000 || got.Status != sdk.ResponseStatusCompleted ||
		got.CompletedAt == 0 || got.Model != "gpt-4o" || got.PreviousResponseID != "resp_prev" ||
		got.Instructions.OfString != "Be brief." || got.Temperature != 0.3 || got.TopP != 0.8 || got.MaxOutputTokens != 256 ||
		got.ParallelToolCalls || got.Truncation != sdk.ResponseTruncationAuto || got.Metadata["team"] != "search" ||
		got.Reasoning.Effort != "low" || got.User != "u1" || got.Background {
		t.Fatalf("decoded %s", raw)
	}
	for name, f := range map[string]interface{ Valid() bool }{
		"error": got.JSON.Error, "incomplete_details": got.JSON.IncompleteDetails, "usage": got.JSON.Usage,
		"tools": got.JSON.Tools, "tool_choice": got.JSON.ToolChoice, "text": got.JSON.Text, "output": got.JSON.Output,
	} {
		// error and incomplete_details are null here: present, not valid objects.
		if (name == "error" || name == "incomplete_details") == f.Valid() {
			t.Fatalf("%s: valid=%v in %s", name, f.Valid(), raw)
		}
	}
	if got.ToolChoice.Type != "function" || got.ToolChoice.Name != "weather" {
		t.Fatalf("tool_choice %+v", got.ToolChoice)
	}
	if len(got.Tools) != 1 || got.Tools[0].Type != "function" || got.Tools[0].Name != "weather" || !got.Tools[0].Strict {
		t.Fatalf("tools %+v", got.Tools)
	}
	if f := got.Text.Format; f.Type != "json_schema" || f.Name != "out" || !f.Strict || f.Schema["type"] != "object" {
		t.Fatalf("text %+v", f)
	}
	if len(got.Output) != 3 {
		t.Fatalf("output %s", raw)
	}
	msg := got.Output[0].AsMessage()
	if msg.Type != "message" || msg.Role != "assistant" || !strings.HasPrefix(msg.ID, "msg_") || msg.Status != "completed" ||
		len(msg.Content) != 1 || msg.Content[0].Type != "output_text" || msg.Content[0].Text != "Checking." ||
		!msg.Content[0].JSON.Annotations.Valid() {
		t.Fatalf("message %+v", msg)
	}
	for i, want := range []string{`{"city":"Paris"}`, `{"city":"Rome"}`} {
		fc := got.Output[1+i].AsFunctionCall()
		if fc.Type != "function_call" || !strings.HasPrefix(fc.ID, "fc_") || fc.CallID != r.Output[1+i].CallID ||
			fc.Name != "weather" || fc.Arguments != want || fc.Status != "completed" {
			t.Fatalf("call %d %+v", i, fc)
		}
	}
	u := got.Usage
	if u.InputTokens != 100 || u.OutputTokens != 20 || u.TotalTokens != 120 ||
		u.InputTokensDetails.CachedTokens != 64 || u.OutputTokensDetails.ReasoningTokens != 7 {
		t.Fatalf("usage %+v", u)
	}
	if got.OutputText() != "Checking." {
		t.Fatalf("output_text %q", got.OutputText())
	}

	// What is stored decodes back to the same document.
	var back Response
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(raw, again) {
		t.Fatalf("round trip differs:\n%s\n%s", raw, again)
	}
}

func TestIncompleteAndRefusalFromChat(t *testing.T) {
	base := NewResponse(mustDecode(t, `{"model":"m","input":"x"}`), NewResponseID(), time.Now())
	chat := reply("cut sho", providers.FinishLength)
	chat.Choices[0].Message.Refusal = "and no"
	r := FromChat(chat, base)
	raw, _ := json.Marshal(r)
	var got sdk.Response
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	m := got.Output[0].AsMessage()
	if got.Status != sdk.ResponseStatusIncomplete || got.IncompleteDetails.Reason != "max_output_tokens" || got.JSON.CompletedAt.Valid() ||
		m.Status != "incomplete" || m.Content[1].Type != "refusal" || m.Content[1].Refusal != "and no" || base.Status != ResponseInProgress {
		t.Fatalf("%s", raw)
	}
	if u := got.Usage; r.Usage.ChatUsage() != (providers.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}) || u.TotalTokens != 15 {
		t.Fatalf("usage %+v", r.Usage)
	}
}

// api is a minimal version of the proxy's handlers over this package, with a fake
// model, so that the official SDK can be pointed at it.
type api struct {
	t     *testing.T
	store *Store
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	owner := Owner{Key: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}
	ctx := r.Context()
	id := r.PathValue("id")
	var err error
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/responses":
		err = a.create(w, r, owner)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/input_items"):
		var p ListParams
		if p, err = ParseListParams(r.URL.Query()); err == nil {
			var list *ItemList
			if list, err = a.store.InputItems(ctx, id, owner, p); err == nil {
				writeJSON(w, list)
			}
		}
	case r.Method == http.MethodGet:
		var rec *Stored
		if rec, err = a.store.Get(ctx, id, owner); err == nil {
			writeJSON(w, rec.Response)
		}
	case r.Method == http.MethodDelete:
		if err = a.store.Delete(ctx, id, owner); err == nil {
			writeJSON(w, DeletedResponse(id))
		}
	}
	if err != nil {
		e := providers.AsError(err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": e.Message, "type": e.Type, "param": e.Param, "code": e.Code}})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (a *api) create(w http.ResponseWriter, r *http.Request, owner Owner) error {
	body, _ := io.ReadAll(r.Body)
	req, err := DecodeCreate(body)
	if err != nil {
		return err
	}
	tr, err := a.store.Begin(r.Context(), req, owner)
	if err != nil {
		return err
	}
	chat, err := tr.Chat(128000, estimateChars)
	if err != nil {
		return err
	}
	answer := fakeModel(chat)
	var final *Response
	if !req.Stream {
		final = tr.Complete(answer)
		writeJSON(w, final)
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		b := tr.Stream()
		_, _ = w.Write(b.Start())
		for _, c := range chunksOf(answer) {
			ev, err := b.Chunk(c)
			if err != nil {
				a.t.Error(err)
			}
			_, _ = w.Write(ev)
		}
		var end []byte
		end, final = b.Finish()
		_, _ = w.Write(end)
	}
	_, err = a.store.Save(r.Context(), tr, final)
	return err
}

// fakeModel calls the first tool until it has an answer, then reports the answer.
func fakeModel(c *providers.ChatRequest) *providers.ChatResponse {
	last := c.Messages[len(c.Messages)-1]
	switch {
	case last.Role == "tool":
		return textReply("The tool said " + last.Content.AllText())
	case len(c.Tools) > 0:
		return reply("", providers.FinishToolCalls, call("call_"+c.Tools[0].Function.Name, c.Tools[0].Function.Name, `{"x":1}`))
	}
	return textReply("You said: " + last.Content.AllText())
}

// chunksOf streams a chat response the way a translating provider does.
func chunksOf(r *providers.ChatResponse) [][]byte {
	enc := providers.NewStreamEncoder(r.ID, r.Model, 1)
	m := r.Choices[0].Message
	out := [][]byte{bytes.Clone(enc.Role())}
	if text := m.Content.AllText(); text != "" {
		half := len(text) / 2
		out = append(out, bytes.Clone(enc.Text(text[:half])), bytes.Clone(enc.Text(text[half:])))
	}
	for i, tc := range m.ToolCalls {
		out = append(out, bytes.Clone(enc.ToolCallStart(i, tc.ID, tc.Function.Name)), bytes.Clone(enc.ToolCallArgs(i, tc.Function.Arguments)))
	}
	return append(out, bytes.Clone(enc.Finish(r.Choices[0].FinishReason)), bytes.Clone(enc.Usage(*r.Usage)))
}

func newAPI(t *testing.T) *openai.Client {
	s := newStore(t, openState(t), Options{})
	mux := http.NewServeMux()
	h := &api{t: t, store: s}
	for _, p := range []string{"POST /v1/responses", "GET /v1/responses/{id}", "DELETE /v1/responses/{id}", "GET /v1/responses/{id}/input_items"} {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("alice"), option.WithMaxRetries(0))
	return &c
}

// The official SDK holds a conversation with a function call through
// previous_response_id: create, answer the call, stream a follow-up, read, list and
// delete, exactly as a user's code would against the proxy.
func TestSDKConversation(t *testing.T) {
	ctx := context.Background()
	c := newAPI(t)

	first, err := c.Responses.New(ctx, sdk.ResponseNewParams{
		Model:        "gpt-4o",
		Instructions: openai.String("Use the tool."),
		Input:        sdk.ResponseNewParamsInputUnion{OfString: openai.String("What is x?")},
		Tools: []sdk.ToolUnionParam{{OfFunction: &sdk.FunctionToolParam{Name: "lookup",
			Parameters: map[string]any{"type": "object"}, Strict: openai.Bool(false)}}},
		Temperature: openai.Float(0.1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != sdk.ResponseStatusCompleted || len(first.Output) != 1 || first.Output[0].Type != "function_call" {
		t.Fatalf("first %s", first.RawJSON())
	}
	fc := first.Output[0].AsFunctionCall()

	out := sdk.ResponseInputItemParamOfFunctionCallOutput("x is 42")
	out.OfFunctionCallOutput.CallID = openai.String(fc.CallID)
	second, err := c.Responses.New(ctx, sdk.ResponseNewParams{
		Model:              "gpt-4o",
		PreviousResponseID: openai.String(first.ID),
		Input:              sdk.ResponseNewParamsInputUnion{OfInputItemList: sdk.ResponseInputParam{out}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if second.OutputText() != "The tool said x is 42" || second.PreviousResponseID != first.ID {
		t.Fatalf("second %s", second.RawJSON())
	}

	stream := c.Responses.NewStreaming(ctx, sdk.ResponseNewParams{
		Model:              "gpt-4o",
		PreviousResponseID: openai.String(second.ID),
		Input:              sdk.ResponseNewParamsInputUnion{OfString: openai.String("thanks")},
	})
	var text strings.Builder
	var completed sdk.Response
	for stream.Next() {
		switch ev := stream.Current().AsAny().(type) {
		case sdk.ResponseTextDeltaEvent:
			text.WriteString(ev.Delta)
		case sdk.ResponseCompletedEvent:
			completed = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "You said: thanks" || completed.OutputText() != text.String() || completed.Usage.TotalTokens != 15 {
		t.Fatalf("streamed %q, completed %s", text.String(), completed.RawJSON())
	}

	got, err := c.Responses.Get(ctx, completed.ID, sdk.ResponseGetParams{})
	if err != nil || got.OutputText() != "You said: thanks" {
		t.Fatalf("get: %v %v", got, err)
	}
	page, err := c.Responses.InputItems.List(ctx, completed.ID, sdk.InputItemListParams{Order: sdk.InputItemListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range page.Data {
		kinds = append(kinds, it.Type+"/"+it.Role)
	}
	if strings.Join(kinds, " ") != "message/user function_call/ function_call_output/ message/assistant message/user" {
		t.Fatalf("input items %v", kinds)
	}
	if page.Data[2].AsFunctionCallOutput().Output.OfString != "x is 42" || page.Data[0].AsMessage().Content[0].Text != "What is x?" {
		t.Fatalf("items %s", page.RawJSON())
	}

	if err := c.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.New(ctx, sdk.ResponseNewParams{
		Model:              "gpt-4o",
		PreviousResponseID: openai.String(completed.ID),
		Input:              sdk.ResponseNewParamsInputUnion{OfString: openai.String("still there?")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "previous_response_not_found" ||
		apiErr.Param != "previous_response_id" || !strings.Contains(apiErr.Message, first.ID) {
		t.Fatalf("continuing past a deleted turn: %v", err)
	}
	_, err = c.Responses.Get(ctx, first.ID, sdk.ResponseGetParams{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("get deleted: %v", err)
	}
	_, err = c.Responses.New(ctx, sdk.ResponseNewParams{
		Model: "gpt-4o", Input: sdk.ResponseNewParamsInputUnion{OfString: openai.String("x")},
		Tools: []sdk.ToolUnionParam{{OfWebSearch: &sdk.WebSearchToolParam{Type: sdk.WebSearchToolTypeWebSearch}}},
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tools[0].type" {
		t.Fatalf("built-in tool: %v", err)
	}
}
