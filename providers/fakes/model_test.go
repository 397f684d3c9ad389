package fakes

import "testing"

func TestEchoFollowsJSONInstructions(t *testing.T) {
	user := Turn{Role: "user", Text: "colors"}
	cases := []struct {
		name   string
		prompt Prompt
		text   string
		args   string
	}{
		{"plain", Prompt{Turns: []Turn{user}}, "m heard: colors", ""},
		{"JSON mode", Prompt{JSON: true, Turns: []Turn{user}}, `{"echo":"colors"}`, ""},
		{"system prompt asks for a JSON object", Prompt{System: "Respond with a single valid JSON Object.", Turns: []Turn{user}}, `{"echo":"colors"}`, ""},
		{"system prompt merely names JSON", Prompt{System: "You know JSON well.", Turns: []Turn{user}}, "m heard: colors", ""},
		{"forced tool described as the JSON answer", Prompt{Tools: []string{"answer"}, ToolChoice: "answer",
			ToolDescriptions: map[string]string{"answer": "Respond with a JSON object."}, Turns: []Turn{user}}, "", `{"echo":"colors"}`},
		{"forced ordinary tool", Prompt{Tools: []string{"get_weather"}, ToolChoice: "get_weather",
			ToolDescriptions: map[string]string{"get_weather": "Current weather."}, Turns: []Turn{user}}, "", `{"query":"colors"}`},
	}
	for _, c := range cases {
		r := Echo("m")(&c.prompt)
		var args string
		if len(r.ToolCalls) == 1 {
			args = r.ToolCalls[0].Arguments
		}
		if r.Content != c.text || args != c.args || (c.args == "") != (len(r.ToolCalls) == 0) {
			t.Errorf("%s: content %q calls %+v", c.name, r.Content, r.ToolCalls)
		}
	}
}
