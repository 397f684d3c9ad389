package policy

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tiktoken-go/tokenizer"
)

// The estimator is measured against OpenAI's real tokenizers (tiktoken-go embeds
// the o200k_base and cl100k_base vocabularies, so this runs offline). It is a test
// dependency only: the proxy never tokenizes.

// corpus reads DIR/CLASS.txt; samples are separated by "-----" lines.
// testdata/tokens holds the samples the weights were fitted on; testdata/tokens/
// holdout was written after the fit, to measure the error on text it never saw.
func corpus(t testing.TB, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		class := strings.TrimSuffix(filepath.Base(f), ".txt")
		for _, s := range strings.Split(string(data), "\n-----\n") {
			if s = strings.TrimSuffix(s, "\n"); s != "" {
				out[class] = append(out[class], s)
			}
		}
	}
	return out
}

// chatOf is the request body's messages array for a system prompt and one user
// message, and cookbookCount what OpenAI's num_tokens_from_messages says of it.
func chatOf(text string) []byte {
	b, _ := json.Marshal([]map[string]string{
		{"role": "system", "content": "You are a helpful assistant."},
		{"role": "user", "content": text},
	})
	return b
}

func cookbookCount(t testing.TB, enc tokenizer.Codec, text string) int {
	n := 3 // reply priming
	for _, m := range []map[string]string{
		{"role": "system", "content": "You are a helpful assistant."},
		{"role": "user", "content": text},
	} {
		n += 3
		for _, v := range m {
			c, err := enc.Count(v)
			if err != nil {
				t.Fatal(err)
			}
			n += c
		}
	}
	return n
}

// textEstimate estimates one text the way EstimatePromptTokens estimates a string
// value.
func textEstimate(text string) float64 {
	b, _ := json.Marshal(text)
	est, _ := stringTokens(b, 1)
	return est
}

type errStats struct{ mean, p95, max float64 }

func stats(errs []float64) errStats {
	slices.Sort(errs)
	var sum float64
	for _, e := range errs {
		sum += e
	}
	return errStats{
		mean: sum / float64(len(errs)),
		p95:  errs[int(math.Ceil(0.95*float64(len(errs))))-1],
		max:  errs[len(errs)-1],
	}
}

// TestEstimatorAccuracy reports mean and p95 relative error per class, for the bare
// text and for a whole chat request (system prompt + the sample as user message),
// on the fitted and the held-out samples, and fails when an error grows past what
// was measured (the tolerances are those measurements rounded up, not targets).
// Run with -v to see the table.
func TestEstimatorAccuracy(t *testing.T) {
	type measured struct{ chatMean, chatP95 float64 }
	// o200k_base, all samples of a class (fitted + held out), chat estimate.
	tolerance := map[string]measured{
		"english": {0.05, 0.32}, "code": {0.07, 0.25}, "json": {0.05, 0.10}, "numbers": {0.12, 0.25},
		"german": {0.03, 0.08}, "chinese": {0.08, 0.16}, "japanese": {0.07, 0.14}, "emoji": {0.05, 0.19},
	}
	sets := map[string]map[string][]string{"fit": corpus(t, "testdata/tokens"), "holdout": corpus(t, "testdata/tokens/holdout")}
	for _, name := range []tokenizer.Encoding{tokenizer.O200kBase, tokenizer.Cl100kBase} {
		enc, err := tokenizer.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		type errs struct{ text, chat []float64 }
		byClass := map[string]*errs{}
		var classes []string
		for _, set := range []string{"fit", "holdout"} {
			var all errs
			for class, samples := range sets[set] {
				if byClass[class] == nil {
					byClass[class] = &errs{}
					classes = append(classes, class)
				}
				for _, s := range samples {
					real, err := enc.Count(s)
					if err != nil {
						t.Fatal(err)
					}
					realChat := cookbookCount(t, enc, s)
					te := math.Abs(textEstimate(s)-float64(real)) / float64(real)
					ce := math.Abs(float64(EstimatePromptTokens(chatOf(s))-realChat)) / float64(realChat)
					all.text, all.chat = append(all.text, te), append(all.chat, ce)
					byClass[class].text, byClass[class].chat = append(byClass[class].text, te), append(byClass[class].chat, ce)
				}
			}
			ts, cs := stats(all.text), stats(all.chat)
			t.Logf("%-11s %-8s all       n=%2d  text mean %5.1f%% p95 %5.1f%%  chat mean %5.1f%% p95 %5.1f%%",
				name, set, len(all.text), 100*ts.mean, 100*ts.p95, 100*cs.mean, 100*cs.p95)
		}
		slices.Sort(classes)
		for _, class := range classes {
			e := byClass[class]
			ts, cs := stats(e.text), stats(e.chat)
			t.Logf("%-11s both     %-9s n=%2d  text mean %5.1f%% p95 %5.1f%%  chat mean %5.1f%% p95 %5.1f%%",
				name, class, len(e.text), 100*ts.mean, 100*ts.p95, 100*cs.mean, 100*cs.p95)
			if tol := tolerance[class]; name == tokenizer.O200kBase && (cs.mean > tol.chatMean || cs.p95 > tol.chatP95) {
				t.Errorf("%s %s: chat estimate error mean %.1f%% p95 %.1f%%, measured at most %.0f%% / %.0f%%",
					name, class, 100*cs.mean, 100*cs.p95, 100*tol.chatMean, 100*tol.chatP95)
			}
		}
	}
}
