package registry

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/internal/scrub"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
)

// Every error of a built provider is scrubbed of the entry's own credentials and of
// the configuration's secrets in force, from every call and from a stream's Recv;
// the rest of what the provider returns is untouched.
func TestProviderErrorsAreScrubbed(t *testing.T) {
	const key, other = "sk-own-key-123456", "sk-another-secret-9876"
	f := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "o", APIKey: key})
	defer f.Close()
	secrets := scrub.NewHolder(nil)
	p, err := New(config.Provider{Name: "o", Type: "openai", BaseURL: f.BaseURL(), APIKey: key},
		config.Timeouts{Connect: time.Second}, Options{Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	req, err := providers.ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	call := &providers.Call{Request: req, Model: "m"}
	sreq, err := providers.ParseChat([]byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	scall := &providers.Call{Request: sreq, Model: "m"}
	ctx := context.Background()

	f.Fail(fakes.Fault{Status: 400, Message: "bad key " + key + " and " + other, Times: 1})
	_, err = p.Chat(ctx, call)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Class != providers.ClassInvalidRequest ||
		pe.Message != "bad key [redacted] and "+other {
		t.Fatalf("own key: %#v", err)
	}

	// A secret added by a reload is scrubbed from then on.
	secrets.Use(scrub.New([]string{other}))
	f.Fail(fakes.Fault{Status: 500, Message: "bad key " + key + " and " + other, Times: 1})
	if _, err = p.ChatStream(ctx, scall); err == nil || strings.Contains(err.Error(), other) || strings.Contains(err.Error(), key) {
		t.Fatalf("stream open: %v", err)
	}
	if _, ok := p.(providers.Embedder); !ok {
		t.Error("scrubbing lost the Embedder capability")
	}

	// A stream ends with io.EOF itself (callers compare it), a cut one with an error
	// that still wraps ErrTruncated.
	st, err := p.ChatStream(ctx, scall)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = st.Recv()
	}
	if err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
	st.Close()
	f.Fail(fakes.Fault{CutAfter: 1, Times: 1})
	if st, err = p.ChatStream(ctx, scall); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for err == nil {
		_, err = st.Recv()
	}
	if !errors.Is(err, providers.ErrTruncated) {
		t.Fatalf("cut stream: %v", err)
	}
}
