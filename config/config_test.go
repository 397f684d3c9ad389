package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func env(vars map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	var out []string
	for _, p := range cerr.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestExampleValidates(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, noEnv)
	if err != nil {
		t.Fatalf("config.example.yaml does not validate:\n%v", err)
	}
	if len(cfg.Providers) < 5 || len(cfg.Models) < 4 || len(cfg.Keys) != 2 || len(cfg.Pricing) == 0 {
		t.Fatalf("example lost entries: %d providers, %d models, %d keys, %d prices", len(cfg.Providers), len(cfg.Models), len(cfg.Keys), len(cfg.Pricing))
	}
	// The defaults the example writes down are the defaults the code applies.
	bare, err := Parse([]byte(minimal), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Listen != cfg.Listen || bare.AdminListen != cfg.AdminListen || bare.MaxBodyBytes != cfg.MaxBodyBytes ||
		bare.MaxResponseBytes != cfg.MaxResponseBytes ||
		bare.ShutdownGrace != cfg.ShutdownGrace || bare.DrainDelay != cfg.DrainDelay ||
		bare.Resilience.MaxAttempts != cfg.Resilience.MaxAttempts || bare.Resilience.Timeouts != cfg.Resilience.Timeouts ||
		bare.Resilience.MaxCooldown != cfg.Resilience.MaxCooldown || bare.Resilience.Retry != cfg.Resilience.Retry ||
		bare.State != cfg.State || bare.Log != cfg.Log || bare.Cache != cfg.Cache || bare.Tracing != cfg.Tracing || bare.Responses != cfg.Responses {
		t.Errorf("config.example.yaml and the code disagree on defaults:\nexample %+v\ndefaults %+v", cfg, bare)
	}
}

const minimal = `
providers:
  - {name: azure-east, type: azure, base_url: "https://x.openai.azure.com", api_key: k, api_version: "2024-10-21"}
models:
  - name: gpt-4o
    targets:
      - {provider: azure-east, model: gpt-4o-prod}
`

func TestProblemsCarryKeyPaths(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown provider", minimal + `
  - name: other
    targets:
      - {provider: azure-west, model: m}
`, `models[1].targets[0].provider: unknown provider "azure-west"`},
		{"unknown key", strings.Replace(minimal, "model: gpt-4o-prod", "model: gpt-4o-prod, wieght: 2", 1),
			"models[0].targets[0].wieght: unknown key"},
		{"unknown top-level key", minimal + "listne: :8080\n", "listne: unknown key"},
		{"bad duration", minimal + "shutdown_grace: soon\n", `shutdown_grace: invalid duration "soon"`},
		{"bare number duration", minimal + "drain_delay: 5\n", "drain_delay: invalid duration 5"},
		{"bad type", strings.Replace(minimal, "type: azure", "type: azur", 1), `providers[0].type: unknown type "azur"`},
		{"azure needs version", strings.Replace(minimal, `api_version: "2024-10-21"`, "", 1), "providers[0].api_version: required"},
		{"fallback to unknown", minimal + "    fallbacks: [nope]\n", `models[0].fallbacks[0]: unknown model "nope"`},
		{"bad glob", minimal + "keys:\n  - {name: a, key: k1, models: [\"[\"]}\n", `keys[0].models[0]: invalid glob "["`},
		{"duplicate key", minimal + "keys:\n  - {name: a, key: k1}\n  - {name: b, key: k1}\n", "keys[1].key: the same key is configured twice"},
		{"misplaced key", strings.Replace(minimal, "api_key: k,", "api_key: k, role_arn: x,", 1), "providers[0].role_arn: does not apply to type azure"},
		{"negative weight", strings.Replace(minimal, "model: gpt-4o-prod", "model: gpt-4o-prod, weight: -1", 1), "models[0].targets[0].weight: must not be negative"},
		{"redis without url", minimal + "state: {driver: redis}\n", "state.url: required"},
		{"price of unknown provider", minimal + "pricing:\n  - {provider: x, model: m, input: 1}\n", `pricing[0].provider: unknown provider "x"`},
		{"negative price", minimal + "pricing:\n  - {provider: azure-east, model: m, output: -1}\n", "pricing[0].output: must be a non-negative number"},
		{"NaN price", minimal + "pricing:\n  - {provider: azure-east, model: m, input: .nan}\n", "pricing[0].input: must be a non-negative number"},
		{"price without model", minimal + "pricing:\n  - {provider: azure-east, input: 1}\n", "pricing[0].model: required"},
		{"duplicate price", minimal + "pricing:\n  - {provider: azure-east, model: m}\n  - {provider: azure-east, model: m}\n", `pricing[1].model: duplicate price`},
		{"misspelled price key", minimal + "pricing:\n  - {provider: azure-east, model: m, cached: 1}\n", "pricing[0].cached: unknown key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), noEnv)
			ps := problemsOf(t, err)
			found := false
			for _, p := range ps {
				if strings.Contains(p, c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("want a problem containing %q, got %q", c.want, ps)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	yaml := `
listen: nope
providers:
  - {name: p, type: azure}
models:
  - {name: m, targets: []}
`
	ps := problemsOf(t, func() error { _, err := Parse([]byte(yaml), noEnv); return err }())
	if len(ps) < 4 {
		t.Errorf("want every problem at once, got %d: %q", len(ps), ps)
	}
}

func TestEnvExpansion(t *testing.T) {
	yaml := strings.Replace(minimal, "api_key: k", "api_key: \"${AZ_KEY}\"", 1) + "listen: ${HOST:-127.0.0.1}:${PORT}\n"
	cfg, err := Parse([]byte(yaml), env(map[string]string{"AZ_KEY": "s3cret", "PORT": "8181"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Providers[0].APIKey.Reveal() != "s3cret" || cfg.Listen != "127.0.0.1:8181" {
		t.Errorf("expansion: key %q listen %q", cfg.Providers[0].APIKey.Reveal(), cfg.Listen)
	}
	_, err = Parse([]byte(yaml), env(map[string]string{"PORT": "1"}))
	if ps := problemsOf(t, err); len(ps) != 1 || ps[0] != "providers[0].api_key: environment variable AZ_KEY is not set" {
		t.Errorf("missing variable: %q", ps)
	}
	// A value with YAML syntax cannot change the document: expansion happens after parsing.
	cfg, err = Parse([]byte(yaml), env(map[string]string{"AZ_KEY": "x\nlisten: evil:1", "PORT": "1"}))
	if err != nil || cfg.Listen != "127.0.0.1:1" {
		t.Errorf("injection through a variable: %v %q", err, cfg.Listen)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	cfg, err := Parse([]byte(strings.Replace(minimal, "api_key: k", "api_key: sk-very-secret", 1)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg.Providers[0]), fmt.Sprintf("%v", cfg.Providers)} {
		if strings.Contains(s, "sk-very-secret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestDefaultsAndInheritance(t *testing.T) {
	cfg, err := Parse([]byte(minimal+`
resilience:
  timeouts: {first_byte: 7s}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if *cfg.Models[0].Targets[0].Weight != 1 || cfg.Models[0].Strategy != "weighted" {
		t.Errorf("target defaults: %+v", cfg.Models[0])
	}
	got := Timeouts{}.Or(cfg.Providers[0].Timeouts).Or(cfg.Resilience.Timeouts)
	if got.FirstByte != 7*time.Second || got.Total != DefaultTotalTimeout || got.Connect != DefaultConnectTimeout {
		t.Errorf("timeouts inherit: %+v", got)
	}
}

func TestFallbackCycleRejected(t *testing.T) {
	yaml := minimal + "    fallbacks: [b]\n  - {name: b, targets: [{provider: azure-east, model: x}], fallbacks: [gpt-4o]}\n"
	ps := problemsOf(t, func() error { _, err := Parse([]byte(yaml), noEnv); return err }())
	if !strings.Contains(strings.Join(ps, "\n"), "fallback cycle") {
		t.Errorf("cycle not reported: %q", ps)
	}
}

// FuzzParse: no input makes the loader panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("listen: [1,2]\nmodels: {a: b}\n"))
	f.Add([]byte("providers:\n  - name: ${X\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data, noEnv)
	})
}
