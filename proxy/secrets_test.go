package proxy_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers/fakes"
)

// Every configured secret, as the configuration below spells it.
const (
	upstreamKey      = "sk-upstream-openai"
	otherKey         = "sk-other-upstream-7Hq2"
	urlPassword      = "url-Pass-w0rd"
	awsSecret        = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	awsSession       = "FwoGZXIvYXdzEXAMPLE-session-token"
	secretAdminToken = "adm-Token-9f3k2"
	secretsConfig    = `
drain_delay: 0s
admin_token: ` + secretAdminToken + `
keys:
  - {name: app, key: ` + clientKey + `, team: search}
providers:
  - {name: openai, type: openai, base_url: "{{OPENAI}}", api_key: ` + upstreamKey + `}
  - {name: withpass, type: openai, base_url: "{{URLPASS}}", api_key: ` + otherKey + `}
  - {name: bedrock, type: bedrock, region: us-east-1, base_url: "{{BEDROCK}}",
     aws_access_key_id: AKIDSWITCHYARDTEST, aws_secret_access_key: "` + awsSecret + `",
     aws_session_token: ` + awsSession + `}
models:
  - {name: gpt, targets: [{provider: openai, model: gpt-4o}]}
  - {name: pass, targets: [{provider: withpass, model: m}]}
  - {name: claude, targets: [{provider: bedrock, model: anthropic.claude-3-haiku-20240307-v1:0}]}
resilience:
  max_attempts: 1
  timeouts: {first_byte: 5s, total: 20s}
`
)

var allSecrets = []string{upstreamKey, otherKey, urlPassword, awsSecret, awsSession, secretAdminToken, clientKey}

// secretsEnv runs secretsConfig: the OpenAI fake, an OpenAI-compatible server behind
// a base_url with a password, and Bedrock with static keys and a session token.
func secretsEnv(t *testing.T) (*env, *fakes.OpenAI, *fakes.Bedrock) {
	// Keep the machine's AWS setup out of the way: the keys are the configuration's.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	withPass := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "withpass", APIKey: otherKey})
	t.Cleanup(withPass.Close)
	br := fakes.NewBedrock(fakes.BedrockOptions{Name: "bedrock", Region: "us-east-1", AccessKeyID: "AKIDSWITCHYARDTEST",
		SecretAccessKey: awsSecret, SessionToken: awsSession})
	t.Cleanup(br.Close)
	yaml := strings.NewReplacer(
		"{{URLPASS}}", strings.Replace(withPass.BaseURL(), "http://", "http://svc:"+urlPassword+"@", 1),
		"{{BEDROCK}}", br.Endpoint()).Replace(secretsConfig)
	return newEnv(t, yaml), withPass, br
}

// quoting is an upstream error message that quotes every secret of the configuration,
// as a misbehaving upstream (or a proxy in front of it) might.
func quoting() string {
	return fmt.Sprintf("Incorrect API key provided: %s; tried %s, %s, %s:%s, admin %s, client %s, escaped %s",
		upstreamKey, otherKey, urlPassword, awsSecret, awsSession, secretAdminToken, clientKey,
		strings.ReplaceAll(awsSecret, "/", "%2F"))
}

// An upstream's error message that quotes the gateway's credentials (or any other
// configured secret) never reaches the client or the log, whatever the status: a 400
// returned to the client as is, a 404 and a 500 summarised after the attempts, a
// failure of a streamed request, Bedrock's own error, and a base_url with a
// password.
func TestUpstreamErrorsNeverCarrySecrets(t *testing.T) {
	e, withPass, br := secretsEnv(t)
	cases := []struct {
		name       string
		model      string
		stream     bool
		inject     func()
		wantStatus int
	}{
		{"400 returned as is", "gpt", false, func() { e.openai.Fail(fakes.Fault{Status: 400, Message: quoting(), Times: 1}) }, 400},
		{"404 model not found", "gpt", false, func() {
			e.openai.Fail(fakes.Fault{Status: 404, Code: "model_not_found", Message: "The model does not exist. " + quoting(), Times: 1})
		}, 502},
		{"500", "gpt", false, func() { e.openai.Fail(fakes.Fault{Status: 500, Message: quoting(), Times: 1}) }, 502},
		{"400 on a streamed request", "gpt", true, func() { e.openai.Fail(fakes.Fault{Status: 400, Message: quoting(), Times: 1}) }, 400},
		{"base_url with a password, 500", "pass", false, func() { withPass.Fail(fakes.Fault{Status: 500, Message: quoting(), Times: 1}) }, 502},
		{"bedrock 400", "claude", false, func() { br.Fail(fakes.Fault{Status: 400, Message: quoting(), Times: 1}) }, 400},
		{"bedrock 500 on a stream", "claude", true, func() { br.Fail(fakes.Fault{Status: 500, Message: quoting(), Times: 1}) }, 502},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.inject()
			resp, body := e.post("/chat/completions", clientKey, map[string]any{"model": tc.model, "stream": tc.stream,
				"messages": []map[string]string{{"role": "user", "content": "hi"}}})
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			_, _, msg := errorCode(t, body)
			// The message did come through (scrubbed), so this case proves something.
			if !strings.Contains(msg, "[redacted]") {
				t.Errorf("the upstream's message did not reach the client scrubbed: %s", body)
			}
			for _, s := range allSecrets {
				if strings.Contains(string(body), s) {
					t.Errorf("the client's error holds secret %q: %s", s, body)
				}
			}
		})
	}
	t.Run("an error event in a committed stream", func(t *testing.T) {
		br.Fail(fakes.Fault{CutAfter: 3, Code: "modelStreamErrorException", Message: quoting(), Times: 1})
		resp, body := e.post("/chat/completions", clientKey, map[string]any{"model": "claude", "stream": true,
			"messages": []map[string]string{{"role": "user", "content": "tell me a long story"}}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "[redacted]") {
			t.Fatalf("want a 200 stream ending in a scrubbed error event: %d %s", resp.StatusCode, body)
		}
		for _, s := range allSecrets {
			if strings.Contains(string(body), s) {
				t.Errorf("the stream holds secret %q: %s", s, body)
			}
		}
	})

	lines := 0
	for _, entry := range e.logs.All() {
		text := entry.Message
		for k, v := range entry.ContextMap() {
			text += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(text, "[redacted]") {
			lines++
		}
		for _, s := range allSecrets {
			if strings.Contains(text, s) {
				t.Errorf("log line holds secret %q: %s", s, text)
			}
		}
	}
	if lines == 0 {
		t.Error("no log line carried an upstream message: the log was not exercised")
	}
}
