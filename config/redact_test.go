package config

import (
	"slices"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://user:pw@contoso.openai.azure.com/openai": "https://user:xxxxx@contoso.openai.azure.com/openai",
		"http://token@host:4318/v1/traces":                "http://xxxxx@host:4318/v1/traces",
		"https://host/v1?api_key=abc&x=1&sig=zz":          "https://host/v1?api_key=xxxxx&x=1&sig=xxxxx",
		"http://bad host:1/?Password=p":                   "http://bad host:1/?Password=xxxxx",
		"https://api.openai.com/v1":                       "https://api.openai.com/v1",
		"no scheme at all":                                "no scheme at all",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestURLSecrets(t *testing.T) {
	got := URLSecrets("redis-sentinel://app:p%40ss@s1,s2/m?sentinel_password=s%26p&db=1")
	for _, want := range []string{"p%40ss", "p@ss", "s%26p", "s&p"} {
		if !slices.Contains(got, want) {
			t.Errorf("URLSecrets lacks %q: %q", want, got)
		}
	}
	if slices.Contains(got, "1") || slices.Contains(got, "app") {
		t.Errorf("URLSecrets took what is no secret: %q", got)
	}
}

// FuzzRedactURL: the password of a URL's user info and the value of a password=
// query parameter never survive redaction, whatever they hold ('@' and '?'
// included; a query value holds no '&', which would end it).
func FuzzRedactURL(f *testing.F) {
	f.Add("hunter2", "s3cret", "host:6379/0")
	f.Add("p@ss:w@rd", "a=b", "[::1]:6379")
	f.Add("x", "?", "h")
	f.Fuzz(func(t *testing.T, pass, qpass, rest string) {
		if strings.ContainsAny(rest, "@?&") || strings.Contains(qpass, "&") {
			return // not the URL this builds: another user info, query or parameter
		}
		raw := "redis://u:" + pass + "@" + rest + "?db=1&password=" + qpass
		out := RedactURL(raw)
		shown := "redis://u:" + RedactedURLPart + "@" + rest + "?db=1&password=" + RedactedURLPart
		for _, s := range []string{pass, qpass} {
			if !strings.Contains(shown, s) && strings.Contains(out, s) {
				t.Fatalf("%q survived: %q -> %q", s, raw, out)
			}
		}
	})
}
