package gemini

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

func parseChat(t testing.TB, body string) *providers.Request {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatalf("ParseChat: %v", err)
	}
	return r
}

// TestTranslateRequestGolden translates each testdata/<case>.openai.json client
// request and compares the generateContent body with <case>.req.json.
func TestTranslateRequestGolden(t *testing.T) {
	for _, name := range []string{"system_multiturn", "tool_round_trip", "images", "json_mode", "json_schema", "stop_max_tokens", "tool_choice_named"} {
		t.Run(name, func(t *testing.T) {
			r := parseChat(t, string(readTestdata(t, name+".openai.json")))
			body, err := encodeRequest(r, "gemini-2.5-flash", false, false)
			if err != nil {
				t.Fatalf("encodeRequest: %v", err)
			}
			golden(t, name+".req.json", body)
		})
	}
}

func TestTranslateRequestDetails(t *testing.T) {
	translate := func(t *testing.T, body string) *generateRequest {
		t.Helper()
		c, err := parseChat(t, body).Canonical()
		if err != nil {
			t.Fatal(err)
		}
		g, err := translateRequest(c, false)
		if err != nil {
			t.Fatalf("translateRequest: %v", err)
		}
		return g
	}

	t.Run("tool results are matched to calls by name and merged into one user turn", func(t *testing.T) {
		g := translate(t, string(readTestdata(t, "tool_round_trip.openai.json")))
		// user, model (2 calls), user (2 responses), model (text + call), user (1 response)
		roles := []string{}
		for _, c := range g.Contents {
			roles = append(roles, c.Role)
		}
		if got := strings.Join(roles, ","); got != "user,model,user,model,user" {
			t.Fatalf("roles = %s", got)
		}
		resp := g.Contents[2].Parts
		if len(resp) != 2 || resp[0].FunctionResponse.Name != "get_weather" || resp[1].FunctionResponse.Name != "get_weather" {
			t.Fatalf("function responses = %+v", resp)
		}
		if string(resp[0].FunctionResponse.Response) != `{"temp_c":18}` || string(resp[1].FunctionResponse.Response) != `{"output":"sunny, 25C"}` {
			t.Errorf("responses = %s, %s", resp[0].FunctionResponse.Response, resp[1].FunctionResponse.Response)
		}
		if got := string(g.Contents[4].Parts[0].FunctionResponse.Response); got != `{"output":["09:00","17:00"]}` {
			t.Errorf("array result = %s", got)
		}
	})

	t.Run("thought signatures come back from the tool call id, unknown ones are skipped", func(t *testing.T) {
		g := translate(t, string(readTestdata(t, "tool_round_trip.openai.json")))
		calls := g.Contents[1].Parts
		if calls[0].ThoughtSignature != "ZmFrZS10aG91Z2h0OmdldF93ZWF0aGVy" || calls[1].ThoughtSignature != "" {
			t.Errorf("signatures = %q, %q", calls[0].ThoughtSignature, calls[1].ThoughtSignature)
		}
		later := g.Contents[3].Parts // text, then a call whose id came from another provider
		if later[0].Text == "" || later[1].ThoughtSignature != skipSignature {
			t.Errorf("parts = %+v", later)
		}
		if calls[0].FunctionCall.ID != "" {
			t.Error("call ids must not be sent upstream")
		}
	})

	t.Run("max_completion_tokens wins over max_tokens", func(t *testing.T) {
		g := translate(t, string(readTestdata(t, "stop_max_tokens.openai.json")))
		if g.GenerationConfig.MaxOutputTokens != 64 {
			t.Errorf("maxOutputTokens = %d", g.GenerationConfig.MaxOutputTokens)
		}
	})

	t.Run("a bare request sends no generationConfig, tools or systemInstruction", func(t *testing.T) {
		g := translate(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		body, _ := json.Marshal(g)
		if string(body) != `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}` {
			t.Errorf("body = %s", body)
		}
	})

	t.Run("tool_choice modes", func(t *testing.T) {
		for choice, want := range map[string]string{`"auto"`: "AUTO", `"none"`: "NONE", `"required"`: "ANY"} {
			g := translate(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":`+choice+`}`)
			if g.ToolConfig == nil || g.ToolConfig.FunctionCallingConfig.Mode != want {
				t.Errorf("tool_choice %s → %+v, want %s", choice, g.ToolConfig, want)
			}
		}
	})
}

// TestTranslateRequestRefusals: what Gemini cannot honour is a 400 naming the
// parameter, never a silent change of meaning.
func TestTranslateRequestRefusals(t *testing.T) {
	cases := []struct {
		name, body, param string
		stream            bool
		unsupported       bool
	}{
		{"remote image URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, "messages", false, false},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, "messages[0].content[0].type", false, true},
		{"n>1 streamed", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}`, "n", true, true},
		{"logprobs", `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}`, "logprobs", false, true},
		{"logit_bias", `{"model":"m","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100}}`, "logit_bias", false, true},
		{"reasoning_effort", `{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"extreme"}`, "reasoning_effort", false, false},
		{"parallel_tool_calls false", `{"model":"m","messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":false,"tools":[{"type":"function","function":{"name":"f"}}]}`, "parallel_tool_calls", false, true},
		{"orphan tool result", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"x","content":"1"}]}`, "messages[1].tool_call_id", false, false},
		{"arguments not an object", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments", false, false},
		{"unknown role", `{"model":"m","messages":[{"role":"function","content":"x"}]}`, "messages[0].role", false, false},
		{"only a system message", `{"model":"m","messages":[{"role":"system","content":"be nice"}]}`, "messages", false, false},
		{"seed beyond 32 bits", `{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":9999999999}`, "seed", false, false},
		{"bad response_format", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}`, "response_format.type", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := encodeRequest(parseChat(t, tc.body), "gemini-2.5-flash", false, tc.stream)
			var e *providers.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *providers.Error", err)
			}
			if e.Class != providers.ClassInvalidRequest || e.Status != 400 || e.Param != tc.param {
				t.Errorf("got class %v status %d param %q, want invalid_request 400 %q", e.Class, e.Status, e.Param, tc.param)
			}
			if got := e.Code == "unsupported_parameter"; got != tc.unsupported {
				t.Errorf("unsupported = %v, want %v (%s)", got, tc.unsupported, e.Message)
			}
		})
	}
}

// BenchmarkTranslateRequest measures canonical → generateContent JSON for a
// tool round trip (the canonical decode is shared by every translating provider
// and done once per request, so it is not counted).
func BenchmarkTranslateRequest(b *testing.B) {
	c, err := parseChat(b, string(readTestdata(b, "tool_round_trip.openai.json"))).Canonical()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g, err := translateRequest(c, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(g); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzTranslateRequest(f *testing.F) {
	for _, name := range []string{"system_multiturn", "tool_round_trip", "images", "json_schema"} {
		f.Add(readTestdata(f, name+".openai.json"))
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"~ts~","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"~ts~","content":"\u0000"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := providers.ParseChat(body)
		if err != nil {
			return
		}
		out, err := encodeRequest(r, "gemini-2.5-flash", false, r.Stream)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
	})
}
