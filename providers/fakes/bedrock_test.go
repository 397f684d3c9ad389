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

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The Bedrock fake is proven faithful by the official aws-sdk-go-v2 client: it
// signs its requests, and must decode everything the fake sends (JSON bodies,
// event-stream frames, exceptions) exactly as it would from Bedrock.

const (
	brKey    = "AKIDEXAMPLE"
	brSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	brModel  = "us.anthropic.claude-sonnet-4-20250514-v1:0"
)

func bedrockClient(t *testing.T, f *fakes.Bedrock, key, secret, region string) *bedrockruntime.Client {
	t.Helper()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "") // the SDK would prefer it over SigV4
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		BaseEndpoint: aws.String(f.Endpoint()),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: bufferedBodies{http.DefaultTransport}},
	})
}

// bufferedBodies hands the transport a copy of each request body. smithy-go
// closes the body it built as soon as the transport returns a response; the
// fake answers as soon as it has read the request, so the transport can still be
// finishing its write, reads the closed body's EOF as a write error and closes
// the connection under the event stream being read ("use of closed network
// connection"). Against the fake on loopback that race is lost now and then.
type bufferedBodies struct{ http.RoundTripper }

func (b bufferedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return b.RoundTripper.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	return b.RoundTripper.RoundTrip(r)
}

func newBedrockFake(t *testing.T, opts fakes.BedrockOptions) *fakes.Bedrock {
	t.Helper()
	opts.AccessKeyID, opts.SecretAccessKey, opts.Region = brKey, brSecret, "us-east-1"
	f := fakes.NewBedrock(opts)
	t.Cleanup(f.Close)
	return f
}

func userText(s string) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: s}}}}
}

func TestBedrockFakeConverseWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{Name: "br"})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:         aws.String(brModel),
		System:          []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "be brief"}},
		Messages:        userText("hello there"),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(100)},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok || msg.Value.Role != types.ConversationRoleAssistant || len(msg.Value.Content) != 1 {
		t.Fatalf("output %#v", out.Output)
	}
	if text, ok := msg.Value.Content[0].(*types.ContentBlockMemberText); !ok || text.Value != "br heard: hello there" {
		t.Errorf("content %#v", msg.Value.Content[0])
	}
	u := out.Usage
	if out.StopReason != types.StopReasonEndTurn || u == nil || *u.InputTokens == 0 || *u.OutputTokens != 4 ||
		*u.TotalTokens != *u.InputTokens+*u.OutputTokens || out.Metrics == nil || out.Metrics.LatencyMs == nil {
		t.Errorf("stop %q usage %+v", out.StopReason, u)
	}
	if p := f.Requests()[0].Path; p != "/model/"+brModel+"/converse" {
		t.Errorf("path %q", p)
	}

	// A stop sequence is reported as Bedrock does.
	out, err = c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(brModel),
		Messages: userText("hello there"), InferenceConfig: &types.InferenceConfiguration{StopSequences: []string{"there"}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != types.StopReasonStopSequence {
		t.Errorf("stop reason %q", out.StopReason)
	}
}

func TestBedrockFakeConverseStreamToolUseWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	schema := document.NewLazyDocument(map[string]any{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}})
	out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId:  aws.String(brModel),
		Messages: userText("weather in Paris"),
		ToolConfig: &types.ToolConfiguration{
			Tools: []types.Tool{
				&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_weather"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}},
				&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_time"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}},
			},
			ToolChoice: &types.ToolChoiceMemberAny{},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	es := out.GetStream()
	defer es.Close()
	type call struct{ id, name, input string }
	var calls []call
	var order []string
	var stop types.StopReason
	var usage *types.TokenUsage
	for ev := range es.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			order = append(order, "start:"+string(v.Value.Role))
		case *types.ConverseStreamOutputMemberContentBlockStart:
			tu := v.Value.Start.(*types.ContentBlockStartMemberToolUse)
			calls = append(calls, call{id: *tu.Value.ToolUseId, name: *tu.Value.Name})
			order = append(order, "blockStart")
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			d := v.Value.Delta.(*types.ContentBlockDeltaMemberToolUse)
			calls[len(calls)-1].input += *d.Value.Input
		case *types.ConverseStreamOutputMemberContentBlockStop:
			order = append(order, "blockStop")
		case *types.ConverseStreamOutputMemberMessageStop:
			stop = v.Value.StopReason
			order = append(order, "stop")
		case *types.ConverseStreamOutputMemberMetadata:
			usage = v.Value.Usage
			order = append(order, "metadata")
		default:
			t.Errorf("unexpected event %T", ev)
		}
	}
	if err := es.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "start:assistant,blockStart,blockStop,blockStart,blockStop,stop,metadata" {
		t.Errorf("event order %v", order)
	}
	if len(calls) != 2 || calls[0] != (call{"call_1", "get_weather", `{"query":"weather in Paris"}`}) || calls[1].name != "get_time" ||
		stop != types.StopReasonToolUse || usage == nil || *usage.OutputTokens == 0 {
		t.Errorf("calls %+v stop %q usage %+v", calls, stop, usage)
	}
}

func TestBedrockFakeStreamExceptionWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	f.Fail(fakes.Fault{CutAfter: 2, Code: "throttlingException", Message: "Too many tokens, please wait before trying again.", Times: 1})
	out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(brModel), Messages: userText("one two three")})
	if err != nil {
		t.Fatal(err)
	}
	es := out.GetStream()
	n := 0
	for range es.Events() {
		n++
	}
	var throttled *types.ThrottlingException
	if !errors.As(es.Err(), &throttled) || throttled.ErrorMessage() != "Too many tokens, please wait before trying again." || n != 2 {
		t.Errorf("%d events then %T %v", n, es.Err(), es.Err())
	}
	es.Close()
}

func TestBedrockFakeInvokeModelWithSDK(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	out, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("amazon.titan-embed-text-v2:0"),
		ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
		Body: []byte(`{"inputText":"hello world","dimensions":256,"normalize":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	var titan struct {
		Embedding           []float32 `json:"embedding"`
		InputTextTokenCount int       `json:"inputTextTokenCount"`
	}
	if err := json.Unmarshal(out.Body, &titan); err != nil || len(titan.Embedding) != 256 || titan.InputTextTokenCount != 3 ||
		titan.Embedding[7] != fakes.Vector("hello world", 256)[7] {
		t.Errorf("titan %d dims, %d tokens (%v)", len(titan.Embedding), titan.InputTextTokenCount, err)
	}
	raw := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if raw.Header.Get("X-Amzn-Bedrock-Input-Token-Count") != "3" {
		t.Errorf("token header %q", raw.Header.Get("X-Amzn-Bedrock-Input-Token-Count"))
	}

	out, err = c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("cohere.embed-multilingual-v3"),
		ContentType: aws.String("application/json"), Body: []byte(`{"texts":["a","b"],"input_type":"search_document"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var cohere struct {
		Embeddings   [][]float32 `json:"embeddings"`
		ResponseType string      `json:"response_type"`
	}
	if err := json.Unmarshal(out.Body, &cohere); err != nil || len(cohere.Embeddings) != 2 || len(cohere.Embeddings[1]) != 1024 ||
		cohere.ResponseType != "embeddings_floats" {
		t.Errorf("cohere %+v (%v)", cohere.ResponseType, err)
	}

	_, err = c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("cohere.embed-english-v3"),
		ContentType: aws.String("application/json"), Body: []byte(`{"texts":["a"]}`)})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "input_type") {
		t.Errorf("missing input_type: %v", err)
	}
}

func TestBedrockFakeRejectsBadSignatures(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{})
	for _, tc := range []struct {
		name, key, secret, region, code string
	}{
		{"wrong secret", brKey, "wrong", "us-east-1", "InvalidSignatureException"},
		{"unknown key", "AKIDOTHER", brSecret, "us-east-1", "UnrecognizedClientException"},
		{"wrong region", brKey, brSecret, "eu-west-1", "InvalidSignatureException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := bedrockClient(t, f, tc.key, tc.secret, tc.region)
			_, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(brModel), Messages: userText("hi")})
			var api smithy.APIError
			var re *smithyhttp.ResponseError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code || !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
				t.Errorf("got %v", err)
			}
		})
	}
	resp, err := http.Post(f.Endpoint()+"/model/"+brModel+"/converse", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "MissingAuthenticationTokenException") {
		t.Errorf("unsigned: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestBedrockFakeValidatesLikeBedrock(t *testing.T) {
	f := newBedrockFake(t, fakes.BedrockOptions{ContextWindow: 20})
	c := bedrockClient(t, f, brKey, brSecret, "us-east-1")
	assistant := types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}
	toolUse := types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
		ToolUseId: aws.String("t1"), Name: aws.String("f"), Input: document.NewLazyDocument(map[string]any{})}}}}
	for _, tc := range []struct {
		name     string
		messages []types.Message
		want     string
	}{
		{"starts with assistant", []types.Message{assistant}, "must start with a user message"},
		{"two user turns", append(userText("a"), userText("b")...), "must alternate"},
		{"tool use without toolConfig", append(userText("a"), toolUse), "toolConfig field must be defined"},
		{"blank text", userText(" "), "is blank"},
		{"too long", userText(strings.Repeat("many words ", 20)), "Input is too long for requested model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(brModel), Messages: tc.messages})
			var invalid *types.ValidationException
			if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), tc.want) {
				t.Errorf("got %v", err)
			}
		})
	}

	f.Fail(fakes.Fault{Status: 429, Code: "ModelNotReadyException", Message: "Model is not ready", Times: 1})
	_, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(brModel), Messages: userText("hi")})
	var notReady *types.ModelNotReadyException
	if !errors.As(err, &notReady) {
		t.Errorf("fault code: %v", err)
	}
}
