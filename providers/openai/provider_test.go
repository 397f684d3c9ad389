package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/fakes"
	"github.com/switchyard/switchyard/providers/openai"
)

func call(t *testing.T, body string, model string) *providers.Call {
	t.Helper()
	r, err := providers.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &providers.Call{Request: r, Model: model}
}

func TestPassThroughAgainstFake(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{APIKey: "sk-up", Models: []string{"gpt-4o-2024"}})
	defer f.Close()
	p := openai.New(openai.Config{BaseURL: f.BaseURL(), APIKey: "sk-up", Headers: map[string]string{"OpenAI-Organization": "org-1"},
		Client: providers.NewHTTPClient(0)})
	ctx := context.Background()

	resp, err := p.Chat(ctx, call(t, `{"model":"alias","messages":[{"role":"user","content":"hi"}],"x_unknown":42}`, "gpt-4o-2024"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.TotalTokens == 0 || resp.Model != "gpt-4o-2024" {
		t.Errorf("usage %+v model %q", resp.Usage, resp.Model)
	}
	rec := f.Requests()[0]
	var sent map[string]any
	_ = json.Unmarshal(rec.Body, &sent)
	if sent["model"] != "gpt-4o-2024" || sent["x_unknown"] != float64(42) || rec.Header.Get("Openai-Organization") != "org-1" {
		t.Errorf("upstream got %s, headers %v", rec.Body, rec.Header)
	}

	st, err := p.ChatStream(ctx, call(t, `{"model":"alias","stream":true,"messages":[{"role":"user","content":"a b c"}]}`, "gpt-4o-2024"))
	if err != nil {
		t.Fatal(err)
	}
	var chunks, usage int
	for {
		c, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		if c.Usage != nil && c.UsageOnly {
			usage++
		}
	}
	st.Close()
	if usage != 1 || chunks < 4 {
		t.Errorf("stream: %d chunks, %d usage chunks", chunks, usage)
	}

	_, err = openai.New(openai.Config{BaseURL: f.BaseURL(), APIKey: "wrong", Client: providers.NewHTTPClient(0)}).
		Chat(ctx, call(t, `{"model":"a","messages":[{"role":"user","content":"hi"}]}`, "gpt-4o-2024"))
	var e *providers.Error
	if !errors.As(err, &e) || e.Class != providers.ClassCredential || e.Status != 401 {
		t.Errorf("bad upstream key: %v", err)
	}
}

func TestStreamCutIsTruncated(t *testing.T) {
	f := fakes.NewOpenAI(fakes.OpenAIOptions{})
	defer f.Close()
	p := openai.New(openai.Config{BaseURL: f.BaseURL(), Client: providers.NewHTTPClient(0)})
	f.Fail(fakes.Fault{CutAfter: 3, Times: 1})
	st, err := p.ChatStream(context.Background(), call(t, `{"model":"a","stream":true,"messages":[{"role":"user","content":"one two three four"}]}`, "m"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		_, err = st.Recv()
		if err != nil {
			break
		}
	}
	var e *providers.Error
	if !errors.As(err, &e) || e.Class != providers.ClassConnection || !errors.Is(err, providers.ErrTruncated) {
		t.Errorf("cut stream: %v", err)
	}
}
