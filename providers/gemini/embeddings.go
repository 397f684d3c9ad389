package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"

	"github.com/switchyard/switchyard/providers"
)

// OpenAI embeddings ⇄ Gemini. The two endpoints differ:
//   - Gemini API: models/{model}:batchEmbedContents, one request per input text
//     (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents); the
//     answer has no token counts, so usage is estimated at four characters a token;
//   - Vertex AI: publishers/google/models/{model}:predict with one instance per text
//     (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api),
//     whose statistics.token_count gives the usage. Some models take one
//     instance per request (gemini-embedding-001); Vertex AI then answers 400,
//     returned to the client as is.
// dimensions becomes outputDimensionality; encoding_format "base64" is produced
// here (little-endian float32, as OpenAI sends it); token-array input is refused.

type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embedRequest struct {
	Model                string  `json:"model"`
	Content              content `json:"content"`
	OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
}

type batchEmbedResponse struct {
	Embeddings []struct {
		Values json.RawMessage `json:"values"`
	} `json:"embeddings"`
}

type predictRequest struct {
	Instances  []predictInstance  `json:"instances"`
	Parameters *predictParameters `json:"parameters,omitempty"`
}

type predictInstance struct {
	Content string `json:"content"`
}

type predictParameters struct {
	OutputDimensionality *int `json:"outputDimensionality,omitempty"`
}

type predictResponse struct {
	Predictions []struct {
		Embeddings struct {
			Values     json.RawMessage `json:"values"`
			Statistics struct {
				TokenCount float64 `json:"token_count"`
			} `json:"statistics"`
		} `json:"embeddings"`
	} `json:"predictions"`
}

// Embed serves an OpenAI embeddings request.
func (p *Provider) Embed(ctx context.Context, call *providers.EmbedCall) (*providers.Response, error) {
	in := call.Input
	if in == nil {
		in = new(providers.EmbeddingRequest)
		if err := json.Unmarshal(call.Body, in); err != nil {
			return nil, providers.InvalidRequest("", "We could not parse the JSON body of your request.")
		}
	}
	switch {
	case len(in.Input.Texts) == 0:
		return nil, providers.Unsupported("input", "The Gemini backend embeds text: 'input' must be a string or an array of strings.")
	case in.EncodingFormat != "" && in.EncodingFormat != "float" && in.EncodingFormat != "base64":
		return nil, providers.InvalidRequest("encoding_format", "Invalid value for 'encoding_format': use 'float' or 'base64'.")
	}
	body, err := p.embedBody(call.Model, in)
	if err != nil {
		return nil, err
	}
	method := "batchEmbedContents"
	if p.vertex {
		method = "predict"
	}
	resp, err := p.send(ctx, p.url(call.Model, method), body, call.Header, false)
	if err != nil {
		return nil, err
	}
	data, err := providers.ReadResponse(resp, p.limit.Embeddings())
	if err != nil {
		return nil, err
	}
	vectors, tokens, err := p.decodeEmbeddings(data, in.Input.Texts)
	if err != nil {
		return nil, err
	}
	if len(vectors) != len(in.Input.Texts) {
		return nil, &providers.Error{Class: providers.ClassDecode, Status: http.StatusOK,
			Message: "Gemini returned a different number of embeddings than inputs"}
	}
	return encodeEmbeddings(vectors, tokens, call.Model, in.EncodingFormat == "base64")
}

func (p *Provider) embedBody(model string, in *providers.EmbeddingRequest) ([]byte, error) {
	var v any
	if p.vertex {
		r := predictRequest{Instances: make([]predictInstance, len(in.Input.Texts))}
		for i, t := range in.Input.Texts {
			r.Instances[i].Content = t
		}
		if in.Dimensions != nil {
			r.Parameters = &predictParameters{OutputDimensionality: in.Dimensions}
		}
		v = r
	} else {
		name := "models/" + trimModelsPrefix(model)
		r := batchEmbedRequest{Requests: make([]embedRequest, len(in.Input.Texts))}
		for i, t := range in.Input.Texts {
			r.Requests[i] = embedRequest{Model: name, Content: content{Parts: []part{{Text: t}}}, OutputDimensionality: in.Dimensions}
		}
		v = r
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassLocal, Err: err, Message: "encoding the Gemini embeddings request failed"}
	}
	return body, nil
}

// decodeEmbeddings returns the raw value arrays and the prompt token count.
func (p *Provider) decodeEmbeddings(data []byte, texts []string) ([]json.RawMessage, int, error) {
	unreadable := func(err error) error {
		return &providers.Error{Class: providers.ClassDecode, Status: http.StatusOK, Err: err,
			Message: "Gemini sent an unreadable embeddings response"}
	}
	var out []json.RawMessage
	tokens := 0
	if p.vertex {
		var r predictResponse
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, 0, unreadable(err)
		}
		for _, pr := range r.Predictions {
			out = append(out, pr.Embeddings.Values)
			tokens += int(pr.Embeddings.Statistics.TokenCount)
		}
		return out, tokens, nil
	}
	var r batchEmbedResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, 0, unreadable(err)
	}
	for _, e := range r.Embeddings {
		out = append(out, e.Values)
	}
	for _, t := range texts {
		tokens += (len(t) + 3) / 4
	}
	return out, tokens, nil
}

func encodeEmbeddings(vectors []json.RawMessage, tokens int, model string, asBase64 bool) (*providers.Response, error) {
	res := providers.EmbeddingResponse{Object: "list", Model: model, Data: make([]providers.Embedding, len(vectors)),
		Usage: providers.Usage{PromptTokens: tokens, TotalTokens: tokens}}
	for i, raw := range vectors {
		if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
			return nil, &providers.Error{Class: providers.ClassDecode, Status: http.StatusOK,
				Message: "Gemini sent an embedding without values"}
		}
		var emb any = raw
		if asBase64 {
			var floats []float32
			if err := json.Unmarshal(raw, &floats); err != nil {
				return nil, &providers.Error{Class: providers.ClassDecode, Status: http.StatusOK, Err: err,
					Message: "Gemini sent unreadable embedding values"}
			}
			emb = float32Base64(floats)
		}
		res.Data[i] = providers.Embedding{Object: "embedding", Index: i, Embedding: emb}
	}
	body, err := json.Marshal(res)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassLocal, Err: err, Message: "encoding the embeddings response failed"}
	}
	return &providers.Response{Body: body, Usage: res.Usage, Model: model}, nil
}

func float32Base64(v []float32) string {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(buf)
}
