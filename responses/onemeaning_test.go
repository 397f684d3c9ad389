package responses

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

// The Responses API is consistent by construction (issue 13, "one meaning per
// request"): the client's body is decoded once by DecodeCreate, and what goes
// upstream is a new chat request built from that decoded view (ToChat, then
// providers.NewRequest encodes it). An escaped or case-varied member name is an
// unknown parameter to DecodeCreate, hence refused; a repeated member is decoded
// once more, the last one winning, and the upstream body carries only that value.
// So the model the proxy routes and authorizes on, the stream flag and the caps
// are what the upstream reads. FuzzResponsesOneMeaning holds it.

var responsesSeeds = []string{
	`{"model":"cheap","input":"hi"}`,
	`{"model":"cheap","mod\u0065l":"expensive","input":"hi"}`,
	`{"model":"cheap","Model":"expensive","input":"hi"}`,
	`{"model":"cheap","model":"expensive","input":"hi"}`,
	`{"model":"cheap","input":"hi","str\u0065am":true}`,
	`{"model":"cheap","input":"hi","stream":false,"stream":true}`,
	`{"model":"cheap","input":"hi","max_output_tokens":16,"max_output_tokens":100000}`,
	`{"model":"cheap","input":"hi","temperature":0,"Temperature":2}`,
	`{"model":"cheap","input":"hi","metadata":{"tags":"cheap","tags":"premium"}}`,
	`{"model":"cheap","input":"hi","metadata":{"tags":"cheap","Tags":"premium"}}`,
}

func TestResponsesRefuseOrRebuild(t *testing.T) {
	refused := 0
	for _, s := range responsesSeeds {
		if _, err := DecodeCreate([]byte(s)); err != nil {
			refused++
		}
		checkOneMeaning(t, []byte(s))
	}
	if refused != 4 { // the escaped and case-varied spellings
		t.Errorf("%d of the seeds refused, want the 4 escaped or case-varied ones", refused)
	}
}

// FuzzResponsesOneMeaning: for every create body DecodeCreate accepts, the chat
// request sent upstream, as encoding/json reads it, carries the model, stream flag,
// output cap and temperature the proxy decided on.
func FuzzResponsesOneMeaning(f *testing.F) {
	for _, s := range responsesSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkOneMeaning)
}

func checkOneMeaning(t *testing.T, body []byte) {
	req, err := DecodeCreate(body)
	if err != nil {
		return
	}
	chat, err := ToChat(nil, req)
	if err != nil {
		return
	}
	sent, err := providers.NewRequest(chat) // what the proxy sends, and reads its routing fields from
	if err != nil {
		t.Fatalf("the rebuilt request does not encode: %v", err)
	}
	var g struct {
		Model               string   `json:"model"`
		Stream              bool     `json:"stream"`
		MaxCompletionTokens *int     `json:"max_completion_tokens"`
		Temperature         *float64 `json:"temperature"`
	}
	var m map[string]any
	if err := json.Unmarshal(sent.Body, &g); err != nil || json.Unmarshal(sent.Body, &m) != nil {
		t.Fatalf("the rebuilt body does not decode: %v\n%s", err, sent.Body)
	}
	switch {
	case g.Model != req.Model || m["model"] != req.Model || sent.Model != req.Model:
		t.Fatalf("model: decided %q, upstream reads %q / %v, proxy %q", req.Model, g.Model, m["model"], sent.Model)
	case g.Stream != req.Stream || (m["stream"] == true) != req.Stream || sent.Stream != req.Stream:
		t.Fatalf("stream: decided %v, upstream reads %v / %v", req.Stream, g.Stream, m["stream"])
	case !reflect.DeepEqual(g.MaxCompletionTokens, req.MaxOutputTokens):
		t.Fatalf("max output tokens: decided %v, upstream reads %v", req.MaxOutputTokens, g.MaxCompletionTokens)
	case !reflect.DeepEqual(g.Temperature, req.Temperature):
		t.Fatalf("temperature: decided %v, upstream reads %v", req.Temperature, g.Temperature)
	}
}
