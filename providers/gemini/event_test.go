package gemini

import (
	"testing"
)

func TestScanEvent(t *testing.T) {
	var v eventView
	err := scanEvent([]byte(`{"candidates":[{"index":1,"content":{"parts":[{"text":"other"}]}},{"content":{"parts":[{"text":"a\"b","thoughtSignature":"c2ln"},{"thought":true,"text":"hmm"},{"functionCall":{"name":"f"}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5},"responseId":"r1","modelVersion":"m1"}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.parts) != 3 || string(v.parts[0].text) != `a\"b` || !v.parts[0].escaped || !v.parts[1].thought || string(v.parts[2].call) != `{"name":"f"}` {
		t.Errorf("parts = %+v", v.parts)
	}
	if string(v.finishReason) != "STOP" || v.usage.TotalTokenCount != 5 || string(v.responseID) != "r1" || string(v.modelVersion) != "m1" || v.special {
		t.Errorf("view = %+v", v)
	}
	for _, bad := range []string{`[]`, `{"candidates":{}}`, `{"usageMetadata":{"promptTokenCount":-1}}`, `{"candidates":[{"content":{"parts":[1]}}]}`} {
		if scanEvent([]byte(bad), &v) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
