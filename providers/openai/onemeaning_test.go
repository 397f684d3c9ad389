package openai

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/providers"
)

// upstreamModel is the target's model: what the rewrite must leave as the only
// model an upstream can read.
const upstreamModel = "gpt-4o-2024-08-06"

// goView is how a Go upstream (Ollama, a Go gateway) reads a chat request: struct
// fields match member names case-insensitively and the last duplicate wins.
type goView struct {
	Model         *string `json:"model"`
	Stream        *bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage *bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	N                   *int              `json:"n"`
	Temperature         *float64          `json:"temperature"`
	Tools               []json.RawMessage `json:"tools"`
	Messages            json.RawMessage   `json:"messages"`
	Metadata            *struct {
		Tags *string `json:"tags"`
	} `json:"metadata"`
}

// oneMeaningSeeds are the smuggling shapes of issue 13: escaped, duplicated and
// case-folded members at the top level and inside the objects the proxy reads.
var oneMeaningSeeds = []string{
	`{"model":"cheap","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","mod\u0065l":"expensive","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","model":"expensive","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","Model":"expensive","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","ſtream":true,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","str\u0065am":true,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","stream":false,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","stream":"true","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"cheap","stream":true,"stream_options":{"include_usage":false,"Include_Usage":false},"messages":[]}`,
	`{"model":"cheap","stream":true,"stream_options":{"include_usage":true,"include_usage":false},"messages":[]}`,
	`{"model":"cheap","stream":false,"stream_options":{"include_usag\u0065":true},"messages":[]}`,
	`{"model":"cheap","max_tokens":10,"max_tokens":100000,"messages":[]}`,
	`{"model":"cheap","max_tokens":10,"Max_Tokens":100000,"messages":[]}`,
	`{"model":"cheap","max_completion_tokens":10,"max_completion_t\u006fkens":100000,"messages":[]}`,
	`{"model":"cheap","n":1,"N":50,"messages":[]}`,
	`{"model":"cheap","temperature":0,"temperatur\u0065":2,"messages":[]}`,
	`{"model":"cheap","tools":[ ],"messages":[]}`,
	`{"model":"cheap","Tools":[{"type":"function","function":{"name":"f"}}],"messages":[]}`,
	`{"model":"cheap","messages":[],"Messages":[{"role":"user","content":"other"}]}`,
	`{"model":"cheap","messages":[{"role":"user","content":[{"type":"imag\u0065_url","imag\u0065_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
	`{"model":"cheap","metadata":{"tags":"a"},"Metadata":{"tags":"b"},"messages":[]}`,
	`{"model":"cheap","metadata":{"tags":"cheap","tags":"premium"},"messages":[]}`,
	`{"model":"cheap","metadata":{"tags":"cheap","Tags":"premium"},"messages":[]}`,
	`{"model":"cheap","metadata":{"t\u0061gs":"premium"},"messages":[]}`,
	`{"model":"cheap","max_tokens":5,"stream":true,"stream_options":{"include_obfuscation":false},"metadata":null,"messages":[{"role":"user","content":"a \u00e9 \"b\""}]}`,
	` { "messages" : [ ] , "stream" : true , "stream_options" : { } , "model" : "cheap" } `,
	`{"messages":[],"stream_options":null,"stream":true,"max_completion_tokens":null,"model":"cheap"}`,
	`{"stream":true,"messages":[],"model":"cheap","stream_options":{"include_usage":null,"x":1}}`,
	`{"model":"cheap","messages":[],"max_tokens":900,"stream":true}` + "\n",
}

// FuzzOneMeaning holds the one-meaning property of issue 13: for every body
// ParseChat accepts, each field the proxy reads or rewrites (after the model rewrite
// of this package and a policy's max_tokens cap) is what encoding/json reads from
// the body that actually goes upstream, both as a Go struct (case-insensitive, last
// duplicate wins) and as a map (exact names, last wins, like Python's json).
func FuzzOneMeaning(f *testing.F) {
	for _, s := range oneMeaningSeeds {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(50))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit uint16) {
		r, err := providers.ParseChat(body)
		if err != nil {
			return
		}
		if limit > 0 {
			if r, err = r.CapMaxTokens(int(limit)); err != nil {
				t.Fatalf("cap %d refused an accepted body: %v\n%s", limit, err, body)
			}
		}
		rewritten, err := rewriteChat(r, upstreamModel)
		if err != nil {
			t.Fatalf("rewrite refused an accepted body: %v\n%s", err, body)
		}
		sent := rewritten.Bytes()
		if err := sameMeaning(r, sent, int(limit)); err != nil {
			t.Fatalf("%v\nclient sent: %s\nupstream got: %s", err, body, sent)
		}
		if err := untouched(r.Body, sent); err != nil {
			t.Fatalf("%v\nclient sent: %s\nupstream got: %s", err, r.Body, sent)
		}
	})
}

// rewrittenMembers are the members the rewrite may change; every other member goes
// upstream byte for byte, in the client's order.
var rewrittenMembers = map[string]bool{"model": true, "stream_options": true}

// untouched checks that sent holds the members of body, other than those rewritten,
// as the client wrote them and in its order, and nothing else new.
func untouched(body, sent []byte) error {
	type member struct{ name, value string }
	kept := func(doc []byte) ([]member, error) {
		var out []member
		err := jsonscan.Members(doc, nil, func(name, v []byte) error {
			if !rewrittenMembers[string(name)] {
				out = append(out, member{string(name), string(v)})
			}
			return nil
		})
		return out, err
	}
	want, err := kept(body)
	if err != nil {
		return fmt.Errorf("the body the proxy accepted does not scan: %v", err)
	}
	got, err := kept(sent)
	if err != nil {
		return fmt.Errorf("the body sent upstream does not scan: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("members changed on the way: client %q, upstream %q", want, got)
	}
	return nil
}

// sameMeaning compares the proxy's view r with what a Go and a Python upstream
// read from sent.
func sameMeaning(r *providers.Request, sent []byte, limit int) error {
	var g goView
	if err := json.Unmarshal(sent, &g); err != nil {
		return fmt.Errorf("a Go upstream cannot decode what the proxy accepted: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(sent, &m); err != nil {
		return fmt.Errorf("a map decoder cannot decode what the proxy accepted: %v", err)
	}
	if g.Model == nil || *g.Model != upstreamModel || m["model"] != upstreamModel {
		return fmt.Errorf("model: upstream reads %v (Go) / %v (map), the proxy sent %q", deref(g.Model), m["model"], upstreamModel)
	}
	if goStream, mapStream := deref(g.Stream), m["stream"] == true; goStream != r.Stream || mapStream != r.Stream {
		return fmt.Errorf("stream: proxy %v, Go upstream %v, map %v", r.Stream, goStream, mapStream)
	}
	// The proxy asks for usage on every stream; otherwise the client's choice stands.
	wantUsage := r.Stream || r.IncludeUsage
	goUsage := g.StreamOptions != nil && deref(g.StreamOptions.IncludeUsage)
	mapUsage := false
	if so, ok := m["stream_options"].(map[string]any); ok {
		mapUsage = so["include_usage"] == true
	}
	if goUsage != wantUsage || mapUsage != wantUsage {
		return fmt.Errorf("stream_options.include_usage: proxy expects %v, Go upstream %v, map %v", wantUsage, goUsage, mapUsage)
	}
	goMax := max(deref(g.MaxTokens), deref(g.MaxCompletionTokens))
	mapMax := max(mapInt(m["max_tokens"]), mapInt(m["max_completion_tokens"]))
	if goMax != r.MaxTokens || mapMax != r.MaxTokens {
		return fmt.Errorf("max tokens: proxy %d, Go upstream %d, map %d", r.MaxTokens, goMax, mapMax)
	}
	if limit > 0 && (r.MaxTokens <= 0 || r.MaxTokens > limit) {
		return fmt.Errorf("max tokens %d escape the cap %d", r.MaxTokens, limit)
	}
	if goN, mapN := deref(g.N), mapInt(m["n"]); goN != r.N || mapN != r.N {
		return fmt.Errorf("n: proxy %d, Go upstream %d, map %d", r.N, goN, mapN)
	}
	var mapTemp *float64
	if f, ok := m["temperature"].(float64); ok {
		mapTemp = &f
	}
	if !reflect.DeepEqual(r.Temperature, g.Temperature) || !reflect.DeepEqual(r.Temperature, mapTemp) {
		return fmt.Errorf("temperature: proxy %v, Go upstream %v, map %v", deref(r.Temperature), deref(g.Temperature), m["temperature"])
	}
	mapTools, _ := m["tools"].([]any)
	if goTools := len(g.Tools) > 0; goTools != r.HasTools || (len(mapTools) > 0) != r.HasTools {
		return fmt.Errorf("tools: proxy %v, Go upstream %d tools, map %d", r.HasTools, len(g.Tools), len(mapTools))
	}
	var proxyMsgs, goMsgs any
	if err := json.Unmarshal(r.Messages, &proxyMsgs); err != nil {
		return fmt.Errorf("messages the proxy read do not decode: %v", err)
	}
	_ = json.Unmarshal(g.Messages, &goMsgs)
	if !reflect.DeepEqual(proxyMsgs, goMsgs) || !reflect.DeepEqual(proxyMsgs, m["messages"]) {
		return fmt.Errorf("messages: the proxy read %s, a Go upstream %s", r.Messages, g.Messages)
	}
	if hasString(m["messages"], "image_url") && !r.HasImages {
		return fmt.Errorf("images: upstream sees an image_url part, the proxy none")
	}
	var proxyMeta any
	if r.Metadata != nil {
		if err := json.Unmarshal(r.Metadata, &proxyMeta); err != nil {
			return fmt.Errorf("metadata the proxy read does not decode: %v", err)
		}
	}
	if !reflect.DeepEqual(proxyMeta, m["metadata"]) {
		return fmt.Errorf("metadata: proxy %s, map %v", r.Metadata, m["metadata"])
	}
	var goTags, mapTags string
	if g.Metadata != nil {
		goTags = deref(g.Metadata.Tags)
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		mapTags, _ = md["tags"].(string)
	}
	if goTags != r.Tags || mapTags != r.Tags {
		return fmt.Errorf("metadata.tags: proxy %q, Go upstream %q, map %q", r.Tags, goTags, mapTags)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// mapInt is an integer member as a map decoder holds it (a float64), 0 when absent.
func mapInt(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// hasString reports whether s is a key or a string value anywhere in v.
func hasString(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return v == s
	case []any:
		for _, e := range v {
			if hasString(e, s) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if k == s || hasString(e, s) {
				return true
			}
		}
	}
	return false
}

// FuzzOneMeaningEmbeddings holds the same property for embeddings: for every body
// ParseEmbeddings accepts, what the proxy decoded (and the model it rewrote) is what
// encoding/json reads from the body sent upstream.
func FuzzOneMeaningEmbeddings(f *testing.F) {
	for _, s := range []string{
		`{"model":"cheap","input":"hi"}`,
		`{"model":"cheap","mod\u0065l":"expensive","input":"hi"}`,
		`{"model":"cheap","Model":"expensive","input":"hi"}`,
		`{"model":"cheap","input":"hi","input":["a","b"]}`,
		`{"model":"cheap","input":[[1,2]],"dimensions":8,"Dimensions":3072,"encoding_format":"base64"}`,
		`{"model":"cheap","input":["a"],"user":"u","encoding_f\u006frmat":"float"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := providers.ParseEmbeddings(body)
		if err != nil {
			return
		}
		sent, err := rewriteModel(body, upstreamModel)
		if err != nil {
			t.Fatalf("rewrite refused an accepted body: %v\n%s", err, body)
		}
		var g struct {
			Model          *string         `json:"model"`
			Input          json.RawMessage `json:"input"`
			EncodingFormat string          `json:"encoding_format"`
			Dimensions     *int            `json:"dimensions"`
			User           string          `json:"user"`
		}
		var m map[string]any
		if err := json.Unmarshal(sent, &g); err != nil {
			t.Fatalf("a Go upstream cannot decode what the proxy accepted: %v\n%s", err, sent)
		}
		if err := json.Unmarshal(sent, &m); err != nil {
			t.Fatalf("a map decoder cannot decode what the proxy accepted: %v\n%s", err, sent)
		}
		var proxyInput, goInput any
		_ = json.Unmarshal(req.Input.Raw, &proxyInput)
		_ = json.Unmarshal(g.Input, &goInput)
		mapDims, _ := m["dimensions"].(float64)
		mapFormat, _ := m["encoding_format"].(string)
		mapUser, _ := m["user"].(string)
		switch {
		case deref(g.Model) != upstreamModel || m["model"] != upstreamModel:
			t.Fatalf("model: upstream reads %v / %v\n%s", deref(g.Model), m["model"], sent)
		case !reflect.DeepEqual(proxyInput, goInput) || !reflect.DeepEqual(proxyInput, m["input"]):
			t.Fatalf("input: proxy %s, Go upstream %s, map %v", req.Input.Raw, g.Input, m["input"])
		case !reflect.DeepEqual(req.Dimensions, g.Dimensions) || deref(req.Dimensions) != int(mapDims):
			t.Fatalf("dimensions: proxy %v, Go upstream %v, map %v", deref(req.Dimensions), deref(g.Dimensions), mapDims)
		case req.EncodingFormat != g.EncodingFormat || req.EncodingFormat != mapFormat:
			t.Fatalf("encoding_format: proxy %q, Go upstream %q, map %q", req.EncodingFormat, g.EncodingFormat, mapFormat)
		case req.User != g.User || req.User != mapUser:
			t.Fatalf("user: proxy %q, Go upstream %q, map %q", req.User, g.User, mapUser)
		}
	})
}
