package fakes_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/auth"
	"google.golang.org/genai"

	"github.com/switchyard/switchyard/providers/fakes"
)

// The official Go SDK (google.golang.org/genai) pointed at the fake through its
// base URL: if the fake's wire format drifted from the real API, these would fail.

func geminiClient(t *testing.T, f *fakes.Gemini, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: f.BaseURL()}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGeminiSDKGenerateContent(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Name: "fake-gemini", APIKey: "sdk-key"})
	defer f.Close()
	c := geminiClient(t, f, "sdk-key")
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hello world"),
		&genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("be kind", genai.RoleUser),
			Temperature: genai.Ptr[float32](0.3), MaxOutputTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "fake-gemini heard: hello world" || resp.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Errorf("text %q finish %q", resp.Text(), resp.Candidates[0].FinishReason)
	}
	if u := resp.UsageMetadata; u == nil || u.CandidatesTokenCount != 4 || u.TotalTokenCount != u.PromptTokenCount+4 {
		t.Errorf("usage = %+v", u)
	}
	rec := f.Requests()[0]
	if rec.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || rec.Header.Get("X-Goog-Api-Key") != "sdk-key" {
		t.Errorf("SDK request %s %v", rec.Path, rec.Header)
	}
}

func TestGeminiSDKStreamWithFunctionCalling(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "sdk-key"})
	defer f.Close()
	c := geminiClient(t, f, "sdk-key")
	cfg := &genai.GenerateContentConfig{
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{
			{Name: "get_weather", Description: "weather", ParametersJsonSchema: map[string]any{"type": "object",
				"properties": map[string]any{"query": map[string]any{"type": "string"}}}},
			{Name: "get_time", Parameters: &genai.Schema{Type: genai.TypeObject}},
		}}},
		ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}},
	}
	history := genai.Text("Paris")
	var calls []*genai.Part
	var finish genai.FinishReason
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", history, cfg) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.Candidates[0].Content.Parts {
			if p.FunctionCall != nil {
				calls = append(calls, p)
			}
		}
		finish = resp.Candidates[0].FinishReason
	}
	if len(calls) != 2 || calls[0].FunctionCall.Name != "get_weather" || calls[0].FunctionCall.Args["query"] != "Paris" ||
		len(calls[0].ThoughtSignature) == 0 || finish != genai.FinishReasonStop {
		t.Fatalf("calls %+v finish %q", calls, finish)
	}

	// The SDK user's second turn: the model turn as received (with its thought
	// signature), then one function response per call.
	history = append(history, &genai.Content{Role: genai.RoleModel, Parts: calls},
		&genai.Content{Role: genai.RoleUser, Parts: []*genai.Part{
			genai.NewPartFromFunctionResponse("get_weather", map[string]any{"temp": 18}),
			genai.NewPartFromFunctionResponse("get_time", map[string]any{"output": "9:00"}),
		}})
	var text strings.Builder
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", history, &genai.GenerateContentConfig{Tools: cfg.Tools}) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(resp.Text())
	}
	// The model reads a response's "output" member as the function's output.
	if text.String() != `Tool results: {"temp":18}; 9:00` {
		t.Errorf("answer = %q", text.String())
	}

	// Dropping the signature is what Gemini 3 refuses.
	calls[0].ThoughtSignature = nil
	history[1] = &genai.Content{Role: genai.RoleModel, Parts: calls}
	_, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", history, nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || !strings.Contains(apiErr.Message, "thought_signature") {
		t.Errorf("unsigned history: %v", err)
	}
}

func TestGeminiSDKErrors(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "right"})
	defer f.Close()

	_, err := geminiClient(t, f, "wrong").Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Status != "INVALID_ARGUMENT" || apiErr.Details[0]["reason"] != "API_KEY_INVALID" {
		t.Errorf("wrong key: %v", err)
	}

	f.Fail(fakes.Fault{Status: 429, RetryAfter: 30 * time.Second, Times: 1})
	_, err = geminiClient(t, f, "right").Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" {
		t.Fatalf("429: %v", err)
	}
	found := false
	for _, d := range apiErr.Details {
		found = found || (d["@type"] == "type.googleapis.com/google.rpc.RetryInfo" && d["retryDelay"] == "30s")
	}
	if !found {
		t.Errorf("no RetryInfo in %v", apiErr.Details)
	}

	f.Fail(fakes.Fault{CutAfter: 1, Status: 503, Message: "The model is overloaded. Please try again later.", Times: 1})
	var streamErr error
	for _, err := range geminiClient(t, f, "right").Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("a b c"), nil) {
		if err != nil {
			streamErr = err
			break
		}
	}
	if !errors.As(streamErr, &apiErr) || apiErr.Code != 503 || apiErr.Status != "UNAVAILABLE" {
		t.Errorf("mid-stream error: %v", streamErr)
	}
}

type staticToken string

func (s staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: string(s), Type: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func TestGeminiSDKVertexAI(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{Token: "ya29.sdk"})
	defer f.Close()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{Backend: genai.BackendVertexAI, Project: "p1", Location: "us-central1",
		Credentials: auth.NewCredentials(&auth.CredentialsOptions{TokenProvider: staticToken("ya29.sdk")}),
		// v1, the version Switchyard speaks (the SDK defaults to v1beta1).
		HTTPOptions: genai.HTTPOptions{BaseURL: f.BaseURL(), APIVersion: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "gemini heard: hi" {
		t.Errorf("text %q", resp.Text())
	}
	rec := f.Requests()[0]
	if rec.Path != "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent" ||
		rec.Header.Get("Authorization") != "Bearer ya29.sdk" {
		t.Errorf("SDK request %s %v", rec.Path, rec.Header)
	}
}

// TestGeminiValidation: requests the real API refuses are refused alike.
func TestGeminiValidation(t *testing.T) {
	f := fakes.NewGemini(fakes.GeminiOptions{APIKey: "k"})
	defer f.Close()
	post := func(path, key, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, f.BaseURL()+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("X-Goog-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const gen = "/v1beta/models/gemini-2.5-flash:generateContent"
	call := `{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"c2ln"}]}`
	cases := []struct {
		name, path, key, body string
		status                int
		message               string
	}{
		{"no key", gen, "", `{"contents":[{"parts":[{"text":"hi"}]}]}`, 403, "unregistered callers"},
		{"key as query parameter", gen + "?key=k", "", `{"contents":[{"parts":[{"text":"hi"}]}]}`, 200, "heard: hi"},
		{"unknown field", gen, "k", `{"contents":[{"parts":[{"text":"hi"}]}],"generation_config":{}}`, 400, `Unknown name \"generation_config\": Cannot find field.`},
		{"no contents", gen, "k", `{"contents":[]}`, 400, "contents is not specified"},
		{"bad role", gen, "k", `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`, 400, "valid role"},
		{"empty parts", gen, "k", `{"contents":[{"role":"user","parts":[]}]}`, 400, "must not be empty"},
		{"part with two data fields", gen, "k", `{"contents":[{"parts":[{"text":"a","inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`, 400, "oneof"},
		{"unsigned function call", gen, "k", `{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"functionCall":{"name":"f"}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, 400, "missing a thought_signature"},
		{"responses do not match calls", gen, "k", `{"contents":[{"role":"user","parts":[{"text":"q"}]},` + call + `,{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}},{"functionResponse":{"name":"f","response":{}}}]}]}`, 400, "number of function response parts"},
		{"response without call", gen, "k", `{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, 400, "immediately after a function call turn"},
		{"response not an object", gen, "k", `{"contents":[{"role":"user","parts":[{"text":"q"}]},` + call + `,{"role":"user","parts":[{"functionResponse":{"name":"f","response":"x"}}]}]}`, 400, "JSON object"},
		{"schema without JSON mime type", gen, "k", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"responseJsonSchema":{"type":"object"}}}`, 400, "response_mime_type"},
		{"allowed names without ANY", gen, "k", `{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"AUTO","allowedFunctionNames":["f"]}}}`, 400, "allowed_function_names"},
		{"unknown method", "/v1beta/models/gemini-2.5-flash:doMagic", "k", `{}`, 404, "Method not found"},
		{"unknown path", "/v1beta/tunedModels/x:generateContent", "k", `{}`, 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.path, tc.key, tc.body)
			if status != tc.status || !strings.Contains(body, tc.message) {
				t.Errorf("%d %s, want %d containing %q", status, body, tc.status, tc.message)
			}
			if status != 200 {
				var doc struct {
					Error struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
						Status  string `json:"status"`
					} `json:"error"`
				}
				if json.Unmarshal([]byte(body), &doc) != nil || doc.Error.Code != status || doc.Error.Status == "" {
					t.Errorf("not a google.rpc.Status body: %s", body)
				}
			}
		})
	}

	t.Run("stream without alt=sse is a JSON array", func(t *testing.T) {
		status, body := post("/v1beta/models/m:streamGenerateContent", "k", `{"contents":[{"parts":[{"text":"one two"}]}]}`)
		var events []map[string]any
		if status != 200 || json.Unmarshal([]byte(body), &events) != nil || len(events) != 4 {
			t.Errorf("%d %s", status, body)
		}
	})

	t.Run("SSE events are CRLF framed, the last one finishes", func(t *testing.T) {
		status, body := post("/v1beta/models/m:streamGenerateContent?alt=sse", "k", `{"contents":[{"parts":[{"text":"x"}]}]}`)
		events := strings.Split(strings.TrimSuffix(body, "\r\n\r\n"), "\r\n\r\n")
		last := events[len(events)-1]
		if status != 200 || !strings.HasPrefix(events[0], "data: {") || !strings.Contains(last, `"finishReason":"STOP"`) ||
			!strings.Contains(last, `"candidatesTokenCount"`) || strings.Contains(events[0], `"finishReason"`) {
			t.Errorf("%d %q", status, body)
		}
	})

	t.Run("content filter reply has no content", func(t *testing.T) {
		f.Respond(func(*fakes.Prompt) fakes.Reply { return fakes.Reply{FinishReason: "content_filter"} })
		defer f.Respond(fakes.Echo("gemini"))
		_, body := post(gen, "k", `{"contents":[{"parts":[{"text":"x"}]}]}`)
		if !strings.Contains(body, `"finishReason":"SAFETY"`) || strings.Contains(body, `"content"`) {
			t.Errorf("%s", body)
		}
	})
}
