package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

func embedCall(t *testing.T, model, body string) *providers.EmbedCall {
	t.Helper()
	var in providers.EmbeddingRequest
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	return &providers.EmbedCall{Body: []byte(body), Input: &in, Model: model}
}

type embeddingDoc struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string         `json:"model"`
	Usage map[string]int `json:"usage"`
}

func decodeList(t *testing.T, resp *providers.Response) embeddingDoc {
	t.Helper()
	var l embeddingDoc
	if err := json.Unmarshal(resp.Body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func floats(t *testing.T, raw json.RawMessage) []float32 {
	t.Helper()
	var v []float32
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTitanEmbeddingsFanOut(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, rec := fakeProvider(t, f)
	texts := []string{"alpha", "beta gamma", "delta", "epsilon zeta eta", "theta", "iota"}
	in, _ := json.Marshal(map[string]any{"model": "emb", "input": texts, "dimensions": 256})
	resp, err := p.Embed(context.Background(), embedCall(t, "amazon.titan-embed-text-v2:0", string(in)))
	if err != nil {
		t.Fatal(err)
	}
	l := decodeList(t, resp)
	if l.Object != "list" || len(l.Data) != len(texts) || l.Model != "amazon.titan-embed-text-v2:0" {
		t.Fatalf("list %+v", l)
	}
	wantTokens := 0
	for i, text := range texts {
		got := floats(t, l.Data[i].Embedding)
		want := fakes.Vector(text, 256)
		if l.Data[i].Index != i || l.Data[i].Object != "embedding" || len(got) != 256 || got[0] != want[0] || got[255] != want[255] {
			t.Errorf("item %d does not embed %q", i, text)
		}
		wantTokens += len(text)/4 + 1
	}
	if l.Usage["prompt_tokens"] != wantTokens || l.Usage["total_tokens"] != wantTokens || resp.Usage.PromptTokens != wantTokens {
		t.Errorf("usage %v / %+v, want %d", l.Usage, resp.Usage, wantTokens)
	}
	if n := len(f.Requests()); n != len(texts) {
		t.Errorf("%d InvokeModel calls for %d texts", n, len(texts))
	}
	if got := rec.last(); got != "/model/amazon.titan-embed-text-v2%3A0/invoke" {
		t.Errorf("wire path %q", got)
	}
	var body map[string]any
	_ = json.Unmarshal(f.Requests()[0].Body, &body)
	if body["normalize"] != true || body["dimensions"] != float64(256) || body["inputText"] == nil {
		t.Errorf("Titan body %v", body)
	}
}

func TestCohereEmbeddingsBatchAndBase64(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	texts := make([]string, 100) // more than Cohere's 96 per call
	for i := range texts {
		texts[i] = strings.Repeat("x", i+1)
	}
	in, _ := json.Marshal(map[string]any{"model": "emb", "input": texts, "encoding_format": "base64", "input_type": "search_query"})
	resp, err := p.Embed(context.Background(), embedCall(t, "cohere.embed-english-v3", string(in)))
	if err != nil {
		t.Fatal(err)
	}
	l := decodeList(t, resp)
	if len(l.Data) != 100 || len(f.Requests()) != 2 {
		t.Fatalf("%d vectors in %d calls", len(l.Data), len(f.Requests()))
	}
	var b64 string
	if err := json.Unmarshal(l.Data[99].Embedding, &b64); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64)
	want := fakes.Vector(texts[99], 1024)
	if len(raw) != 4*1024 || math.Float32frombits(binary.LittleEndian.Uint32(raw)) != want[0] {
		t.Errorf("base64 vector of %d bytes", len(raw))
	}
	tokens := 0
	for _, s := range texts {
		tokens += len(s)/4 + 1
	}
	if resp.Usage.PromptTokens != tokens {
		t.Errorf("usage from X-Amzn-Bedrock-Input-Token-Count: %d, want %d", resp.Usage.PromptTokens, tokens)
	}
	var body map[string]any
	_ = json.Unmarshal(f.Requests()[0].Body, &body)
	if body["input_type"] != "search_query" || len(body["texts"].([]any)) != 96 {
		t.Errorf("Cohere body input_type=%v texts=%d", body["input_type"], len(body["texts"].([]any)))
	}
}

func TestCohereV4Dimensions(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	resp, err := p.Embed(context.Background(), embedCall(t, "cohere.embed-v4:0", `{"model":"e","input":"hello","dimensions":512}`))
	if err != nil {
		t.Fatal(err)
	}
	if v := floats(t, decodeList(t, resp).Data[0].Embedding); len(v) != 512 || v[0] != fakes.Vector("hello", 512)[0] {
		t.Errorf("vector of %d", len(v))
	}
}

func TestEmbeddingRejections(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	for _, tc := range []struct{ model, body, param string }{
		{"amazon.titan-embed-text-v1", `{"input":"x","dimensions":256}`, "dimensions"},
		{"cohere.embed-english-v3", `{"input":"x","dimensions":256}`, "dimensions"},
		{"amazon.titan-embed-text-v2:0", `{"input":[[1,2,3]]}`, "input"},
		{"amazon.titan-embed-text-v2:0", `{"input":[]}`, "input"},
		{"meta.llama3-70b-instruct-v1:0", `{"input":"x"}`, "model"},
	} {
		_, err := p.Embed(context.Background(), embedCall(t, tc.model, tc.body))
		if e := asError(t, err); e.Class != providers.ClassInvalidRequest || e.Param != tc.param {
			t.Errorf("%s %s: %+v", tc.model, tc.body, e)
		}
	}
	if len(f.Requests()) != 0 {
		t.Errorf("%d requests sent", len(f.Requests()))
	}
	// Bedrock's own validation comes back classified too.
	_, err := p.Embed(context.Background(), embedCall(t, "amazon.titan-embed-text-v2:0", `{"input":"x","dimensions":300}`))
	if e := asError(t, err); e.Class != providers.ClassInvalidRequest || e.Status != 400 || !strings.Contains(e.Message, "dimensions") {
		t.Errorf("dimensions 300: %+v", e)
	}
}

func TestEmbeddingFailureStopsTheFanOut(t *testing.T) {
	f := newFake(t, fakes.BedrockOptions{})
	p, _ := fakeProvider(t, f)
	f.Fail(fakes.Fault{Status: 429, Times: 1})
	_, err := p.Embed(context.Background(), embedCall(t, "amazon.titan-embed-text-v2:0", `{"input":["a","b","c","d","e","f","g","h","i","j"]}`))
	if e := asError(t, err); e.Class != providers.ClassRateLimited {
		t.Errorf("got %+v", e)
	}
}
