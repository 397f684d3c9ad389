package keyring

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeKeyFields: a body never panics the decoder; one it accepts means to it
// what it means to encoding/json (no duplicate or ambiguous field slips through),
// and the key it describes survives the store's encoding.
func FuzzDecodeKeyFields(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a","team":"t","models":["gpt-*"],"limits":{"rpm":1,"tpm":2},"budget":{"usd":1.5,"period":"daily","soft":0.5},"expires_at":"2031-01-01T00:00:00Z","metadata":{"k":[1,{"x":null}]}}`,
		`{"name":"a","name":"b"}`, `{"name":"a","n\u0061me":"b"}`, `{"name":"a","budget":{"usd":1,"usd":1e9}}`,
		`{"name":"a","limits":null,"budget":null,"metadata":null}`, `{"name":"\u0061"}`, `{"name":"a"}x`, `[]`, `"a"`,
		`{"name":"a","limits":{"rpm":1e2}}`, `{"name":"a","metadata":{"":1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := decodeKeyFields(body, true)
		if err != nil {
			if err.Status != 400 || err.Message == "" {
				t.Fatalf("refusal %+v", err)
			}
			return
		}
		var std struct {
			Name   string  `json:"name"`
			Team   *string `json:"team"`
			Limits *Limits `json:"limits"`
			Budget *Budget `json:"budget"`
		}
		if json.Unmarshal(body, &std) != nil {
			t.Fatalf("accepted what encoding/json refuses: %q", body)
		}
		if std.Name != fields.name.v {
			t.Fatalf("name %q, encoding/json reads %q", fields.name.v, std.Name)
		}
		if fields.team.set && std.Team != nil && *std.Team != fields.team.v {
			t.Fatalf("team %q, encoding/json reads %q", fields.team.v, *std.Team)
		}
		if std.Limits != nil && *std.Limits != fields.limits.v {
			t.Fatalf("limits %+v, encoding/json reads %+v", fields.limits.v, *std.Limits)
		}
		if std.Budget != nil && (fields.budget.v == nil || std.Budget.USD != fields.budget.v.USD) {
			t.Fatalf("budget %+v, encoding/json reads %+v", fields.budget.v, *std.Budget)
		}
		k := &storedKey{}
		if e := fields.apply(k, &snapshot{file: &fileSource{}}, newClock().Now().AddDate(-50, 0, 0)); e != nil {
			return
		}
		data, mErr := json.Marshal(k)
		if mErr != nil {
			t.Fatalf("marshal %+v: %v", k, mErr)
		}
		back, _, dErr := decodeRow(keyRow+k.Name, data, 1)
		if dErr != nil || toJSON(back.view("x")) != toJSON(func() Key { k.version = 1; return k.view("x") }()) {
			t.Fatalf("store round trip: %v\n%s", dErr, data)
		}
	})
}
