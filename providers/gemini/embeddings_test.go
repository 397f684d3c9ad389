package gemini

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

func TestEncodeEmbeddingsBase64(t *testing.T) {
	resp, err := encodeEmbeddings([]json.RawMessage{json.RawMessage(`[0.5,-1.25]`)}, 3, "m", true)
	if err != nil {
		t.Fatal(err)
	}
	var out providers.EmbeddingResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Data[0].Embedding.(string))
	if err != nil || len(raw) != 8 {
		t.Fatalf("%v %d", err, len(raw))
	}
	if math.Float32frombits(binary.LittleEndian.Uint32(raw)) != 0.5 || math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])) != -1.25 {
		t.Errorf("decoded %x", raw)
	}
	if out.Object != "list" || out.Usage.PromptTokens != 3 || out.Data[0].Object != "embedding" {
		t.Errorf("out = %+v", out)
	}
}

func TestDecodeEmbeddingsRejectsMissingValues(t *testing.T) {
	p := &Provider{}
	vectors, _, err := p.decodeEmbeddings([]byte(`{"embeddings":[{}]}`), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := encodeEmbeddings(vectors, 1, "m", false); err == nil {
		t.Error("an embedding without values was accepted")
	}
}

func FuzzDecodeEmbeddings(f *testing.F) {
	f.Add(false, []byte(`{"embeddings":[{"values":[0.1,0.2]}]}`))
	f.Add(true, []byte(`{"predictions":[{"embeddings":{"values":[0.1],"statistics":{"token_count":3,"truncated":false}}}]}`))
	f.Add(true, []byte(`{"predictions":[{"embeddings":{"values":"x"}}]}`))
	f.Fuzz(func(t *testing.T, vertex bool, body []byte) {
		p := &Provider{vertex: vertex}
		vectors, tokens, err := p.decodeEmbeddings(body, []string{"a"})
		if err != nil {
			return
		}
		for _, asBase64 := range []bool{false, true} {
			resp, err := encodeEmbeddings(vectors, tokens, "m", asBase64)
			if err != nil {
				var e *providers.Error
				if !errors.As(err, &e) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			if !json.Valid(resp.Body) {
				t.Fatalf("invalid JSON %s", resp.Body)
			}
		}
	})
}
