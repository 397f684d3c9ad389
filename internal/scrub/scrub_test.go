package scrub

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestScrubRules(t *testing.T) {
	sc := New([]string{"sk-live-abcdef123456", "a", "pw", "Tok3n", "x/y+z=secret", "", "sk-live-abc"})
	for _, tt := range []struct{ in, want string }{
		// Long secrets go wherever they appear, the longest first.
		{"key sk-live-abcdef123456 rejected", "key [redacted] rejected"},
		{"prefixsk-live-abcdef123456suffix", "prefix[redacted]suffix"},
		{"only sk-live-abc here", "only [redacted] here"},
		// Their escaped forms too.
		{"url ?k=x%2Fy%2Bz%3Dsecret", "url ?k=[redacted]"},
		{"path /x%2Fy+z=secret/", "path /[redacted]/"},
		// Short secrets only as whole tokens.
		{"bad token Tok3n.", "bad token [redacted]."},
		{"Tok3ns and xTok3n stay", "Tok3ns and xTok3n stay"},
		{"Tok3n", "[redacted]"},
		{"(Tok3n)(Tok3n)", "([redacted])([redacted])"},
		// One and two characters are never secrets worth mangling text for.
		{"a pw was given", "a pw was given"},
		{"", ""},
	} {
		if got := sc.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var none *Scrubber
	if none.String("sk-live-abcdef123456") != "sk-live-abcdef123456" || !none.Empty() || !New(nil).Empty() {
		t.Error("a nil or empty scrubber changed text")
	}
}

func TestScrubbedErrorKeepsItsChain(t *testing.T) {
	sc := New([]string{"hunter2-hunter2"})
	err := sc.Error(&wrapped{"read: key hunter2-hunter2 refused", io.ErrUnexpectedEOF})
	if err.Error() != "read: key [redacted] refused" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v (is EOF: %v)", err, errors.Is(err, io.ErrUnexpectedEOF))
	}
	plain := errors.New("nothing to hide")
	if sc.Error(plain) != plain || sc.Error(nil) != nil {
		t.Error("an error without secrets was replaced")
	}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// The core scrubs the message and every textual field with the scrubber in force when
// the line is written; fields added with With, when they are added.
func TestCoreScrubsLogLines(t *testing.T) {
	h := NewHolder(New([]string{"old-secret-value"}))
	obs, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(Core(obs, h)).With(zap.String("url", "redis://:old-secret-value@host"))
	h.Use(New([]string{"new-secret-value", "old-secret-value"}))
	log.Warn("failed with new-secret-value",
		zap.String("detail", "old-secret-value"),
		zap.ByteString("body", []byte(`{"key":"new-secret-value"}`)),
		zap.Error(errors.New("auth new-secret-value")),
		zap.Stringer("who", stringer("old-secret-value")),
		zap.Int("n", 3))
	if logs.Len() != 1 {
		t.Fatalf("%d lines", logs.Len())
	}
	e := logs.All()[0]
	text := e.Message
	for k, v := range e.ContextMap() {
		text += fmt.Sprintf(" %s=%v", k, v)
	}
	if strings.Contains(text, "secret-value") {
		t.Errorf("a secret was logged: %s", text)
	}
	for _, want := range []string{"failed with [redacted]", "detail=[redacted]", `body={"key":"[redacted]"}`,
		"error=auth [redacted]", "who=[redacted]", "n=3"} {
		if !strings.Contains(text, want) {
			t.Errorf("line lacks %q: %s", want, text)
		}
	}
	// With's fields are scrubbed when added, by the scrubber in force then.
	if !strings.Contains(text, "url=redis://:[redacted]@host") {
		t.Errorf("With field not scrubbed: %s", text)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// BenchmarkString is the cost per log field: most hold no secret and must cost no
// allocation; an upstream error that quotes one is rewritten.
func BenchmarkString(b *testing.B) {
	secrets := []string{"sk-proj-4f9c2a7b1e8d6f3a0c5b9e2d7a1f4c8b", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"adm-Token-9f3k2", "sk-client-abc", "FwoGZXIvYXdzEXAMPLE-session-token"}
	for i := range 50 { // fifty client keys
		secrets = append(secrets, fmt.Sprintf("sk-team-%02d-%032x", i, i*7919))
	}
	sc := New(secrets)
	for _, c := range []struct{ name, text string }{
		{"clean field", "req_3f9a2c7e1b8d4f6a0c5e9b2d7a1f4c8b"},
		{"clean message", "Model \"gpt-4o\": 3 attempts failed (last: openai: HTTP 500: The server had an error)."},
		{"upstream error with a key", "Incorrect API key provided: sk-proj-4f9c2a7b1e8d6f3a0c5b9e2d7a1f4c8b."},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = sc.String(c.text)
			}
		})
	}
}
