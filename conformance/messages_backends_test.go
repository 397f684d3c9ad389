package conformance

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/auth"

	"github.com/switchyard/switchyard/providers/fakes"
)

// messagesBackend is one row of the Anthropic dialect's table: a backend type, and
// what the scenarios need to know about it when a Messages client reaches it.
type messagesBackend struct {
	// name names the provider and the alias, and is the fake's emulated model
	// ("<name> heard: ...").
	name  string
	model string
	// native: the target speaks Messages, and the client's body goes upstream by
	// pass-through; otherwise it is translated through the canonical request.
	native bool
	// cacheWrites: the cloud's usage counts the tokens written to its prompt
	// cache (Anthropic, Claude on Bedrock and Vertex AI, Converse); elsewhere they
	// are part of the prompt count, unseen.
	cacheWrites bool
	// held is how many stream events the cloud sends before the first content:
	// a stream cut right there is a failure before the first byte.
	held int
	// assistantRole is the cloud's name for the assistant's turns.
	assistantRole string
	// failure fails a stream once it began, in the cloud's own way (an error
	// event, a stream exception, or a plain cut); the scenario sets CutAfter.
	failure fakes.Fault
	// start runs the fake under name and returns it with its provider entry.
	start func(t *testing.T, name string) (cloud, string)
	// received reads a request the cloud received, in its own terms.
	received func(t *testing.T, r fakes.Recorded) nativeRequest
	// beta reads the anthropic-beta flags the cloud received.
	beta func(t *testing.T, r fakes.Recorded) []string
}

// vertexToken is the OAuth2 token the emulated Vertex AI accepts, issued by
// googleTokens in place of application default credentials.
const vertexToken = "ya29.conformance"

type staticToken string

func (s staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: string(s), Type: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

// awsIsolated keeps the machine's AWS setup out: the configuration's static keys
// sign every request.
func awsIsolated(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
}

func startBedrock(t *testing.T, name string) (cloud, string) {
	awsIsolated(t)
	f := fakes.NewBedrock(fakes.BedrockOptions{Name: name, Region: "us-east-1",
		AccessKeyID: "AKIDCONFORMANCE", SecretAccessKey: "conformance-secret"})
	return f, `{name: ` + name + `, type: bedrock, region: us-east-1, base_url: "` + f.Endpoint() +
		`", aws_access_key_id: AKIDCONFORMANCE, aws_secret_access_key: conformance-secret}`
}

func startOpenAI(t *testing.T, name string) (cloud, string) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: name, APIKey: "sk-upstream-openai"})
	return f, `{name: ` + name + `, type: openai, base_url: "` + f.BaseURL() + `", api_key: sk-upstream-openai}`
}

// messagesBackends is the table: every backend type, native and translated.
var messagesBackends = []*messagesBackend{
	{
		name: "anthropic", model: "claude-sonnet-4-5", native: true, cacheWrites: true, held: 3, assistantRole: "assistant",
		failure: fakes.Fault{Status: 529},
		start: func(t *testing.T, name string) (cloud, string) {
			f := fakes.NewAnthropic(fakes.AnthropicOptions{Name: name, APIKey: "sk-ant-upstream"})
			return f, `{name: ` + name + `, type: anthropic, base_url: "` + f.BaseURL() + `", api_key: sk-ant-upstream}`
		},
		received: anthropicNative,
		beta:     headerBeta,
	},
	{
		// Claude on Bedrock through InvokeModel: the Messages body, the model in the path.
		name: "bedrock-claude", model: "us.anthropic.claude-sonnet-4-20250514-v1:0", native: true, cacheWrites: true, held: 3,
		assistantRole: "assistant", failure: fakes.Fault{Code: "modelStreamErrorException"},
		start:    startBedrock,
		received: invokeNative,
		beta: func(t *testing.T, r fakes.Recorded) []string {
			var body struct {
				Beta []string `json:"anthropic_beta"`
			}
			decode(t, r, &body)
			return body.Beta
		},
	},
	{
		// Claude on Vertex AI: type anthropic with auth: google.
		name: "vertex-claude", model: "claude-sonnet-4-5@20250929", native: true, cacheWrites: true, held: 3,
		assistantRole: "assistant", failure: fakes.Fault{Status: 529},
		start: func(t *testing.T, name string) (cloud, string) {
			f := fakes.NewVertex(fakes.VertexOptions{Name: name, Token: vertexToken, Project: "conformance", Region: "us-east5"})
			return f, `{name: ` + name + `, type: anthropic, auth: google, project: conformance, region: us-east5, base_url: "` +
				f.BaseURL() + `"}`
		},
		received: vertexNative,
		beta:     headerBeta,
	},
	{
		name: "openai", model: "gpt-4o-2024-08-06", held: 1, assistantRole: "assistant",
		start: startOpenAI, received: openAINative, beta: headerBeta,
	},
	{
		// Azure opens every stream with a prompt_filter_results chunk, then the role.
		name: "azure", model: "gpt-4o-prod", held: 2, assistantRole: "assistant",
		start: func(t *testing.T, name string) (cloud, string) {
			f := fakes.NewAzure(fakes.AzureOptions{Name: name, APIKey: "az-upstream-key",
				Deployments: []string{"gpt-4o-prod"}, APIVersions: []string{"2024-10-21"}})
			return f, `{name: ` + name + `, type: azure, base_url: "` + f.Endpoint() + `", api_key: az-upstream-key, api_version: "2024-10-21"}`
		},
		received: openAINative, beta: headerBeta,
	},
	{
		// Gemini's first stream chunk carries text: nothing to cut before it.
		name: "gemini", model: "gemini-2.5-flash", held: 0, assistantRole: "model",
		failure: fakes.Fault{Message: "Internal error encountered."},
		start: func(t *testing.T, name string) (cloud, string) {
			f := fakes.NewGemini(fakes.GeminiOptions{Name: name, APIKey: "AIza-upstream", Models: []string{"gemini-2.5-flash"}})
			return f, `{name: ` + name + `, type: gemini, base_url: "` + f.BaseURL() + `", api_key: AIza-upstream}`
		},
		received: geminiNative, beta: headerBeta,
	},
	{
		// A model Bedrock serves through Converse only: translated.
		name: "bedrock-nova", model: "us.amazon.nova-pro-v1:0", cacheWrites: true, held: 1, assistantRole: "assistant",
		failure: fakes.Fault{Code: "modelStreamErrorException"},
		start:   startBedrock, received: bedrockNative, beta: headerBeta,
	},
	{
		// An OpenAI-compatible server (vLLM, Ollama, ...): type openai with its base_url.
		name: "vllm", model: "meta-llama/Llama-3.3-70B-Instruct", held: 1, assistantRole: "assistant",
		start: func(t *testing.T, name string) (cloud, string) {
			f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: name, APIKey: "vllm-token", Models: []string{"meta-llama/Llama-3.3-70B-Instruct"}})
			return f, `{name: ` + name + `, type: openai, base_url: "` + f.BaseURL() + `", api_key: vllm-token}`
		},
		received: openAINative, beta: headerBeta,
	},
}

// headerBeta is the anthropic-beta header as received.
func headerBeta(_ *testing.T, r fakes.Recorded) []string {
	var out []string
	for _, v := range r.Header.Values("Anthropic-Beta") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// invokeNative reads InvokeModel and InvokeModelWithResponseStream: the Messages
// body, the model and the streaming choice in the path.
func invokeNative(t *testing.T, r fakes.Recorded) nativeRequest {
	n := anthropicNative(t, r)
	model, op := bedrockPath(t, r)
	if op != "invoke" && op != "invoke-with-response-stream" {
		t.Fatalf("Claude on Bedrock reached through %s, not InvokeModel", op)
	}
	n.Model, n.Stream = model, op == "invoke-with-response-stream"
	return n
}

// vertexNative reads rawPredict and streamRawPredict: the Messages body, the
// model and the method in the path.
func vertexNative(t *testing.T, r fakes.Recorded) nativeRequest {
	n := anthropicNative(t, r)
	_, action, ok := strings.Cut(r.Path, "/publishers/anthropic/models/")
	if !ok {
		t.Fatalf("not a Vertex AI Claude path: %s", r.Path)
	}
	model, method, _ := strings.Cut(action, ":")
	n.Model, n.Stream = model, method == "streamRawPredict"
	return n
}

// members are the top-level members of a recorded body, in order, with their raw
// values.
func members(t *testing.T, body []byte) []member {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %.200s", body)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, member{tok.(string), string(raw)})
	}
	return out
}

type member struct{ name, value string }
