package conformance

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers/fakes"
)

// nativeRequest is what a cloud received, read from its own wire format: the proof
// that a translation carried the client's information to the right native slot.
type nativeRequest struct {
	// Model is the upstream model the request named (body or path).
	Model string
	// Stream is whether the cloud was asked to stream.
	Stream bool
	// System is the text of the cloud's system slot. For the OpenAI wire format
	// that slot is the system messages, which are then not in Roles.
	System string
	// Roles are the conversation's turns, as the cloud names their roles.
	Roles []string
	// Images are the images of the conversation, decoded.
	Images []picture
}

type picture struct {
	MediaType string
	Data      []byte
}

func decode(t *testing.T, r fakes.Recorded, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("recorded %s %s: %v: %s", r.Method, r.Path, err, r.Body)
	}
}

// openAINative reads Chat Completions (OpenAI and Azure). Azure names the
// deployment in the path.
func openAINative(t *testing.T, r fakes.Recorded) nativeRequest {
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	decode(t, r, &req)
	n := nativeRequest{Model: req.Model, Stream: req.Stream}
	if dep, ok := strings.CutPrefix(r.Path, "/openai/deployments/"); ok {
		n.Model, _, _ = strings.Cut(dep, "/")
	}
	var system []string
	for _, m := range req.Messages {
		var text string
		var parts []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL struct {
				URL string `json:"url"`
			} `json:"image_url"`
		}
		if json.Unmarshal(m.Content, &text) != nil {
			if err := json.Unmarshal(m.Content, &parts); err != nil && string(m.Content) != "null" {
				t.Fatalf("content %s: %v", m.Content, err)
			}
		}
		for _, p := range parts {
			switch p.Type {
			case "text":
				text += p.Text
			case "image_url":
				n.Images = append(n.Images, dataURL(t, p.ImageURL.URL))
			}
		}
		if m.Role == "system" || m.Role == "developer" {
			system = append(system, text)
			continue
		}
		n.Roles = append(n.Roles, m.Role)
	}
	n.System = strings.Join(system, "\n")
	return n
}

func dataURL(t *testing.T, u string) picture {
	t.Helper()
	meta, data, ok := strings.Cut(strings.TrimPrefix(u, "data:"), ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	b, err := base64.StdEncoding.DecodeString(data)
	if !ok || !isBase64 || err != nil {
		t.Fatalf("not a base64 data URL: %.40s", u)
	}
	return picture{MediaType: mediaType, Data: b}
}

// bedrockNative reads Converse and ConverseStream: the model and the streaming
// choice are in the path, the system prompt in "system" blocks, image bytes are
// base64 in JSON.
func bedrockNative(t *testing.T, r fakes.Recorded) nativeRequest {
	var req struct {
		System []struct {
			Text string `json:"text"`
		} `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Image *struct {
					Format string `json:"format"`
					Source struct {
						Bytes []byte `json:"bytes"`
					} `json:"source"`
				} `json:"image"`
			} `json:"content"`
		} `json:"messages"`
	}
	decode(t, r, &req)
	model, op := bedrockPath(t, r)
	n := nativeRequest{Model: model, Stream: op == "converse-stream"}
	var system []string
	for _, s := range req.System {
		system = append(system, s.Text)
	}
	n.System = strings.Join(system, "\n")
	for _, m := range req.Messages {
		n.Roles = append(n.Roles, m.Role)
		for _, b := range m.Content {
			if b.Image != nil {
				n.Images = append(n.Images, picture{MediaType: "image/" + b.Image.Format, Data: b.Image.Source.Bytes})
			}
		}
	}
	return n
}

// bedrockPath reads a Bedrock Runtime path, /model/{modelId}/{operation}.
func bedrockPath(t *testing.T, r fakes.Recorded) (model, op string) {
	t.Helper()
	rest, ok := strings.CutPrefix(r.Path, "/model/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		t.Fatalf("not a Bedrock model path: %s", r.Path)
	}
	model, err := url.PathUnescape(rest[:i])
	if err != nil {
		t.Fatal(err)
	}
	return model, rest[i+1:]
}

// anthropicNative reads the Messages API: a top-level system prompt (a string or
// text blocks), content as a string or blocks, base64 image sources.
func anthropicNative(t *testing.T, r fakes.Recorded) nativeRequest {
	type block struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Source *struct {
			Type      string `json:"type"`
			MediaType string `json:"media_type"`
			Data      string `json:"data"`
		} `json:"source"`
	}
	var req struct {
		Model    string          `json:"model"`
		Stream   bool            `json:"stream"`
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	decode(t, r, &req)
	n := nativeRequest{Model: req.Model, Stream: req.Stream}
	if len(req.System) > 0 && json.Unmarshal(req.System, &n.System) != nil {
		var blocks []block
		if err := json.Unmarshal(req.System, &blocks); err != nil {
			t.Fatalf("system %s: %v", req.System, err)
		}
		var texts []string
		for _, b := range blocks {
			texts = append(texts, b.Text)
		}
		n.System = strings.Join(texts, "\n")
	}
	for _, m := range req.Messages {
		n.Roles = append(n.Roles, m.Role)
		var blocks []block
		if json.Unmarshal(m.Content, &blocks) != nil {
			continue // a string: text only
		}
		for _, b := range blocks {
			if b.Type == "image" && b.Source != nil && b.Source.Type == "base64" {
				data, err := base64.StdEncoding.DecodeString(b.Source.Data)
				if err != nil {
					t.Fatalf("image data: %v", err)
				}
				n.Images = append(n.Images, picture{MediaType: b.Source.MediaType, Data: data})
			}
		}
	}
	return n
}

// geminiNative reads generateContent: the model and the method in the path,
// systemInstruction, contents of parts with inlineData images.
func geminiNative(t *testing.T, r fakes.Recorded) nativeRequest {
	var req struct {
		SystemInstruction *struct {
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"systemInstruction"`
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				InlineData *struct {
					MimeType string `json:"mimeType"`
					Data     string `json:"data"`
				} `json:"inlineData"`
			} `json:"parts"`
		} `json:"contents"`
	}
	decode(t, r, &req)
	action, ok := strings.CutPrefix(r.Path, "/v1beta/models/")
	if !ok {
		t.Fatalf("not a Gemini API model path: %s", r.Path)
	}
	model, method, _ := strings.Cut(action, ":")
	n := nativeRequest{Model: model, Stream: method == "streamGenerateContent"}
	if si := req.SystemInstruction; si != nil {
		var texts []string
		for _, p := range si.Parts {
			texts = append(texts, p.Text)
		}
		n.System = strings.Join(texts, "\n")
	}
	for _, c := range req.Contents {
		n.Roles = append(n.Roles, c.Role)
		for _, p := range c.Parts {
			if p.InlineData != nil {
				data, err := base64.StdEncoding.DecodeString(p.InlineData.Data)
				if err != nil {
					t.Fatalf("inlineData: %v", err)
				}
				n.Images = append(n.Images, picture{MediaType: p.InlineData.MimeType, Data: data})
			}
		}
	}
	return n
}
