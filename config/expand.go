package config

import (
	"sort"
	"strings"
)

// expandTree replaces ${VAR} and ${VAR:-default} in every string value of the decoded
// YAML tree. Expansion happens on values, never on the file's text, so a secret holding
// YAML syntax cannot change the document's structure.
func expandTree(node any, path string, env LookupEnv, ps *problems) any {
	switch v := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // problems in a stable order
		for _, k := range keys {
			v[k] = expandTree(v[k], join(path, k), env, ps)
		}
		return v
	case []any:
		for i := range v {
			v[i] = expandTree(v[i], index(path, i), env, ps)
		}
		return v
	case string:
		return expandString(v, path, env, ps)
	default:
		return node
	}
}

func expandString(s, path string, env LookupEnv, ps *problems) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			// The value itself is not quoted: it may be a secret.
			ps.add(path, "unterminated ${ (want ${VAR} or ${VAR:-default})")
			return b.String()
		}
		b.WriteString(s[:start])
		ref := s[start+2 : start+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			ps.add(path, "invalid environment variable reference ${%s}", ref)
		} else if val, ok := env(name); ok && (val != "" || !hasDef) {
			b.WriteString(val)
		} else if hasDef {
			b.WriteString(def)
		} else {
			ps.add(path, "environment variable %s is not set", name)
		}
		s = s[start+end+1:]
	}
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
