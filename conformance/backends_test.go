package conformance

import (
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/providers/fakes"
)

// backend is one row of the conformance table: a backend type and everything the
// scenarios need to know about it.
type backend struct {
	// name is the provider type; it also names the provider, the alias and the
	// fake's emulated model ("<name> heard: ...").
	name string
	// model is the upstream model id (Azure: the deployment).
	model string
	// assistantRole is the cloud's name for the assistant's turns.
	assistantRole string
	// promptFilterChunk: the cloud opens every stream with a chunk of
	// prompt_filter_results (no choices, empty id and object), which the proxy
	// relays as is because the cloud's own clients read it.
	promptFilterChunk bool
	// start runs the fake, with the given context window in tokens (0 = none),
	// and returns it with the provider's configuration entry.
	start func(t *testing.T, contextWindow int) (cloud, string)
	// native reads a request the fake received, in the cloud's own terms.
	native func(t *testing.T, r fakes.Recorded) nativeRequest
	// unsupported lists the scenarios the backend refuses by design: the client
	// must get a clear 400 instead.
	unsupported map[string]refusal
}

// refusal is why a backend refuses a scenario, and the parameter its 400 names.
type refusal struct {
	param  string
	reason string
}

// backends is the table. Every scenario runs against every row.
var backends = []*backend{
	{
		name: "openai", model: "gpt-4o-2024-08-06", assistantRole: "assistant",
		start: func(t *testing.T, window int) (cloud, string) {
			f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "openai", APIKey: "sk-upstream-openai", ContextWindow: window})
			return f, `{name: openai, type: openai, base_url: "` + f.BaseURL() + `", api_key: sk-upstream-openai}`
		},
		native: openAINative,
	},
	{
		// Azure's content filter annotates the prompt in a stream's first chunk
		// (Azure OpenAI content filtering, "streaming" in its docs).
		name: "azure", model: "gpt-4o-prod", assistantRole: "assistant", promptFilterChunk: true,
		start: func(t *testing.T, window int) (cloud, string) {
			f := fakes.NewAzure(fakes.AzureOptions{Name: "azure", APIKey: "az-upstream-key", ContextWindow: window,
				Deployments: []string{"gpt-4o-prod"}, APIVersions: []string{"2024-10-21"}})
			return f, `{name: azure, type: azure, base_url: "` + f.Endpoint() + `", api_key: az-upstream-key, api_version: "2024-10-21"}`
		},
		native: openAINative,
	},
	{
		name: "bedrock", model: "us.anthropic.claude-sonnet-4-20250514-v1:0", assistantRole: "assistant",
		start: func(t *testing.T, window int) (cloud, string) {
			// Static keys from the configuration; the machine's AWS setup stays out.
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
			t.Setenv("AWS_PROFILE", "")
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
			f := fakes.NewBedrock(fakes.BedrockOptions{Name: "bedrock", Region: "us-east-1",
				AccessKeyID: "AKIDCONFORMANCE", SecretAccessKey: "conformance-secret", ContextWindow: window})
			return f, `{name: bedrock, type: bedrock, region: us-east-1, base_url: "` + f.Endpoint() +
				`", aws_access_key_id: AKIDCONFORMANCE, aws_secret_access_key: conformance-secret}`
		},
		native: bedrockNative,
		unsupported: map[string]refusal{
			"several choices": {param: "n", reason: "Converse returns one answer per request"},
		},
	},
	{
		name: "anthropic", model: "claude-sonnet-4-5", assistantRole: "assistant",
		start: func(t *testing.T, window int) (cloud, string) {
			f := fakes.NewAnthropic(fakes.AnthropicOptions{Name: "anthropic", APIKey: "sk-ant-upstream", ContextWindow: window})
			return f, `{name: anthropic, type: anthropic, base_url: "` + f.BaseURL() + `", api_key: sk-ant-upstream}`
		},
		native: anthropicNative,
		unsupported: map[string]refusal{
			"several choices": {param: "n", reason: "the Messages API returns one message per request"},
		},
	},
	{
		name: "gemini", model: "gemini-2.5-flash", assistantRole: "model",
		start: func(t *testing.T, window int) (cloud, string) {
			f := fakes.NewGemini(fakes.GeminiOptions{Name: "gemini", APIKey: "AIza-upstream", ContextWindow: window,
				Models: []string{"gemini-2.5-flash"}, ImplicitCacheMinTokens: 1024})
			return f, `{name: gemini, type: gemini, base_url: "` + f.BaseURL() + `", api_key: AIza-upstream}`
		},
		native: geminiNative,
	},
}
