package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/policy"
)

func estimate(body string) int { return EstimateInputTokens([]byte(body)) }

func TestEstimateInputTokens(t *testing.T) {
	short := estimate(`{"model":"m","messages":[{"role":"user","content":"Hello there"}]}`)
	long := estimate(`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("Hello there, how are you doing today? ", 50) + `"}]}`)
	if short <= 0 || long < 20*short {
		t.Fatalf("short %d, long %d", short, long)
	}
	withSystem := estimate(`{"model":"m","system":[{"type":"text","text":"` + strings.Repeat("rules ", 100) + `"}],"messages":[{"role":"user","content":"Hello there"}]}`)
	withTools := estimate(`{"model":"m","tools":[{"name":"search","description":"` + strings.Repeat("find things ", 50) + `","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Hello there"}]}`)
	if withSystem < short+90 || withTools < short+90 {
		t.Fatalf("system %d, tools %d, bare %d", withSystem, withTools, short)
	}
	// An image counts as an image, however many base64 bytes it has.
	img := estimate(`{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` +
		strings.Repeat("QUFB", 20000) + `"}},{"type":"text","text":"Hello there"}]}]}`)
	if img < short+200 || img > short+400 {
		t.Fatalf("image %d, bare %d", img, short)
	}
	tools := estimate(`{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"` +
		strings.Repeat("ponder ", 40) + `","signature":"s"},{"type":"tool_use","id":"t","name":"Read","input":{"path":"main.go"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"` + strings.Repeat("code ", 40) + `"}]}]}]}`)
	if tools < 80 {
		t.Fatalf("history %d", tools)
	}
	for _, garbage := range []string{``, `[]`, `{"messages":5}`, `{"messages":[1,"x",{"content":{}}],"tools":{},"system":7}`} {
		if n := estimate(garbage); n < 0 {
			t.Errorf("%q: %d", garbage, n)
		}
	}
}

// decodedEstimate is the estimate computed from the decoded request: the
// reference EstimateInputTokens, which reads the raw body, must agree with.
func decodedEstimate(r *Request) int {
	type part struct {
		Type     string `json:"type"`
		Text     string `json:"text,omitempty"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url,omitempty"`
	}
	type msg struct {
		Role    string `json:"role"`
		Content []part `json:"content"`
	}
	image := func() part {
		return part{Type: "image_url", ImageURL: &struct {
			URL string `json:"url"`
		}{URL: "data:"}}
	}
	var add func(parts []part, c Content) []part
	add = func(parts []part, c Content) []part {
		if !c.IsBlocks {
			return append(parts, part{Type: "text", Text: c.Text})
		}
		for _, b := range c.Blocks {
			switch b.Type {
			case "image":
				parts = append(parts, image())
			case "document":
				if b.Source != nil && b.Source.Type == "text" {
					parts = append(parts, part{Type: "text", Text: b.Source.Data})
				} else {
					parts = append(parts, image())
				}
			case "tool_use", "server_tool_use":
				parts = append(parts, part{Type: "text", Text: b.Name + string(b.Input)})
			case "tool_result":
				if b.Content != nil {
					parts = add(parts, *b.Content)
				}
			case "thinking":
				parts = append(parts, part{Type: "text", Text: b.Thinking})
			default:
				parts = append(parts, part{Type: "text", Text: b.Text})
			}
		}
		return parts
	}
	var msgs []msg
	if r.System != nil {
		msgs = append(msgs, msg{Role: "system", Content: add(nil, *r.System)})
	}
	for _, m := range r.Messages {
		msgs = append(msgs, msg{Role: m.Role, Content: add(nil, m.Content)})
	}
	if len(r.Tools) > 0 {
		defs, _ := json.Marshal(r.Tools)
		msgs = append(msgs, msg{Role: "system", Content: []part{{Type: "text", Text: string(defs)}}})
	}
	raw, _ := json.Marshal(msgs)
	return policy.EstimatePromptTokens(raw)
}

// canonical is the request as encoding/json writes it back, and its decoding:
// one reading to compare both estimates on.
func canonical(t *testing.T, body []byte) ([]byte, *Request, bool) {
	r, err := parse(body)
	if err != nil {
		return nil, nil, false
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("a decoded request does not encode: %v", err)
	}
	back, err := parse(out)
	if err != nil {
		t.Fatalf("a request written back does not decode: %v\n%s", err, out)
	}
	return out, back, true
}

// The estimate of the raw body is the estimate of the decoded request, on the
// translation's golden requests and a Claude Code-sized history.
func TestEstimateReadsWhatTheDecoderReads(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.req.json"))
	if len(inputs) == 0 {
		t.Fatal("no golden requests")
	}
	var bodies [][]byte
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	bodies = append(bodies, []byte(`{"model":"m","max_tokens":9,"system":"be brief <&>","messages":[`+
		`{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"a doc"}},`+
		`{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}}]},`+
		`{"role":"assistant","content":[{"type":"redacted_thinking","data":"xyz"},{"type":"server_tool_use","id":"s","name":"web_search","input":{"query":"q \"x\""}}]},`+
		`{"role":"user","content":[{"type":"web_search_tool_result","tool_use_id":"s","content":[]},{"type":"text","text":"é ✓ 日本"}]}],`+
		`"tools":[{"type":"web_search_20250305","name":"web_search"}]}`))
	for _, body := range bodies {
		out, r, ok := canonical(t, body)
		if !ok {
			t.Fatalf("golden request refused: %s", body)
		}
		if got, want := EstimateInputTokens(out), decodedEstimate(r); got != want || want <= 0 {
			t.Errorf("raw estimate %d, decoded %d: %s", got, want, out)
		}
	}
}

// FuzzEstimateInputTokens is differential: on every request the dialect
// decodes, written back by encoding/json, the raw estimate is the decoded one;
// on anything, it never fails.
func FuzzEstimateInputTokens(f *testing.F) {
	addTestdataRequests(f)
	f.Add([]byte(`{"model":"m","messages":[{"role":"user"},{"role":"assistant","content":[]}],"system":[],"tools":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if n := EstimateInputTokens(body); n < 0 {
			t.Fatalf("estimate %d", n)
		}
		out, r, ok := canonical(t, body)
		if !ok {
			return
		}
		if got, want := EstimateInputTokens(out), decodedEstimate(r); got != want {
			t.Fatalf("raw estimate %d, decoded %d: %s", got, want, out)
		}
	})
}
