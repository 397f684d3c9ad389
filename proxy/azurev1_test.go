package proxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// Azure OpenAI's v1 API path (/openai/v1/...), as @ai-sdk/azure and the Azure v1
// clients call it: "model" names the deployment (an alias here), the key travels in
// the api-key header, and api-version=v1 rides along in the query.
func TestAzureV1Ingress(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := context.Background()
	root := strings.TrimSuffix(e.base, "/v1")
	client := openai.NewClient(option.WithBaseURL(root+"/openai/v1/"), option.WithHeader("api-key", clientKey),
		option.WithQuery("api-version", "v1"), option.WithMaxRetries(0))

	chat, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	if err != nil || !strings.Contains(chat.Choices[0].Message.Content, "hi") {
		t.Fatalf("chat: %v %+v", err, chat)
	}
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	var text strings.Builder
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if stream.Err() != nil || !strings.Contains(text.String(), "hi") {
		t.Fatalf("chat stream: %v %q", stream.Err(), text.String())
	}
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello there")}})
	if err != nil || !strings.Contains(resp.OutputText(), "hello there") {
		t.Fatalf("responses: %v", err)
	}
	got, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
	if err != nil || got.ID != resp.ID {
		t.Fatalf("responses get: %v", err)
	}
	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
	if err != nil || len(emb.Data) != 1 {
		t.Fatalf("embeddings: %v", err)
	}
	models, err := client.Models.List(ctx)
	if err != nil || len(models.Data) == 0 {
		t.Fatalf("models: %v", err)
	}

	// The client's key is never forwarded, on this path either.
	for _, rec := range e.openai.Requests() {
		if rec.Header.Get("Api-Key") != "" || strings.Contains(rec.Header.Get("Authorization"), clientKey) {
			t.Errorf("client key forwarded upstream: %v", rec.Header)
		}
	}
	// Without a key the answer is 401, as on /v1.
	req, _ := http.NewRequest(http.MethodGet, root+"/openai/v1/models", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 401 {
		t.Errorf("no key: %d", r.StatusCode)
	}
}
