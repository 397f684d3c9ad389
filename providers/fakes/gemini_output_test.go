package fakes

import (
	"encoding/json"
	"testing"
)

func TestGeminiFunctionOutput(t *testing.T) {
	for response, want := range map[string]string{
		`{"output":"12°C and rain"}`:        "12°C and rain",
		`{"output":["09:00","17:00"]}`:      `["09:00","17:00"]`,
		`{"error":"city not found"}`:        "city not found",
		`{"output":"ok","error":"ignored"}`: "ok",
		`{"temp":18}`:                       `{"temp":18}`,
		`{"result":"the whole object"}`:     `{"result":"the whole object"}`,
		`{"output":{"temp":18},"unit":"C"}`: `{"temp":18}`,
	} {
		if got := functionOutput(json.RawMessage(response)); got != want {
			t.Errorf("%s: %q, want %q", response, got, want)
		}
	}
}
