package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// rememberer is an emulated model that proves it received the whole conversation:
// it recalls every fact the user stated in earlier turns.
func rememberer(name string) fakes.Responder {
	return func(p *fakes.Prompt) fakes.Reply {
		var facts []string
		for _, t := range p.Turns[:len(p.Turns)-1] {
			if t.Role == "user" {
				facts = append(facts, t.Text)
			}
		}
		if len(facts) == 0 {
			return fakes.Reply{Content: name + ": noted."}
		}
		return fakes.Reply{Content: fmt.Sprintf("%s: I remember %q.", name, strings.Join(facts, "; "))}
	}
}

// runAgent holds a Responses API conversation whose turns the clouds take in turn:
// Azure, then (Azure down) Bedrock, then (Azure and Bedrock down) Anthropic, then
// Azure again. The proxy keeps the conversation, so every cloud remembers it.
func runAgent(stdout io.Writer, base string, clouds *demoClouds) error {
	for _, b := range []*fakes.Backend{clouds.azure.Backend, clouds.bedrock.Backend, clouds.anthropic.Backend} {
		b.Respond(rememberer(b.Name))
		defer b.Respond(fakes.Echo(b.Name))
	}
	fmt.Fprintf(stdout, "\nAgent scene: a Responses API conversation (previous_response_id) through cloud outages.\n\n")
	const row = "%-5s %-34s %-14s %s\n"
	fmt.Fprintf(stdout, row, "TURN", "USER SAYS", "SERVED BY", "REPLY")
	turns := []struct {
		say    string
		outage func()
	}{
		{"my name is Ada", nil},
		{"my project is a gateway", func() { clouds.azure.Fail(fakes.Fault{Status: http.StatusServiceUnavailable, Times: 1}) }},
		{"it routes LLM traffic", func() {
			clouds.azure.Fail(fakes.Fault{Status: http.StatusServiceUnavailable, Times: 1})
			clouds.bedrock.Fail(fakes.Fault{Status: http.StatusServiceUnavailable, Times: 1})
		}},
		{"what do you know about me?", nil},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	prev := ""
	for i, t := range turns {
		note := ""
		if t.outage != nil {
			t.outage()
			note = "  (outage injected)"
		}
		body := map[string]any{"model": "agent", "input": t.say}
		if prev != "" {
			body["previous_response_id"] = prev
		}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+"/responses", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+demoKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var out struct {
			ID     string `json:"id"`
			Output []struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"output"`
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil || len(out.Output) == 0 || len(out.Output[0].Content) == 0 {
			return fmt.Errorf("agent turn %d: HTTP %d: %s", i+1, resp.StatusCode, bytes.TrimSpace(data))
		}
		prev = out.ID
		fmt.Fprintf(stdout, row, fmt.Sprint(i+1), fmt.Sprintf("%q", t.say), resp.Header.Get("X-Switchyard-Provider"),
			out.Output[0].Content[0].Text+note)
	}
	return nil
}
