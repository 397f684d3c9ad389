package responses

import (
	"encoding/json"

	"github.com/switchyard/switchyard/providers"
)

// Estimator estimates the prompt tokens of chat messages. The proxy's is
// EstimateJSON(policy.EstimatePromptTokens).
type Estimator func(msgs []providers.Message) int

// EstimateJSON adapts an estimator of a raw "messages" JSON array.
func EstimateJSON(f func(messages []byte) int) Estimator {
	return func(msgs []providers.Message) int {
		b, err := json.Marshal(msgs)
		if err != nil {
			return 0
		}
		return f(b)
	}
}

// Fit returns the part of chain that fits a context window of window tokens
// together with req's instructions, new input and max_output_tokens (room kept for
// the answer). window is the chosen target's context window; 0 (unknown) or a nil
// est keeps the whole chain.
//
// With truncation "auto" the oldest turns are dropped until the estimate fits, as
// OpenAI truncates by dropping items from the beginning of the conversation (API
// reference, truncation). A turn holding a call the new input answers is never
// dropped, and outputs left without their call by the cut are dropped with it, so
// the result always converts. With truncation "disabled" (the default), or when even
// the shortest conversation does not fit, the error is context_length_exceeded.
//
// Turns are estimated one by one, each once, so the cost is linear in the chain.
func Fit(chain []*Stored, req *CreateRequest, window int, est Estimator) ([]*Stored, error) {
	if window <= 0 || est == nil {
		return chain, nil
	}
	fixed := estimateItems(nil, req.Input, est)
	if req.Instructions != nil && *req.Instructions != "" {
		fixed += est([]providers.Message{{Role: "system", Content: providers.TextContent(*req.Instructions)}})
	}
	if req.MaxOutputTokens != nil {
		fixed += *req.MaxOutputTokens
	}
	turns := make([]int, len(chain))
	total := fixed
	for i, s := range chain {
		turns[i] = estimateItems(s.Input, s.Response.Output, est)
		total += turns[i]
	}
	if total <= window {
		return chain, nil
	}
	if req.Truncation != TruncationAuto {
		return nil, contextLength("Your input (about %d tokens with the conversation so far) exceeds the context window of %d tokens of the model serving it. Use truncation: 'auto' to drop the oldest turns, or shorten the input.", total, window)
	}
	keep := firstAnswered(chain, req.Input)
	drop := 0
	for drop < keep && total > window {
		total -= turns[drop]
		drop++
	}
	if total > window {
		return nil, contextLength("Your input (about %d tokens after dropping %d earlier turns) exceeds the context window of %d tokens of the model serving it.", total, drop, window)
	}
	return cutChain(chain, drop), nil
}

func estimateItems(a, b []Item, est Estimator) int {
	c := converter{}
	_ = c.add(a, "")
	_ = c.add(b, "")
	if len(c.msgs) == 0 {
		return 0
	}
	return est(c.msgs)
}

// firstAnswered is the index of the oldest turn holding a call that input answers:
// the turns from there on must stay. len(chain) when input answers none.
func firstAnswered(chain []*Stored, input []Item) int {
	answers := map[string]bool{}
	for _, it := range input {
		if it.Type == ItemFunctionCallOutput {
			answers[it.CallID] = true
		}
	}
	if len(answers) == 0 {
		return len(chain)
	}
	for i, s := range chain {
		for _, items := range [2][]Item{s.Input, s.Response.Output} {
			for _, it := range items {
				if it.Type == ItemFunctionCall && answers[it.CallID] {
					return i
				}
			}
		}
	}
	return len(chain)
}

// cutChain drops the first n turns, and from the turns kept the outputs of calls
// made in the dropped ones. Affected turns are shallow copies: stored records are
// shared (the cache) and never modified.
func cutChain(chain []*Stored, n int) []*Stored {
	if n == 0 {
		return chain
	}
	dropped := map[string]bool{}
	for _, s := range chain[:n] {
		for _, items := range [2][]Item{s.Input, s.Response.Output} {
			for _, it := range items {
				if it.Type == ItemFunctionCall {
					dropped[it.CallID] = true
				}
			}
		}
	}
	kept := append([]*Stored(nil), chain[n:]...)
	if len(dropped) == 0 {
		return kept
	}
	for i, s := range kept {
		if !answersAny(s.Input, dropped) {
			continue
		}
		cp := *s
		cp.Input = make([]Item, 0, len(s.Input))
		for _, it := range s.Input {
			if it.Type != ItemFunctionCallOutput || !dropped[it.CallID] {
				cp.Input = append(cp.Input, it)
			}
		}
		kept[i] = &cp
	}
	return kept
}

func answersAny(items []Item, calls map[string]bool) bool {
	for _, it := range items {
		if it.Type == ItemFunctionCallOutput && calls[it.CallID] {
			return true
		}
	}
	return false
}
