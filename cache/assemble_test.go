package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// azureStream is a text answer as Azure OpenAI streams it: a first chunk with the
// prompt filter results and no id, content filter results on every choice, then
// the usage chunk.
var azureStream = []string{
	`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`,
	`{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1750000000,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_az","usage":null}`,
	`{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Paris is"},"finish_reason":null,"index":0,"logprobs":null}],"created":1750000000,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":null}`,
	`{"choices":[{"delta":{"content":" the capital \u00e9\n"},"finish_reason":null,"index":0,"logprobs":null}],"created":1750000000,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":null}`,
	`{"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1750000000,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":null}`,
	`{"choices":[],"created":1750000000,"id":"chatcmpl-az","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":{"completion_tokens":5,"prompt_tokens":12,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}}}`,
}

// toolStream is a parallel tool call answer as OpenAI streams it, ending with a
// usage chunk whose choices are null, as vLLM sends it.
var toolStream = []string{
	`{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1750000001,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1750000001,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1750000001,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1750000001,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1750000001,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
	`{"id":"chatcmpl-t","object":"chat.completion.chunk","created":1750000001,"model":"gpt-4o","choices":null,"usage":{"prompt_tokens":50,"completion_tokens":30,"total_tokens":80}}`,
}

func assemble(t *testing.T, chunks []string) []byte {
	t.Helper()
	var a Assembler
	for _, c := range chunks {
		if err := a.Add([]byte(c)); err != nil {
			t.Fatalf("Add(%s): %v", c, err)
		}
	}
	out, err := a.Completion()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeCompletion(t *testing.T, data []byte) providers.ChatResponse {
	t.Helper()
	var r providers.ChatResponse
	if err := json.Unmarshal(data, &r); err != nil || len(r.Choices) != 1 {
		t.Fatalf("completion %s: %v", data, err)
	}
	return r
}

func TestAssemblerRebuildsAStreamedText(t *testing.T) {
	out := assemble(t, azureStream)
	r := decodeCompletion(t, out)
	m := r.Choices[0].Message
	if r.ID != "chatcmpl-az" || r.Object != "chat.completion" || r.Created != 1750000000 || r.Model != "gpt-4o-2024-08-06" ||
		r.SystemFingerprint != "fp_az" || m.Role != "assistant" || m.Content.Text != "Paris is the capital é\n" ||
		r.Choices[0].FinishReason != "stop" || r.Usage == nil || r.Usage.TotalTokens != 17 {
		t.Fatalf("assembled %s", out)
	}
	if !bytes.Contains(out, []byte(`"refusal":null`)) || !bytes.Contains(out, []byte(`"logprobs":null`)) {
		t.Errorf("assembled %s lacks the null members OpenAI writes", out)
	}
}

func TestAssemblerRebuildsStreamedToolCalls(t *testing.T) {
	out := assemble(t, toolStream)
	r := decodeCompletion(t, out)
	m := r.Choices[0].Message
	if !m.Content.Null || len(m.ToolCalls) != 2 || m.ToolCalls[0].ID != "call_1" || m.ToolCalls[0].Type != "function" ||
		m.ToolCalls[0].Function.Name != "get_weather" || m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		m.ToolCalls[1].Function.Name != "get_time" || r.Choices[0].FinishReason != "tool_calls" || r.Usage.TotalTokens != 80 {
		t.Fatalf("assembled %s", out)
	}
}

// TestAssembledAnswersReplayAsTheSameStream: stream chunks → completion → Replay →
// what an OpenAI client reassembles is what the upstream said; and assembling the
// replay gives the completion back.
func TestAssembledAnswersReplayAsTheSameStream(t *testing.T) {
	out := assemble(t, azureStream)
	chunks, err := Replay(&Entry{Completion: out})
	if err != nil {
		t.Fatal(err)
	}
	if acc := accumulate(t, chunks); acc.Choices[0].Message.Content != "Paris is the capital é\n" || acc.Usage.TotalTokens != 17 {
		t.Errorf("replayed %+v", acc.ChatCompletion)
	}
	var again []string
	for _, c := range chunks {
		again = append(again, string(c.Data))
	}
	if back := assemble(t, again); !bytes.Equal(back, out) {
		t.Errorf("assembled replay\n%s\ndiffers from\n%s", back, out)
	}

	for _, completion := range []string{textCompletion, toolCompletion, refusalCompletion, logprobsCompletion} {
		var streamed []string
		for _, c := range replay(t, completion) {
			streamed = append(streamed, string(c.Data))
		}
		got, want := decodeCompletion(t, assemble(t, streamed)), decodeCompletion(t, []byte(completion))
		g, w := got.Choices[0], want.Choices[0]
		gj, _ := json.Marshal(g.Message)
		wj, _ := json.Marshal(w.Message)
		gu, _ := json.Marshal(got.Usage)
		wu, _ := json.Marshal(want.Usage)
		if !bytes.Equal(gj, wj) || g.FinishReason != w.FinishReason || string(g.Logprobs) != string(compact(w.Logprobs)) || !bytes.Equal(gu, wu) {
			t.Errorf("round trip of %s\n gave %s %s %s", completion, gj, g.Logprobs, g.FinishReason)
		}
	}
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	_ = json.Compact(&b, raw)
	return b.Bytes()
}

func TestAssemblerRefusesWhatItCannotStore(t *testing.T) {
	role := `{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
	finish := `{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	big := `{"id":"c","choices":[{"index":0,"delta":{"content":"` + strings.Repeat("x", 64<<10) + `"},"finish_reason":null}]}`
	for _, tc := range []struct {
		name   string
		chunks []string
		want   error
	}{
		{"cut before the finish", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"content":"Hel"}}]}`}, ErrIncomplete},
		{"reasoning text", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"Let me think"}}]}`, finish}, ErrNotReplayable},
		{"audio", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"audio":{"id":"a","data":"AAAA"}}}]}`, finish}, ErrNotReplayable},
		{"legacy function_call", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"function_call":{"name":"f"}}}]}`, finish}, ErrNotReplayable},
		{"second choice", []string{role, `{"id":"c","choices":[{"index":1,"delta":{"content":"x"}}]}`, finish}, ErrNotReplayable},
		{"tool call index gap", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"x","function":{"name":"f","arguments":""}}]}}]}`, finish}, ErrNotReplayable},
		{"tool call without index", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":""}}]}}]}`, finish}, ErrNotReplayable},
		{"custom tool", []string{role, `{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"x","type":"custom","function":{"arguments":""}}]}}]}`, finish}, ErrNotReplayable},
		{"too large", append([]string{role}, append(slicesRepeat(big, 17), finish)...), ErrTooLarge},
	} {
		var a Assembler
		for _, c := range tc.chunks {
			_ = a.Add([]byte(c))
		}
		if _, err := a.Completion(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	var a Assembler
	for _, c := range []string{role, `{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":null,"content":"ok","extra":""}}]}`, finish} {
		if err := a.Add([]byte(c)); err != nil {
			t.Fatalf("null or empty unknown member refused: %v", err)
		}
	}
	for name, bad := range map[string]string{"not JSON": `{"id":`, "usage not an object": `{"id":"c","choices":[],"usage":5}`} {
		var a Assembler
		first := a.Add([]byte(bad))
		if first == nil || a.Add([]byte(finish)) != first {
			t.Errorf("%s: first error %v not sticky", name, first)
		}
		if _, err := a.Completion(); err != first {
			t.Errorf("%s: Completion returned %v", name, err)
		}
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// FuzzAssemblerAdd: arbitrary chunks, one per line, never panic, and whatever the
// Assembler accepts as a completion is valid JSON that Replay turns into valid chunks.
func FuzzAssemblerAdd(f *testing.F) {
	f.Add([]byte(strings.Join(azureStream, "\n")))
	f.Add([]byte(strings.Join(toolStream, "\n")))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":-1}]},"finish_reason":"stop"}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"\ud800"},"logprobs":{"content":[1,{}]},"finish_reason":"x"}],"usage":{}}`))
	f.Add([]byte("[DONE]\n{}\nnull"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Assembler
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			_ = a.Add(line)
		}
		out, err := a.Completion()
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid completion %s", out)
		}
		chunks, err := Replay(&Entry{Completion: out})
		if err != nil {
			t.Fatalf("assembled %s does not replay: %v", out, err)
		}
		for _, c := range chunks {
			if !json.Valid(c.Data) {
				t.Fatalf("invalid chunk %s", c.Data)
			}
		}
	})
}

func BenchmarkAssemblerAdd(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1750000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]}`)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	var a Assembler
	for i := 0; b.Loop(); i++ {
		if i%10_000 == 0 {
			a = Assembler{} // stay below the size bound
		}
		if err := a.Add(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
