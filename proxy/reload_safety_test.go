package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// keyless is baseConfig with its keys removed, as a bad merge or an emptied section
// would leave it.
func keyless(t *testing.T) string {
	t.Helper()
	start := strings.Index(baseConfig, "keys:\n")
	end := strings.Index(baseConfig, "providers:\n")
	if start < 0 || end < start {
		t.Fatal("baseConfig changed shape")
	}
	return baseConfig[:start] + baseConfig[end:]
}

// status sends a chat request with key ("" for none) and returns the status.
func status(t *testing.T, e *env, key string) int {
	t.Helper()
	resp, _ := e.post("/chat/completions", key, map[string]any{"model": "gpt-4o",
		"messages": []map[string]string{{"role": "user", "content": "hi"}}})
	return resp.StatusCode
}

// A reload to a file without client keys would open the API to anyone: it is refused
// (admin call and file watcher alike) and the keys in force keep guarding the API,
// unless the new file says open_access: true.
func TestReloadWithoutKeysIsRefused(t *testing.T) {
	e := newEnv(t, baseConfig)
	e.writeConfig(keyless(t))
	code, body := e.reload(t)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "open_access: true") {
		t.Fatalf("reload without keys: %d %s", code, body)
	}
	if got := status(t, e, ""); got != http.StatusUnauthorized {
		t.Errorf("after the refused reload, a request without a key got %d", got)
	}
	if got := status(t, e, clientKey); got != http.StatusOK {
		t.Errorf("after the refused reload, the configured key got %d", got)
	}

	t.Run("through the file watcher", func(t *testing.T) {
		if err := e.watch(); err != nil {
			t.Skipf("no file watcher here: %v", err)
		}
		before := metricValue(t, e, `switchyard_config_reloads_total{result="failure"}`)
		e.writeConfig(keyless(t) + "\n# touched\n")
		deadline := time.Now().Add(5 * time.Second)
		for metricValue(t, e, `switchyard_config_reloads_total{result="failure"}`) == before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if metricValue(t, e, `switchyard_config_reloads_total{result="failure"}`) == before {
			t.Fatal("the watcher's reload of a keyless file was not refused")
		}
		if got := status(t, e, ""); got != http.StatusUnauthorized {
			t.Errorf("after the watcher's reload, a request without a key got %d", got)
		}
	})

	t.Run("open_access: true opens it deliberately", func(t *testing.T) {
		e.writeConfig(keyless(t) + "open_access: true\n")
		if code, body := e.reload(t); code != http.StatusOK {
			t.Fatalf("reload with open_access: %d %s", code, body)
		}
		if got := status(t, e, ""); got != http.StatusOK {
			t.Errorf("open access: a request without a key got %d", got)
		}
	})
}

// Startup without keys stays possible (development), with a warning that names the
// setting a reload will ask for.
func TestStartWithoutKeysWarns(t *testing.T) {
	e := newEnv(t, keyless(t))
	if got := status(t, e, ""); got != http.StatusOK {
		t.Fatalf("open mode: %d", got)
	}
	if e.logs.FilterMessageSnippet("set open_access: true").Len() != 1 {
		t.Error("no warning naming open_access")
	}
}

// A rejected reload never shows the passwords of the file's URLs: not in the admin
// answer, not in the log.
func TestRejectedReloadMasksURLPasswords(t *testing.T) {
	e := newEnv(t, baseConfig)
	const password = "n3w-url-Passw0rd"
	bad := strings.Replace(baseConfig, `base_url: "{{OPENAI}}"`,
		fmt.Sprintf(`base_url: "http://svc:%s@bad host/v1"`, password), 1)
	bad = strings.Replace(bad, "api_version: \"2024-10-21\"}", "api_version: \"2024-10-21\", tracing_typo: 1}", 1)
	e.writeConfig(bad)
	code, body := e.reload(t)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "http://svc:xxxxx@bad host/v1") {
		t.Fatalf("want a 422 naming the URL masked: %d %s", code, body)
	}
	if strings.Contains(body, password) {
		t.Errorf("the admin answer holds the URL's password: %s", body)
	}
	for _, entry := range e.logs.All() {
		text := entry.Message
		for k, v := range entry.ContextMap() {
			text += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(text, password) {
			t.Errorf("log line holds the URL's password: %s", text)
		}
	}
	if got := status(t, e, clientKey); got != http.StatusOK {
		t.Errorf("after the rejected reload: %d", got)
	}
}
