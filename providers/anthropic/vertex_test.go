package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/auth"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

const vertexModel = "claude-sonnet-4-5@20250929"

type staticToken struct{ value string }

func (s staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: s.value, Type: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

type failingToken struct{}

func (failingToken) Token(context.Context) (*auth.Token, error) {
	return nil, errors.New("no application default credentials")
}

func vertexSetup(t *testing.T, tokens auth.TokenProvider) (*Vertex, *fakes.Vertex) {
	t.Helper()
	fake := fakes.NewVertex(fakes.VertexOptions{Name: "vx", Token: "ya29.token", Project: "proj", Region: "us-east5"})
	t.Cleanup(fake.Close)
	v, err := NewVertex(VertexConfig{BaseURL: fake.BaseURL(), Project: "proj", Region: "us-east5", Tokens: tokens,
		Beta: []string{"configured-beta"}, Client: providers.NewHTTPClient(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return v, fake
}

const vertexPath = "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/"

func TestVertexChatTranslates(t *testing.T) {
	v, fake := vertexSetup(t, staticToken{"ya29.token"})
	// The fake refuses unknown beta flags; the configured one is the admin's,
	// sent as configured.
	resp, err := v.Chat(context.Background(), &providers.Call{Request: mustParse(t,
		`{"model":"alias","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}]}`), Model: vertexModel})
	if err == nil || !strings.Contains(err.Error(), "configured-beta") {
		t.Fatalf("a configured flag Vertex lacks must reach Vertex (and fail there): %v, %v", resp, err)
	}
	v.beta = nil
	resp, err = v.Chat(context.Background(), &providers.Call{Request: mustParse(t,
		`{"model":"alias","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}]}`), Model: vertexModel})
	if err != nil {
		t.Fatal(err)
	}
	var doc providers.ChatResponse
	if err := json.Unmarshal(resp.Body, &doc); err != nil || doc.Choices[0].Message.Content.Text != "vx heard: Hello" {
		t.Fatalf("chat %s, %v", resp.Body, err)
	}
	rec := fake.Requests()[1]
	if rec.Path != vertexPath+vertexModel+":rawPredict" || rec.Header.Get("Authorization") != "Bearer ya29.token" ||
		rec.Header.Get("X-Api-Key") != "" || rec.Header.Get("Anthropic-Version") != "" {
		t.Fatalf("request %s %v", rec.Path, rec.Header)
	}
	if m, _ := jsonfield.Get(rec.Body, "model"); m != nil {
		t.Fatalf("model left in the body: %s", rec.Body)
	}

	s, err := v.ChatStream(context.Background(), &providers.Call{Request: mustParse(t,
		`{"model":"alias","stream":true,"messages":[{"role":"user","content":"Hi there"}]}`), Model: vertexModel})
	if err != nil {
		t.Fatal(err)
	}
	text, finish, usage, _ := streamText(t, s)
	if text != "vx heard: Hi there" || finish != "stop" || usage == nil || usage.PromptTokens == 0 {
		t.Fatalf("stream %q %q %+v", text, finish, usage)
	}
	if p := fake.Requests()[2].Path; p != vertexPath+vertexModel+":streamRawPredict" {
		t.Fatalf("stream path %s", p)
	}
}

func mustParse(t *testing.T, body string) *providers.Request {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVertexMessagesPassThrough(t *testing.T) {
	v, fake := vertexSetup(t, staticToken{"ya29.token"})
	v.beta = nil
	var dropped []string
	call := nativeCall(claudeCodeBody, "interleaved-thinking-2025-05-14", "files-api-2025-04-14")
	call.Model = vertexModel
	call.DroppedBeta = func(f []string) { dropped = append(dropped, f...) }
	resp, err := v.Messages(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dropped, []string{"files-api-2025-04-14"}) {
		t.Fatalf("dropped %v", dropped)
	}
	rec := fake.Requests()[0]
	if rec.Header.Get("Anthropic-Beta") != "interleaved-thinking-2025-05-14" {
		t.Fatalf("beta %q", rec.Header.Get("Anthropic-Beta"))
	}
	// Everything but model and anthropic_version is the client's, byte for byte.
	want, _ := jsonfield.Delete([]byte(claudeCodeBody), "model")
	want, _ = jsonfield.Set(want, "anthropic_version", []byte(`"vertex-2023-10-16"`))
	if !bytes.Equal(rec.Body, want) {
		t.Fatalf("body\n%s\nwant\n%s", rec.Body, want)
	}
	if resp.Model != vertexModel || resp.Usage.PromptTokens == 0 {
		t.Fatalf("response %+v", resp)
	}

	fake.Script(fakes.ClaudeReply{Content: []json.RawMessage{json.RawMessage(`{"type":"text","text":"streamed"}`)}})
	s, err := v.MessagesStream(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var events []string
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, c.Event)
	}
	want2 := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if !slices.Equal(events, want2) {
		t.Fatalf("events %v", events)
	}

	n, err := v.CountTokens(context.Background(), &providers.MessagesCall{Model: vertexModel,
		Body: []byte(`{"model":"alias","messages":[{"role":"user","content":"read main.go"}]}`)})
	if err != nil || n == 0 {
		t.Fatalf("count %d, %v", n, err)
	}
	if rec := fake.Requests()[2]; rec.Path != vertexPath+"count-tokens:rawPredict" || !bytes.Contains(rec.Body, []byte(`"model":"`+vertexModel+`"`)) {
		t.Fatalf("count request %s %s", rec.Path, rec.Body)
	}
}

func TestVertexErrors(t *testing.T) {
	v, fake := vertexSetup(t, staticToken{"ya29.token"})
	v.beta = nil
	call := nativeCall(claudeCodeBody)
	call.Model = vertexModel
	fake.Fail(fakes.Fault{Status: 429, Times: 1})
	_, err := v.Messages(context.Background(), call)
	var e *providers.Error
	if !errors.As(err, &e) || e.Class != providers.ClassRateLimited || e.Status != 429 {
		t.Fatalf("quota: %v", err)
	}
	fake.Fail(fakes.Fault{Status: 529, Times: 1})
	_, err = v.Messages(context.Background(), call)
	if !errors.As(err, &e) || e.Class != providers.ClassUnavailable || e.Type != "overloaded_error" {
		t.Fatalf("overloaded: %v", err)
	}
	bad, _ := vertexSetup(t, staticToken{"expired"})
	_, err = bad.Messages(context.Background(), call)
	if !errors.As(err, &e) || e.Class != providers.ClassCredential {
		t.Fatalf("wrong token: %v", err)
	}
	none, _ := vertexSetup(t, failingToken{})
	_, err = none.Messages(context.Background(), call)
	if !errors.As(err, &e) || e.Class != providers.ClassCredential {
		t.Fatalf("no credentials: %v", err)
	}
	if _, err := NewVertex(VertexConfig{Region: "us-east5", Tokens: staticToken{}}); err == nil {
		t.Fatal("a Vertex provider without a project")
	}
}

func TestVertexBaseURL(t *testing.T) {
	for region, want := range map[string]string{
		"us-east5": "https://us-east5-aiplatform.googleapis.com",
		"global":   "https://aiplatform.googleapis.com",
		"eu":       "https://aiplatform.eu.rep.googleapis.com",
	} {
		if got := VertexBaseURL(region); got != want {
			t.Errorf("%s: %s", region, got)
		}
	}
}
