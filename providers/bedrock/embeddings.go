package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

// Embeddings go through InvokeModel with each model family's native body:
//
//   - Amazon Titan Text Embeddings (amazon.titan-embed-text-v2:0, v1):
//     {"inputText", "dimensions", "normalize"} → {"embedding", "inputTextTokenCount"}
//     (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html).
//     One text per call, so an array input fans out, a few calls at a time.
//   - Cohere Embed (cohere.embed-english-v3, -multilingual-v3, cohere.embed-v4:0):
//     {"texts", "input_type", "embedding_types", "output_dimension"} →
//     {"embeddings": {"float": [...]}} (model-parameters-embed-v3.html, -v4.html).
//     Up to 96 texts per call. The body carries no token count; Bedrock reports it
//     in the X-Amzn-Bedrock-Input-Token-Count response header of every
//     InvokeModel call (vercel/ai#15973, langchain4j#5064), which is what usage
//     reports.

const (
	titanParallel = 4  // concurrent InvokeModel calls of one Titan fan-out
	cohereBatch   = 96 // Cohere's limit of texts per call
	tokenHeader   = "X-Amzn-Bedrock-Input-Token-Count"
)

// Embed serves an OpenAI embeddings request with a Titan or Cohere model.
func (p *Provider) Embed(ctx context.Context, call *providers.EmbedCall) (*providers.Response, error) {
	in := call.Input
	if in == nil {
		in = new(providers.EmbeddingRequest)
		if err := json.Unmarshal(call.Body, in); err != nil {
			return nil, providers.InvalidRequest("", "Invalid request: "+err.Error())
		}
	}
	texts := in.Input.Texts
	if len(texts) == 0 {
		if len(in.Input.Raw) > 0 && in.Input.Raw[0] == '[' && string(in.Input.Raw) != "[]" {
			return nil, providers.Unsupported("input", "Token arrays are not supported on the Bedrock backend: send the input as text.")
		}
		return nil, providers.InvalidRequest("input", "'input' must be a non-empty string or array of strings.")
	}
	dims := 0
	if in.Dimensions != nil {
		dims = *in.Dimensions
	}
	var vecs [][]float32
	var tokens int
	var err error
	switch {
	case strings.Contains(call.Model, "titan-embed"):
		vecs, tokens, err = p.titan(ctx, call, texts, dims)
	case strings.Contains(call.Model, "cohere.embed"):
		inputType := "search_document"
		if v, _ := jsonfield.Get(call.Body, "input_type"); len(v) > 0 {
			if err := json.Unmarshal(v, &inputType); err != nil {
				return nil, providers.InvalidRequest("input_type", "'input_type' must be a string.")
			}
		}
		vecs, tokens, err = p.cohere(ctx, call, texts, dims, inputType)
	default:
		return nil, providers.Unsupported("model", fmt.Sprintf("Embeddings on Bedrock are supported for Amazon Titan Text Embeddings and Cohere Embed models, not %q.", call.Model))
	}
	if err != nil {
		return nil, err
	}
	return embeddingList(vecs, tokens, call.Model, in.EncodingFormat)
}

func (p *Provider) titan(ctx context.Context, call *providers.EmbedCall, texts []string, dims int) ([][]float32, int, error) {
	v2 := strings.Contains(call.Model, "titan-embed-text-v2")
	if dims != 0 && !v2 {
		return nil, 0, providers.Unsupported("dimensions", fmt.Sprintf("%s has a fixed size: 'dimensions' is only supported by amazon.titan-embed-text-v2:0 (256, 512 or 1024).", call.Model))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vecs := make([][]float32, len(texts))
	counts := make([]int, len(texts))
	errs := make([]error, len(texts))
	sem := make(chan struct{}, titanParallel)
	var wg sync.WaitGroup
	for i, text := range texts {
		sem <- struct{}{}
		if ctx.Err() != nil { // a call failed: start no more
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			body := map[string]any{"inputText": text}
			if v2 {
				body["normalize"] = true // OpenAI's embeddings are unit vectors
				if dims != 0 {
					body["dimensions"] = dims
				}
			}
			raw, header, err := p.invoke(ctx, call, body)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			var out struct {
				Embedding           []float32 `json:"embedding"`
				InputTextTokenCount *int      `json:"inputTextTokenCount"`
			}
			if err := json.Unmarshal(raw, &out); err != nil || out.Embedding == nil {
				errs[i] = &providers.Error{Class: providers.ClassDecode, Err: err, Message: "Bedrock sent an unreadable Titan embedding"}
				cancel()
				return
			}
			vecs[i] = out.Embedding
			if out.InputTextTokenCount != nil {
				counts[i] = *out.InputTextTokenCount
			} else {
				counts[i] = headerCount(header)
			}
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil { // the client went away before every call started
		return nil, 0, providers.AsError(err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	return vecs, total, nil
}

func (p *Provider) cohere(ctx context.Context, call *providers.EmbedCall, texts []string, dims int, inputType string) ([][]float32, int, error) {
	v4 := strings.Contains(call.Model, "embed-v4")
	if dims != 0 && !v4 {
		return nil, 0, providers.Unsupported("dimensions", fmt.Sprintf("%s has a fixed size: 'dimensions' is only supported by cohere.embed-v4 (256, 512, 1024 or 1536).", call.Model))
	}
	vecs := make([][]float32, 0, len(texts))
	total := 0
	for start := 0; start < len(texts); start += cohereBatch {
		batch := texts[start:min(start+cohereBatch, len(texts))]
		// embedding_types makes v3 and v4 answer the same shape,
		// {"embeddings": {"float": [[...]]}}.
		body := map[string]any{"texts": batch, "input_type": inputType, "embedding_types": []string{"float"}}
		if dims != 0 {
			body["output_dimension"] = dims
		}
		raw, header, err := p.invoke(ctx, call, body)
		if err != nil {
			return nil, 0, err
		}
		got, err := cohereVectors(raw)
		if err != nil || len(got) != len(batch) {
			return nil, 0, &providers.Error{Class: providers.ClassDecode, Err: err,
				Message: fmt.Sprintf("Bedrock sent an unreadable Cohere embedding (%d vectors for %d texts)", len(got), len(batch))}
		}
		vecs = append(vecs, got...)
		total += headerCount(header)
	}
	return vecs, total, nil
}

// cohereVectors reads "embeddings" as embeddings_by_type ({"float": [...]}) or, as
// v3 answers without embedding_types, as a plain array of vectors.
func cohereVectors(raw []byte) ([][]float32, error) {
	var out struct {
		Embeddings json.RawMessage `json:"embeddings"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	var vecs [][]float32
	if len(out.Embeddings) > 0 && out.Embeddings[0] == '{' {
		var byType struct {
			Float [][]float32 `json:"float"`
		}
		err := json.Unmarshal(out.Embeddings, &byType)
		return byType.Float, err
	}
	err := json.Unmarshal(out.Embeddings, &vecs)
	return vecs, err
}

// invoke calls InvokeModel (API_runtime_InvokeModel.html: POST
// /model/modelId/invoke, the model's native body) and returns the answer's body
// and headers.
func (p *Provider) invoke(ctx context.Context, call *providers.EmbedCall, body map[string]any) ([]byte, http.Header, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, &providers.Error{Class: providers.ClassLocal, Err: err, Message: "encoding the embeddings request"}
	}
	resp, err := p.send(ctx, opInvoke, call.Model, plainBody(b), call.Header)
	if err != nil {
		return nil, nil, err
	}
	raw, err := providers.ReadResponse(resp, p.limit.Embeddings())
	if err != nil {
		return nil, nil, err
	}
	return raw, resp.Header, nil
}

func headerCount(h http.Header) int {
	n, _ := strconv.Atoi(h.Get(tokenHeader))
	return max(n, 0)
}

// firstError is the failure to report: the first that is not a cancellation
// (calls canceled because a sibling failed say nothing new).
func firstError(errs []error) error {
	var canceled error
	for _, err := range errs {
		pe, ok := err.(*providers.Error)
		switch {
		case err == nil:
		case ok && pe.Class == providers.ClassCanceled:
			if canceled == nil {
				canceled = err
			}
		default:
			return err
		}
	}
	return canceled
}

// embeddingList encodes OpenAI's embeddings list. encoding_format base64 is the
// little-endian float32 bytes, as OpenAI sends it.
func embeddingList(vecs [][]float32, tokens int, model, format string) (*providers.Response, error) {
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, len(vecs))
	for i, v := range vecs {
		var emb any = v
		if format == "base64" {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = item{Object: "embedding", Index: i, Embedding: emb}
	}
	body, err := json.Marshal(struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Data: data, Model: model, Usage: struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}{tokens, tokens}})
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassLocal, Err: err, Message: "encoding the embeddings response"}
	}
	return &providers.Response{Body: body, Model: model, Usage: providers.Usage{PromptTokens: tokens, TotalTokens: tokens}}, nil
}
