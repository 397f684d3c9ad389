package telemetry

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	body := `{"model":"m","max_tokens":10,"api_key":"abc","messages":[{"role":"user",
	"content":"my key is sk-proj-abcdefghijklmnopqrstuvwxyz and AKIAIOSFODNN7EXAMPLE, header Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}],
	"metadata":{"password":"hunter2"}}`
	got := Redact([]byte(body))
	for _, secret := range []string{"abcdefghijklmnopqrstuvwxyz", "AKIAIOSFODNN7EXAMPLE", "eyJhbGci", "hunter2", `"abc"`} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survived: %s", secret, got)
		}
	}
	for _, kept := range []string{`"max_tokens":10`, `"model":"m"`, "my key is"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q lost: %s", kept, got)
		}
	}
	if len(Redact([]byte(strings.Repeat("x", maxLoggedBody*2)))) > maxLoggedBody {
		t.Error("body not bounded")
	}
}

func FuzzRedact(f *testing.F) {
	f.Add([]byte(`{"api_key":"x","a":[{"token":"y"}]}`))
	f.Add([]byte("sk-" + strings.Repeat("a", 20)))
	f.Fuzz(func(t *testing.T, body []byte) {
		if out := Redact(body); strings.Contains(out, "sk-aaaaaaaaaaaaaaaaaaaa") {
			t.Fatalf("key survived: %s", out)
		}
	})
}
