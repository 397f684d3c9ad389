package fakes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicbedrock "github.com/anthropics/anthropic-sdk-go/v2/bedrock"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The official Anthropic SDK judges the Claude-serving fakes: its own Bedrock
// middleware (SigV4, the body moved to InvokeModel's shape, the event stream
// turned back into SSE) and its Vertex middleware (rawPredict paths, bearer
// tokens) must work against them as against the clouds.

// thinkingScript is an answer with every kind of block a replay must keep: a
// thinking block and its signature, text with a citation, a tool call.
func thinkingScript() fakes.ClaudeReply {
	return fakes.ClaudeReply{Content: []json.RawMessage{
		json.RawMessage(`{"type":"thinking","thinking":"The user wants the weather. I will call the tool.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/signature/with+base64=="}`),
		json.RawMessage(`{"type":"text","text":"Let me check.","citations":[{"type":"char_location","cited_text":"weather","document_index":0,"document_title":"doc","start_char_index":0,"end_char_index":7}]}`),
		json.RawMessage(`{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris","units":"celsius"}}`),
	}}
}

func weatherParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 2048,
		Thinking:  anthropic.ThinkingConfigParamOfEnabled(1024),
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"city": map[string]any{"type": "string"}}}, "get_weather")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
	}
}

// checkThinkingAnswer checks a message rebuilt from the scripted answer.
func checkThinkingAnswer(t *testing.T, msg *anthropic.Message) {
	t.Helper()
	want := thinkingScript().Content
	if len(msg.Content) != len(want) || msg.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("message %+v", msg)
	}
	th := msg.Content[0].AsThinking()
	if th.Signature != "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/signature/with+base64==" ||
		th.Thinking != "The user wants the weather. I will call the tool." {
		t.Errorf("thinking block %+v", th)
	}
	text := msg.Content[1].AsText()
	if text.Text != "Let me check." || len(text.Citations) != 1 || text.Citations[0].CitedText != "weather" {
		t.Errorf("text block %+v", text)
	}
	tool := msg.Content[2].AsToolUse()
	if tool.ID != "toolu_01A" || tool.Name != "get_weather" || string(tool.Input) != `{"city":"Paris","units":"celsius"}` {
		t.Errorf("tool block %+v input %s", tool, tool.Input)
	}
}

func TestAnthropicFakeScriptedBlocksSurviveBothWays(t *testing.T) {
	client, fake := anthropicClient(t)
	fake.Script(thinkingScript(), thinkingScript())
	msg, err := client.Messages.New(context.Background(), weatherParams())
	if err != nil {
		t.Fatal(err)
	}
	checkThinkingAnswer(t, msg)
	// Non-streamed, each block is the scripted bytes.
	for i, raw := range thinkingScript().Content {
		if got := msg.Content[i].RawJSON(); got != string(raw) {
			t.Errorf("block %d: got %s want %s", i, got, raw)
		}
	}
	stream := client.Messages.NewStreaming(context.Background(), weatherParams())
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	checkThinkingAnswer(t, &acc)
}

func TestAnthropicFakeCountTokensMatchesUsage(t *testing.T) {
	client, _ := anthropicClient(t)
	msgs := []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("How many tokens is this sentence?"))}
	system := []anthropic.TextBlockParam{{Text: "You count tokens."}}
	count, err := client.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model: "claude-sonnet-4-5", Messages: msgs,
		System: anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: system},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5",
		MaxTokens: 64, Messages: msgs, System: system})
	if err != nil {
		t.Fatal(err)
	}
	if count.InputTokens == 0 || count.InputTokens != msg.Usage.InputTokens {
		t.Fatalf("count_tokens %d, usage input %d", count.InputTokens, msg.Usage.InputTokens)
	}
}

func bedrockClaudeClient(t *testing.T, f *fakes.Bedrock, opts ...option.RequestOption) anthropic.Client {
	t.Helper()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	t.Setenv("ANTHROPIC_API_KEY", "")
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(brKey, brSecret, "")}
	return anthropic.NewClient(append([]option.RequestOption{option.WithoutEnvironmentDefaults(),
		anthropicbedrock.WithConfig(cfg), option.WithBaseURL(f.Endpoint()), option.WithMaxRetries(0)}, opts...)...)
}

func TestBedrockFakeClaudeWithAnthropicSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	client := bedrockClaudeClient(t, f)
	params := anthropic.MessageNewParams{Model: brModel, MaxTokens: 64,
		System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))}}
	msg, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "br heard: hello there" || msg.StopReason != anthropic.StopReasonEndTurn ||
		msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens != 4 || msg.Model != "claude-sonnet-4-20250514" {
		t.Fatalf("message %+v", msg)
	}
	rec := f.Requests()[0]
	if rec.Path != "/model/"+brModel+"/invoke" || !strings.Contains(string(rec.Body), `"anthropic_version"`) ||
		strings.Contains(string(rec.Body), `"model"`) {
		t.Fatalf("request %s %s", rec.Path, rec.Body)
	}

	// Streamed tool use through the event stream, rebuilt by the SDK.
	f.Script(thinkingScript())
	weather := weatherParams()
	weather.Model = brModel
	stream := client.Messages.NewStreaming(context.Background(), weather)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	checkThinkingAnswer(t, &acc)
	if p := f.Requests()[1].Path; p != "/model/"+brModel+"/invoke-with-response-stream" {
		t.Errorf("stream path %s", p)
	}
}

func TestBedrockFakeClaudeRejectsUnknownBeta(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	params := anthropic.MessageNewParams{Model: brModel, MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}

	ok := bedrockClaudeClient(t, f, option.WithHeader("anthropic-beta", "interleaved-thinking-2025-05-14"))
	if _, err := ok.Messages.New(context.Background(), params); err != nil {
		t.Fatalf("a flag Bedrock documents: %v", err)
	}
	var sent struct {
		Beta []string `json:"anthropic_beta"`
	}
	if err := json.Unmarshal(f.Requests()[0].Body, &sent); err != nil || len(sent.Beta) != 1 {
		t.Fatalf("the SDK did not move the flag into the body: %s", f.Requests()[0].Body)
	}

	bad := bedrockClaudeClient(t, f, option.WithHeader("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"))
	_, err := bad.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Error(), "invalid beta flag") {
		t.Fatalf("unknown flag: %v", err)
	}
}

func TestBedrockFakeClaudeStreamException(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	client := bedrockClaudeClient(t, f)
	// message_start, content_block_start and a ping (which the SDK does not
	// surface), then the exception.
	f.Fail(fakes.Fault{CutAfter: 3, Code: "modelStreamErrorException", Message: "model failed", Times: 1})
	stream := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: brModel, MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	events := 0
	for stream.Next() {
		events++
	}
	if events != 2 || stream.Err() == nil || !strings.Contains(stream.Err().Error(), "model failed") {
		t.Fatalf("%d events, err %v", events, stream.Err())
	}
}

func TestBedrockFakeCountTokensWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"system":"You count tokens.","messages":[{"role":"user","content":"How many tokens is this?"}]}`
	foundation := strings.TrimPrefix(brModel, "us.")
	out, err := c.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{ModelId: aws.String(foundation),
		Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(body)}}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(foundation),
		Body: []byte(body), ContentType: aws.String("application/json")})
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Usage struct {
			InputTokens int32 `json:"input_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(inv.Body, &msg); err != nil {
		t.Fatal(err)
	}
	if out.InputTokens == nil || *out.InputTokens == 0 || *out.InputTokens != msg.Usage.InputTokens {
		t.Fatalf("CountTokens %v, InvokeModel usage %d", out.InputTokens, msg.Usage.InputTokens)
	}
	// Inference profiles are not counted, as on Bedrock.
	_, err = c.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{ModelId: aws.String(brModel),
		Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(body)}}})
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("profile id: %v", err)
	}
}

// vertexClient is the Anthropic SDK speaking to Vertex AI as Google documents
// it (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude):
// the model moves from the body to the path (:rawPredict, :streamRawPredict,
// count-tokens:rawPredict keeps it), anthropic_version vertex-2023-10-16 goes in
// the body, a bearer token authorizes. (The SDK's own vertex package would need
// golang.org/x/oauth2 in go.mod.)
func vertexClient(t *testing.T, f *fakes.Vertex, token string) anthropic.Client {
	t.Helper()
	const models = "/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/"
	vertex := func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		m["anthropic_version"] = json.RawMessage(`"vertex-2023-10-16"`)
		var model string
		_ = json.Unmarshal(m["model"], &model)
		var stream bool
		_ = json.Unmarshal(m["stream"], &stream)
		switch r.URL.Path {
		case "/v1/messages":
			delete(m, "model")
			r.URL.Path = models + model + ":rawPredict"
			if stream {
				r.URL.Path = models + model + ":streamRawPredict"
			}
		case "/v1/messages/count_tokens":
			r.URL.Path = models + "count-tokens:rawPredict"
		}
		r.URL.RawPath = ""
		r.Header.Del("Anthropic-Version")
		r.Header.Del("X-Api-Key")
		r.Header.Set("Authorization", "Bearer "+token)
		body, _ = json.Marshal(m)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return next(r)
	}
	return anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithAPIKey("unused"),
		option.WithBaseURL(f.BaseURL()), option.WithMiddleware(vertex), option.WithMaxRetries(0))
}

func TestVertexFakeWithAnthropicSDK(t *testing.T) {
	f := fakes.NewVertex(fakes.VertexOptions{Name: "vx", Token: "ya29.vertex-token", Project: "my-project", Region: "us-east5"})
	t.Cleanup(f.Close)
	client := vertexClient(t, f, "ya29.vertex-token")
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5@20250929", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}}
	msg, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "vx heard: hello" || msg.Usage.InputTokens == 0 {
		t.Fatalf("message %+v", msg)
	}
	rec := f.Requests()[0]
	if rec.Path != "/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict" ||
		rec.Header.Get("Authorization") != "Bearer ya29.vertex-token" {
		t.Fatalf("request %s %v", rec.Path, rec.Header)
	}

	f.Script(thinkingScript())
	stream := client.Messages.NewStreaming(context.Background(), weatherParams())
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	checkThinkingAnswer(t, &acc)

	count, err := client.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model: params.Model, Messages: params.Messages})
	if err != nil {
		t.Fatal(err)
	}
	if count.InputTokens != msg.Usage.InputTokens {
		t.Fatalf("count %d, usage %d", count.InputTokens, msg.Usage.InputTokens)
	}

	f.Fail(fakes.Fault{Status: 529, Times: 1})
	_, err = client.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" {
		t.Fatalf("overloaded: %v", err)
	}
}

func TestVertexFakeRefusesWrongTokenAndBeta(t *testing.T) {
	f := fakes.NewVertex(fakes.VertexOptions{Name: "vx", Token: "right"})
	t.Cleanup(f.Close)
	client := vertexClient(t, f, "wrong")
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	_, err := client.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v", err)
	}
	g := fakes.NewVertex(fakes.VertexOptions{Name: "vx"})
	t.Cleanup(g.Close)
	other := vertexClient(t, g, "any")
	_, err = other.Messages.New(context.Background(), params, option.WithHeader("anthropic-beta", "files-api-2025-04-14"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Error(), "Unsupported beta header") {
		t.Fatalf("beta Vertex lacks: %v", err)
	}
}
