package config

import (
	"net/url"
	"strings"
)

// RedactedURLPart replaces a password in a URL shown to people, as url.URL.Redacted does.
const RedactedURLPart = "xxxxx"

// RedactURL returns raw fit for a log line, an error or validate's output: the password
// of its user info (or a lone user info, which some clients read as the password) and
// the values of credential-like query parameters (password=, sentinel_password=,
// api_key=, token=, sig=, ...) replaced. It works on strings that url.Parse rejects,
// since those are the ones that end up quoted in errors.
//
// Both are found on the string as written, and whatever either finds is hidden: the
// user info ends at the last '@' (a password may hold '@', '/' or '?' unescaped), the
// query begins at the first '?'. When a query value holds an '@', or a password a '?',
// this hides more than the credentials, never less.
func RedactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	start, rest := i+3, raw[i+3:]
	hidden := make([]bool, len(raw))
	hide := func(from, to int) {
		for k := from; k < to; k++ {
			hidden[k] = true
		}
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if c := strings.IndexByte(rest[:at], ':'); c >= 0 {
			hide(start+c+1, start+at)
		} else {
			hide(start, start+at)
		}
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		off := start + q + 1
		for p := range strings.SplitSeq(rest[q+1:], "&") {
			if name, value, ok := strings.Cut(p, "="); ok && credentialParam(name) {
				hide(off+len(name)+1, off+len(name)+1+len(value))
			}
			off += len(p) + 1
		}
	}
	var b strings.Builder
	for k := 0; k < len(raw); {
		if !hidden[k] {
			b.WriteByte(raw[k])
			k++
			continue
		}
		for k < len(raw) && hidden[k] {
			k++
		}
		b.WriteString(RedactedURLPart)
	}
	return b.String()
}

// credentialParam reports whether a query parameter's name says it holds a credential.
func credentialParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "secret", "token", "key", "sig", "auth"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// maxSpans bounds the places a malformed password is cut at (see URLSecrets).
const maxSpans = 64

// URLSecrets lists the credentials a URL holds: its user info's password (or a lone
// user info) and the values of its credential-like query parameters, both as written
// and decoded.
func URLSecrets(raw string) []string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	var out []string
	add := func(s string) {
		out = append(out, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
		if d, err := url.QueryUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(rest[:at], ":")
		if !hasPass {
			pass = user
		}
		add(pass)
		// Where the last '@' is not the user info's end (a malformed URL, or one in
		// the query), a parser reads the text differently: the password may end at
		// an earlier '@', or at a '?', '#' or '/', and after a '/' or ':' it may quote
		// the rest as a path or a port. Every span between such places is a
		// candidate, so that whatever a parser quotes holds nothing secret.
		starts, ends := []int{0}, []int{len(pass)}
		for i := 0; i < len(pass) && len(starts)+len(ends) < maxSpans; i++ {
			switch pass[i] {
			case '/':
				starts, ends = append(starts, i+1), append(ends, i)
			case ':':
				starts = append(starts, i+1)
			case '@', '?', '#':
				ends = append(ends, i)
			}
		}
		for _, a := range starts {
			for _, b := range ends {
				if a < b && (a > 0 || b < len(pass)) {
					add(pass[a:b])
				}
			}
		}
	}
	if _, query, ok := strings.Cut(rest, "?"); ok {
		for p := range strings.SplitSeq(query, "&") {
			if name, value, ok := strings.Cut(p, "="); ok && value != "" && credentialParam(name) {
				add(value)
			}
		}
	}
	return out
}
