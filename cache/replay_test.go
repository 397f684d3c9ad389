package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard/switchyard/providers"
)

const (
	textAnswer = "Paris is the capital of France.\n\nIt has about 2.1 million <residents> & \"quotes\";\t" +
		"東京は日本の首都です。東京は日本の首都です。東京は日本の首都です。東京は日本の首都です。"
	textCompletion = `{"id":"chatcmpl-abc","object":"chat.completion","created":1750000000,"model":"gpt-4o-2024-08-06",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France.\n\nIt has about 2.1 million ` +
		`<residents> & \"quotes\";\t東京は日本の首都です。東京は日本の首都です。東京は日本の首都です。東京は日本の首都です。",` +
		`"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":20,"completion_tokens":40,"total_tokens":60,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"accepted_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}`
	toolCompletion = `{"id":"chatcmpl-tools","object":"chat.completion","created":1750000001,"model":"gpt-4o",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
		`{"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},` +
		`"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":50,"completion_tokens":30,"total_tokens":80}}`
	refusalCompletion = `{"id":"chatcmpl-no","object":"chat.completion","created":1750000002,"model":"gpt-4o",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},` +
		`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}`
	logprobsCompletion = `{"id":"chatcmpl-lp","object":"chat.completion","created":1750000003,"model":"gpt-4o",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"logprobs":{"content":[` +
		`{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[]},{"token":" there","logprob":-0.2,"bytes":null,"top_logprobs":[]}],` +
		`"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`
)

// accumulate feeds chunks to openai-go's own stream accumulator, as a client would.
func accumulate(t *testing.T, chunks []providers.Chunk) *openai.ChatCompletionAccumulator {
	t.Helper()
	var acc openai.ChatCompletionAccumulator
	for _, c := range chunks {
		var ch openai.ChatCompletionChunk
		if err := json.Unmarshal(c.Data, &ch); err != nil {
			t.Fatalf("chunk %s: %v", c.Data, err)
		}
		if !acc.AddChunk(ch) {
			t.Fatalf("accumulator refused %s", c.Data)
		}
	}
	return &acc
}

func replay(t *testing.T, completion string) []providers.Chunk {
	t.Helper()
	chunks, err := Replay(&Entry{Completion: []byte(completion)})
	if err != nil {
		t.Fatal(err)
	}
	return chunks
}

func TestReplayIsAStreamOpenAIClientsReassemble(t *testing.T) {
	chunks := replay(t, textCompletion)
	acc := accumulate(t, chunks)
	msg := acc.Choices[0].Message
	if msg.Content != textAnswer || acc.Choices[0].FinishReason != "stop" || acc.ID != "chatcmpl-abc" ||
		acc.Model != "gpt-4o-2024-08-06" || acc.Created != 1750000000 || acc.SystemFingerprint != "fp_1" {
		t.Fatalf("reassembled %+v", acc.ChatCompletion)
	}
	if acc.Usage.PromptTokens != 20 || acc.Usage.CompletionTokens != 40 || acc.Usage.TotalTokens != 60 {
		t.Errorf("usage %+v", acc.Usage)
	}
	texts := 0
	for i, c := range chunks {
		var ch struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(c.Data, &ch); err != nil || ch.ID != "chatcmpl-abc" || ch.Object != "chat.completion.chunk" {
			t.Fatalf("chunk %d %s: %v", i, c.Data, err)
		}
		last := i == len(chunks)-1
		if c.UsageOnly != last || (c.Usage != nil) != last {
			t.Errorf("chunk %d: UsageOnly %v", i, c.UsageOnly)
		}
		if len(ch.Choices) == 1 {
			if d := ch.Choices[0].Delta.Content; d != nil && *d != "" {
				texts++
				if len(*d) > maxPiece+8 || !utf8.ValidString(*d) {
					t.Errorf("piece %q", *d)
				}
			}
			if (ch.Choices[0].FinishReason != nil) != (i == len(chunks)-2) {
				t.Errorf("chunk %d: finish reason out of place", i)
			}
		}
	}
	if texts < 10 {
		t.Errorf("content sent in %d deltas, want a stream of words", texts)
	}
	usage := chunks[len(chunks)-1]
	if !bytes.Contains(usage.Data, []byte(`"accepted_prediction_tokens":0`)) || !bytes.Contains(usage.Data, []byte(`"choices":[]`)) ||
		usage.Usage.TotalTokens != 60 {
		t.Errorf("usage chunk %s %+v", usage.Data, usage.Usage)
	}
}

func TestReplayToolCalls(t *testing.T) {
	acc := accumulate(t, replay(t, toolCompletion))
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "call_1" || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` ||
		calls[1].ID != "call_2" || calls[1].Function.Name != "get_time" || calls[1].Function.Arguments != "{}" ||
		acc.Choices[0].FinishReason != "tool_calls" || acc.Choices[0].Message.Content != "" || acc.Usage.TotalTokens != 80 {
		t.Fatalf("reassembled %+v", acc.ChatCompletion)
	}
}

func TestReplayRefusalAndLogprobs(t *testing.T) {
	acc := accumulate(t, replay(t, refusalCompletion))
	if acc.Choices[0].Message.Refusal != "I can't help with that." || acc.Choices[0].Message.Content != "" {
		t.Errorf("refusal %+v", acc.Choices[0].Message)
	}
	acc = accumulate(t, replay(t, logprobsCompletion))
	lp := acc.Choices[0].Logprobs.Content
	if acc.Choices[0].Message.Content != "Hi there" || len(lp) != 2 || lp[0].Token != "Hi" || lp[1].Logprob != -0.2 {
		t.Errorf("logprobs %+v", acc.Choices[0])
	}
}

func TestReplayReportsTheEntryUsageWhenTheCompletionHasNone(t *testing.T) {
	body := strings.Replace(refusalCompletion, `,"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}`, ``, 1)
	chunks, err := Replay(&Entry{Completion: []byte(body), Usage: providers.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}})
	if err != nil {
		t.Fatal(err)
	}
	last := chunks[len(chunks)-1]
	if !last.UsageOnly || last.Usage.TotalTokens != 7 || !bytes.Contains(last.Data, []byte(`"total_tokens":7`)) {
		t.Errorf("usage chunk %s", last.Data)
	}
}

func TestReplayRefusesWhatAStreamCannotCarry(t *testing.T) {
	two := strings.Replace(refusalCompletion, `"choices":[{`, `"choices":[{"index":1,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"},{`, 1)
	for name, body := range map[string]string{
		"two choices":   two,
		"no choice":     `{"id":"x","choices":[]}`,
		"audio":         strings.Replace(refusalCompletion, `"content":null`, `"content":null,"audio":{"id":"audio_1","data":"AAAA"}`, 1),
		"function_call": strings.Replace(refusalCompletion, `"content":null`, `"content":null,"function_call":{"name":"f","arguments":"{}"}`, 1),
		"annotations": strings.Replace(textCompletion, `"annotations":[]`,
			`"annotations":[{"type":"url_citation","url_citation":{"url":"https://example.com","title":"x","start_index":0,"end_index":5}}]`, 1),
		"custom tool": strings.Replace(toolCompletion, `"type":"function"`, `"type":"custom"`, 1),
	} {
		if _, err := Replay(&Entry{Completion: []byte(body)}); !errors.Is(err, ErrNotReplayable) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Replay(&Entry{Completion: []byte(`{"id":`)}); err == nil {
		t.Error("truncated completion replayed")
	}
}

func TestPieces(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes without a space
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Hello, world!", []string{"Hello, ", "world!"}},
		{"  two\n\nlines ", []string{"  ", "two\n\n", "lines "}},
		{"", nil},
		{long, []string{long[:64], long[64:128], long[128:192], long[192:]}},
		{strings.Repeat("a", 65) + " b", []string{strings.Repeat("a", 64), "a ", "b"}},
	} {
		var got []string
		for p := range pieces(tc.in) {
			got = append(got, p)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("pieces(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	odd := "a" + strings.Repeat("é", 40) // the 64th byte starts no rune
	var got []string
	for p := range pieces(odd) {
		if !utf8.ValidString(p) {
			t.Errorf("piece %q cuts a rune", p)
		}
		got = append(got, p)
	}
	if strings.Join(got, "") != odd || len(got) != 2 {
		t.Errorf("pieces(%q) = %q", odd, got)
	}
}

func BenchmarkReplay(b *testing.B) {
	words := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)
	body, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": words}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 360, "total_tokens": 370}})
	e := &Entry{Completion: body}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(e); err != nil {
			b.Fatal(err)
		}
	}
}
