package scrub

import (
	"strings"
	"testing"
)

// FuzzScrub: a secret of MinAnywhere bytes or more never survives scrubbing, wherever
// it sits in the text, and no input panics. Secrets that the placeholder itself
// contains ("dacted") or that hold its brackets are left out: replacing them by the
// placeholder writes them again.
func FuzzScrub(f *testing.F) {
	f.Add("Incorrect API key provided: ", "sk-proj-abc123XYZ")
	f.Add("aaaaaaa", "aaaaaa")
	f.Add("url=", "p@ss/w+rd=")
	f.Add("", "abcabc")
	f.Add("x", "a")
	f.Fuzz(func(t *testing.T, text, secret string) {
		sc := New([]string{secret})
		_ = sc.String(text)
		if len(secret) < MinAnywhere || strings.ContainsAny(secret, "[]") || strings.Contains(Placeholder, secret) {
			return
		}
		in := text + secret + text + secret
		if out := sc.String(in); strings.Contains(out, secret) {
			t.Fatalf("secret %q survived: %q -> %q", secret, in, out)
		}
	})
}
