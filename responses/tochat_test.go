package responses

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCase is a testdata/*.in.json file: stored turns and a create request.
type goldenCase struct {
	Chain []struct {
		Instructions *string `json:"instructions"`
		Input        []Item  `json:"input"`
		Output       []Item  `json:"output"`
	} `json:"chain"`
	Request json.RawMessage `json:"request"`
}

func loadCase(t testing.TB, path string) ([]*Stored, *CreateRequest) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	req, err := DecodeCreate(c.Request)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var chain []*Stored
	for _, turn := range c.Chain {
		chain = append(chain, &Stored{Input: turn.Input,
			Response: &Response{Instructions: turn.Instructions, Output: turn.Output}})
	}
	return chain, req
}

// The chat requests built from stored conversations are compared with golden files
// (testdata/*.chat.json); go test -update rewrites them.
func TestToChatGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in.json")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.json")
		t.Run(name, func(t *testing.T) {
			chain, req := loadCase(t, in)
			chat, err := ToChat(chain, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(chat, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".chat.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs:\n%s", golden, got)
			}
			// The proxy wraps it as a chat request; that must parse.
			if _, err := providers.NewRequest(chat); err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
		})
	}
}

// A conversation with parallel function calls, continued with the calls' outputs:
// the text and both calls are one assistant message, each output a tool message, and
// only the new request's instructions are sent.
func TestToChatChainWithFunctionCalls(t *testing.T) {
	chain, req := loadCase(t, "testdata/chain_function_calls.in.json")
	chat, err := ToChat(chain, req)
	if err != nil {
		t.Fatal(err)
	}
	roles := make([]string, len(chat.Messages))
	for i, m := range chat.Messages {
		roles[i] = m.Role
	}
	if got := strings.Join(roles, ","); got != "system,user,assistant,tool,tool,assistant,user" {
		t.Fatalf("roles %s", got)
	}
	if chat.Messages[0].Content.Text != "Answer in one line." {
		t.Fatalf("system %q: only the current instructions count", chat.Messages[0].Content.Text)
	}
	a := chat.Messages[2]
	if a.Content.Text != "Let me check both." || len(a.ToolCalls) != 2 ||
		a.ToolCalls[0].ID != "call_paris" || a.ToolCalls[1].Function.Arguments != `{"city":"Rome"}` {
		t.Fatalf("assistant %+v", a)
	}
	if m := chat.Messages[4]; m.ToolCallID != "call_rome" || m.Content.Text != "25C, cloudy" {
		t.Fatalf("tool %+v", m)
	}
	if chat.ToolChoice.Mode != "required" || !*chat.Tools[0].Function.Strict || *chat.ParallelToolCalls {
		t.Fatalf("tools %+v %+v", chat.ToolChoice, chat.Tools)
	}
}

func TestToChatRefusesBrokenCallPairs(t *testing.T) {
	orphan, _ := DecodeCreate([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"call_x","output":"1"}]}`))
	_, err := ToChat(nil, orphan)
	if e := providers.AsError(err); e == nil || e.Param != "input" || !strings.Contains(e.Message, "call_x") {
		t.Fatalf("orphan output: %v", err)
	}

	chain, _ := loadCase(t, "testdata/calls_without_text.in.json")
	onlyText, _ := DecodeCreate([]byte(`{"model":"m","input":"never mind"}`))
	_, err = ToChat(chain, onlyText)
	if e := providers.AsError(err); e == nil || !strings.Contains(e.Message, "No tool output found for function call call_a") {
		t.Fatalf("unanswered call: %v", err)
	}

	half, _ := DecodeCreate([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"call_a","output":"4"}]}`))
	if _, err = ToChat(chain, half); err == nil || !strings.Contains(err.Error(), "call_b") {
		t.Fatalf("half answered: %v", err)
	}
}
