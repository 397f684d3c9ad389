package config

import (
	"reflect"
	"strings"
)

// Secrets lists every credential of the configuration, for scrubbing them from text
// that reaches clients and logs: every Secret value (client keys, admin_token,
// provider API keys, AWS keys and session tokens, state.url), the passwords and
// credential-like query values of every URL (base_url, state.url,
// tracing.endpoint), and the values of provider headers whose name says they carry
// a credential (Authorization, X-Api-Key, ...). Empty values are left out;
// duplicates may remain.
func (c *Config) Secrets() []string {
	var out []string
	collectSecrets(reflect.ValueOf(c).Elem(), &out)
	for _, p := range c.Providers {
		out = append(out, URLSecrets(p.BaseURL)...)
		for name, v := range p.Headers {
			if credentialHeader(name) && v != "" {
				out = append(out, v)
				if scheme, token, ok := strings.Cut(v, " "); ok && scheme != "" {
					out = append(out, strings.TrimSpace(token)) // "Bearer <token>"
				}
			}
		}
	}
	out = append(out, URLSecrets(c.State.URL.Reveal())...)
	out = append(out, URLSecrets(c.Tracing.Endpoint)...)
	return out
}

// Secrets lists the credentials of one provider entry: its Secret values, its
// base_url's and its credential headers'.
func (p Provider) Secrets() []string {
	c := Config{Providers: []Provider{p}}
	return c.Secrets()
}

var secretType = reflect.TypeFor[Secret]()

func collectSecrets(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			collectSecrets(v.Elem(), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			collectSecrets(v.Field(i), out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			collectSecrets(v.Index(i), out)
		}
	case reflect.String:
		if v.Type() == secretType && v.Len() > 0 {
			*out = append(*out, v.String())
		}
	}
}

// credentialHeader reports whether a header's name says it carries a credential.
func credentialHeader(name string) bool {
	name = strings.ToLower(name)
	for _, s := range []string{"authorization", "key", "token", "secret", "password", "cookie", "credential"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
