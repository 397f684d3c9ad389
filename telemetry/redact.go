package telemetry

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// maxLoggedBody bounds a body written to the log.
const maxLoggedBody = 64 << 10

// secretPatterns match credentials that users paste into prompts: OpenAI and
// Anthropic keys, AWS access key ids, Google API keys, bearer tokens, JWTs.
var secretPatterns = regexp.MustCompile(
	`sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}|` +
		`(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,}=*|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}`)

// secretKeys are JSON member names whose values are never logged.
var secretKeys = []string{"api_key", "apikey", "api-key", "authorization", "password", "secret", "token", "access_key", "credential"}

// Redact returns body fit for a log line: the values of secret-looking members
// replaced, credential-shaped strings masked anywhere, and the whole bounded.
func Redact(body []byte) string {
	if len(body) > maxLoggedBody {
		body = body[:maxLoggedBody]
	}
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		redactValue(doc)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(doc) == nil {
			body = bytes.TrimSpace(buf.Bytes())
		}
	}
	return secretPatterns.ReplaceAllString(string(body), "[redacted]")
}

func redactValue(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if isSecretKey(k) {
				x[k] = "[redacted]"
				continue
			}
			redactValue(val)
		}
	case []any:
		for _, val := range x {
			redactValue(val)
		}
	}
}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretKeys {
		if strings.Contains(k, s) && k != "max_tokens" && !strings.HasSuffix(k, "_tokens") {
			return true
		}
	}
	return false
}
