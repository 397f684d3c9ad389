package proxy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Large bodies are read into pooled buffers, lent to each request until nothing
// reads them (providers.Lease). Here concurrent requests of 100-200 KB, each
// written with its own tag, race through hedged attempts (the loser canceled,
// possibly still reading the body) and an upstream that sometimes answers before
// it has read a body. The upstream checks that every body it reads whole holds
// one request's tag only, and answers the tag, which the client checks: a buffer
// returned while something still read it would carry the next request's bytes
// into this one (or, in race builds, which overwrite released buffers, bytes of
// no request at all). On loopback the kernel usually takes a whole body before an
// early answer is relayed, so the transport readers' hold is held to its
// behaviour by providers' TestUpstreamBodyHoldsTheLease, not here.
func TestLentBodiesNeverCross(t *testing.T) {
	tagged := regexp.MustCompile(`tag-(\d+)-(stream|whole)-(early|late)`)
	var mu sync.Mutex
	var upstreamErrs []string
	fail := func(format string, a ...any) {
		mu.Lock()
		upstreamErrs = append(upstreamErrs, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A body that does not arrive whole (a hedge canceled while it was sent:
		// its Content-Length is not met) is no answer anyone reads; one that
		// arrives whole must be one request's.
		br := bufio.NewReaderSize(r.Body, 8<<10)
		head, err := br.Peek(4 << 10)
		if err != nil && err != io.EOF {
			return
		}
		m := tagged.FindSubmatch(head)
		if m == nil {
			fail("no tag in the body's first bytes: %.200q", head)
			http.Error(w, "no tag", http.StatusBadRequest)
			return
		}
		// Copied: the reads below reuse the reader's buffer m points into.
		tag, stream, late := string(m[0]), string(m[2]) == "stream", string(m[3]) == "late"
		if late {
			body, err := io.ReadAll(br)
			if err != nil {
				return
			}
			var doc struct {
				Messages []struct {
					Content string `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				fail("%s: the body is not JSON: %v", tag, err)
			} else if len(doc.Messages) == 0 {
				fail("%s: no messages", tag)
			}
			for _, msg := range doc.Messages {
				if msg.Content != content(tag) {
					fail("%s: a message holds other bytes: %.120q", tag, msg.Content)
				}
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		}
		// An early answer leaves the rest of the body to the transport, still
		// writing it while the proxy relays this answer and ends the request.
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","+
				"\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":%q},\"finish_reason\":null}]}\n\n", tag)
			fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","+
				"\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,`+
			`"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, tag)
	}))
	defer upstream.Close()
	e := newEnv(t, strings.ReplaceAll(`
drain_delay: 0s
keys:
  - {name: app, key: `+clientKey+`, team: search}
providers:
  - {name: one, type: openai, base_url: "{{UP}}", api_key: k1}
  - {name: two, type: openai, base_url: "{{UP}}", api_key: k2}
models:
  - name: m
    hedge_after: 1ms
    targets:
      - {provider: one, model: a}
      - {provider: two, model: b, priority: 1}
resilience:
  timeouts: {first_byte: 10s, total: 60s}
`, "{{UP}}", upstream.URL))
	root := strings.TrimSuffix(e.base, "/v1")

	const workers, each = 4, 24
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := wk*each + i
				mode, when := "whole", "late"
				if n%2 == 0 {
					mode = "stream"
				}
				if n%3 == 0 {
					when = "early"
				}
				tag := fmt.Sprintf("tag-%d-%s-%s", n, mode, when)
				if err := leaseRoundTrip(root, n%4 < 2, tag, mode == "stream", 100<<10+rand.IntN(100<<10)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock() // a canceled hedge's handler may still be running
	defer mu.Unlock()
	for _, s := range upstreamErrs {
		t.Error("upstream: " + s)
	}
}

// content is what every message of the request tagged tag says.
func content(tag string) string { return strings.Repeat(tag+" ", 200) }

// leaseRoundTrip sends one request of about size bytes, as a chat completion or
// a Messages request, and checks that the answer is its own tag.
func leaseRoundTrip(root string, chat bool, tag string, stream bool, size int) error {
	var msgs []string
	for n := 0; n < size; n += len(content(tag)) {
		role := "user"
		if len(msgs)%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, fmt.Sprintf(`{"role":%q,"content":%q}`, role, content(tag)))
	}
	if !chat && len(msgs)%2 == 0 {
		msgs = msgs[:len(msgs)-1] // Messages end with the user's turn
	}
	body := fmt.Sprintf(`{"model":"m","stream":%t,"max_tokens":16,"messages":[%s]}`, stream, strings.Join(msgs, ","))
	path := "/v1/chat/completions"
	if !chat {
		path = "/v1/messages"
	}
	req, _ := http.NewRequest(http.MethodPost, root+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %v", tag, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d %v: %.300s", tag, resp.StatusCode, err, raw)
	}
	if got := answerText(raw, stream); got != tag {
		return fmt.Errorf("%s: answered %q: %.300s", tag, got, raw)
	}
	return nil
}

// answerText is the text of an answer in either dialect, streamed or whole.
func answerText(raw []byte, stream bool) string {
	type part struct {
		Text    string `json:"text"`
		Content string `json:"content"`
	}
	var doc struct {
		Choices []struct {
			Message part `json:"message"`
			Delta   part `json:"delta"`
		} `json:"choices"`
		Content []part `json:"content"`
		Delta   part   `json:"delta"`
	}
	if !stream {
		if json.Unmarshal(raw, &doc) != nil {
			return ""
		}
		if len(doc.Choices) > 0 {
			return doc.Choices[0].Message.Content
		}
		if len(doc.Content) > 0 {
			return doc.Content[0].Text
		}
		return ""
	}
	var text strings.Builder
	for line := range bytes.Lines(raw) {
		data, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data: "))
		if !ok || json.Unmarshal(data, &doc) != nil {
			continue
		}
		for _, c := range doc.Choices {
			text.WriteString(c.Delta.Content)
		}
		text.WriteString(doc.Delta.Text)
		doc.Choices, doc.Delta = nil, part{}
	}
	return text.String()
}
