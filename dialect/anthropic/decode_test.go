package anthropic

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonscan"
)

// refDecode is decode as it was: the members checked (and content nested too
// deep or spelt two ways refused), then the whole body through encoding/json.
func refDecode(body []byte) (*Request, error) {
	var unknown []string
	if err := eachMember(body, func(k, v []byte, _ jsonscan.Text) error {
		if !knownMembers[string(k)] {
			unknown = append(unknown, string(k))
			return nil
		}
		return refuseContent(string(k), v)
	}); err != nil {
		return nil, err
	}
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, invalid("There was an issue with the format or content of your request: %s", decodeMessage(err))
	}
	r.Unknown = unknown
	return &r, nil
}

var requestSeeds = []string{
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","max_tokens":5,"stream":true,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}],"is_error":true}]}],"tools":[{"name":"n","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"}}`,
	`{"model":"m","messages":[{"Role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"hi","role":"assistant"}]}`,
	`{"model":"m","messages":[{"role":"user","content":null}]}`,
	`{"model":"m","messages":[{"role":5,"content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x","extra":1}]}`,
	`{"model":"m","messages":null,"system":null}`,
	`{"model":null,"stream":null,"max_tokens":"5","messages":[]}`,
	`{"model":"m","max_tokens":5.5,"messages":[5]}`,
	`{"model":"m","thinking":{"type":"enabled","budget_tokens":2000},"metadata":{"user_id":"u"},"top_k":3,"x":{}}`,
	`{"model":"m\u00e9","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"i","name":"n","input":{"a":[1,2]}}]}]}`,
	`{"model":"m","system":"sys","stop_sequences":["a"],"temperature":0.5,"top_p":1,"output_config":{"effort":"max"}}`,
}

// FuzzRequestDecode is differential: decode's own reader and encoding/json read
// every body to the same Request, or to the same error.
func FuzzRequestDecode(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	addTestdataRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, errGot := decode(body)
		want, errWant := refDecode(body)
		if (errGot == nil) != (errWant == nil) || errGot != nil && errGot.Error() != errWant.Error() {
			t.Fatalf("%q: error %v, encoding/json %v", body, errGot, errWant)
		}
		if errGot == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", body, got, want)
		}
	})
}

// The messages of an ordinary request are read without encoding/json.
func TestDecodeTakesOrdinaryRequests(t *testing.T) {
	for _, s := range []string{requestSeeds[0], requestSeeds[1], requestSeeds[2], requestSeeds[12], requestSeeds[13]} {
		var r Request
		quick := true
		if err := eachMember([]byte(s), func(k, v []byte, _ jsonscan.Text) error {
			if knownMembers[string(k)] {
				quick = quick && r.quickMember(string(k), v)
			}
			return nil
		}); err != nil || !quick {
			t.Errorf("%s: left to encoding/json (%v)", s, err)
		}
	}
}
