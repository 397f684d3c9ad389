package responses

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
)

// storedTurn builds a stored turn from items, as Save keeps it.
func storedTurn(input []Item, output ...Item) *Stored {
	return &Stored{Input: input, Response: &Response{Output: output}}
}

func userText(s string) Item {
	return Item{Type: ItemMessage, Role: "user", Content: []Part{{Type: PartInputText, Text: s}}}
}

func assistantText(s string) Item {
	return Item{Type: ItemMessage, Role: "assistant", Content: []Part{{Type: PartOutputText, Text: s}}}
}

func callItem(id string) Item {
	return Item{Type: ItemFunctionCall, CallID: id, Name: "f", Arguments: "{}"}
}

func outputItem(id, out string) Item {
	return Item{Type: ItemFunctionCallOutput, CallID: id, Output: Output{Text: out}}
}

// Four turns of about 100 tokens each.
func longChain() []*Stored {
	var chain []*Stored
	for i := range 4 {
		chain = append(chain, storedTurn([]Item{userText(strings.Repeat("q", 200) + string(rune('a'+i)))},
			assistantText(strings.Repeat("a", 188))))
	}
	return chain
}

func TestFitKeepsWhatFits(t *testing.T) {
	req := mustDecode(t, `{"model":"m","input":"now"}`)
	chain := longChain()
	for _, window := range []int{0, 1000} {
		got, err := Fit(chain, req, window, estimateChars)
		if err != nil || len(got) != 4 {
			t.Fatalf("window %d: %d turns, %v", window, len(got), err)
		}
	}
}

func TestFitDisabledRefusesWhatDoesNot(t *testing.T) {
	req := mustDecode(t, `{"model":"m","input":"now"}`)
	_, err := Fit(longChain(), req, 300, estimateChars)
	e := providers.AsError(err)
	if e == nil || e.Status != 400 || e.Code != "context_length_exceeded" || e.Class != providers.ClassContextLength ||
		e.Param != "input" || !strings.Contains(e.Message, "300 tokens") {
		t.Fatalf("err %v", err)
	}
}

// truncation: auto drops the oldest turns, just enough of them.
func TestFitAutoDropsOldestTurns(t *testing.T) {
	chain := longChain()
	req := mustDecode(t, `{"model":"m","input":"now","truncation":"auto","max_output_tokens":50}`)
	got, err := Fit(chain, req, 300, estimateChars)
	if err != nil {
		t.Fatal(err)
	}
	// about 100 tokens a turn, 50 kept for the answer, a few for the input: two turns.
	if len(got) != 2 || got[0] != chain[2] || got[1] != chain[3] {
		t.Fatalf("kept %d turns", len(got))
	}
	if _, err := ToChat(got, req); err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(chain, req, 40, estimateChars); providers.AsError(err) == nil {
		t.Fatal("an input larger than the window alone must fail")
	}
}

// A turn whose call the new input answers is kept; outputs of calls in dropped turns
// are dropped with them, without touching the stored (shared) records.
func TestFitAutoKeepsCallsPaired(t *testing.T) {
	big := strings.Repeat("x", 400)
	chain := []*Stored{
		storedTurn([]Item{userText(big)}, callItem("call_old")),
		storedTurn([]Item{outputItem("call_old", "1"), userText(big)}, assistantText("ok")),
		storedTurn([]Item{userText(big)}, callItem("call_new")),
	}
	req := mustDecode(t, `{"model":"m","truncation":"auto","input":[{"type":"function_call_output","call_id":"call_new","output":"2"}]}`)

	got, err := Fit(chain, req, 150, estimateChars)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != chain[2] {
		t.Fatalf("kept %d turns", len(got))
	}
	if _, err := Fit(chain, req, 50, estimateChars); providers.AsError(err).Code != "context_length_exceeded" {
		t.Fatalf("the answered call's turn cannot go: %v", err)
	}

	got, err = Fit(chain, req, 250, estimateChars)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Input) != 1 || got[0].Input[0].Type != ItemMessage || len(chain[1].Input) != 2 {
		t.Fatalf("orphaned output not cut, or the stored turn modified: %+v", got[0].Input)
	}
	if _, err := ToChat(got, req); err != nil {
		t.Fatalf("fitted chain must convert: %v", err)
	}
}

// The proxy's estimator is the policy package's, over the messages JSON.
func TestEstimateJSONWithThePolicyEstimator(t *testing.T) {
	est := EstimateJSON(policy.EstimatePromptTokens)
	short := est([]providers.Message{{Role: "user", Content: providers.TextContent("hi")}})
	long := est([]providers.Message{{Role: "user", Content: providers.TextContent(strings.Repeat("hello world ", 100))}})
	if short <= 0 || long < 150 || long > 300 {
		t.Fatalf("estimates %d and %d", short, long)
	}
}
