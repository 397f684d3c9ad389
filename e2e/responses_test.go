package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdk "github.com/openai/openai-go/v3/responses"

	"github.com/switchyard/switchyard/internal/testservers"
	"github.com/switchyard/switchyard/providers/fakes"
)

func responsesClient(p *proc) openai.Client {
	return openai.NewClient(option.WithBaseURL(p.base), option.WithAPIKey("sk-agent"), option.WithMaxRetries(0))
}

func turn(t *testing.T, p *proc, prev, input string) *sdk.Response {
	t.Helper()
	c := responsesClient(p)
	params := sdk.ResponseNewParams{Model: "m", Input: sdk.ResponseNewParamsInputUnion{OfString: openai.String(input)}}
	if prev != "" {
		params.PreviousResponseID = openai.String(prev)
	}
	resp, err := c.Responses.New(context.Background(), params)
	if err != nil {
		t.Fatalf("%s: %v\n%s", input, err, p.logs)
	}
	return resp
}

func responsesYAML(cloud *fakes.OpenAI, state string) string {
	return fmt.Sprintf(`
listen: "{{LISTEN}}"
admin_listen: "{{ADMIN}}"
drain_delay: 0s
keys: [{name: agent, key: sk-agent}]
providers:
  - {name: cloud, type: openai, base_url: %q}
models:
  - name: m
    targets: [{provider: cloud, model: m}]
state: %s
log: {level: info} # start reads the bound addresses from the "serving" line
`, cloud.BaseURL(), state)
}

// lastHistory is what the upstream received on its latest request.
func lastHistory(cloud *fakes.OpenAI) string {
	reqs := cloud.Requests()
	return string(reqs[len(reqs)-1].Body)
}

// The proxy restarts mid-conversation; the embedded store keeps the conversation.
func TestConversationSurvivesRestart(t *testing.T) {
	cloud := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "cloud"})
	defer cloud.Close()
	yaml := responsesYAML(cloud, fmt.Sprintf("{path: %q}", filepath.Join(t.TempDir(), "state.db")))
	first := start(t, yaml)
	r1 := turn(t, first, "", "remember the word ultramarine")
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	second := start(t, yaml)
	r2 := turn(t, second, r1.ID, "which word?")
	if !strings.Contains(lastHistory(cloud), "remember the word ultramarine") || r2.PreviousResponseID != r1.ID {
		t.Errorf("after a restart the upstream got %s", lastHistory(cloud))
	}
}

// Two replicas share Redis: turn 1 on one, turn 2 on the other.
func TestConversationAcrossReplicas(t *testing.T) {
	redis := testservers.StartRedis(t)
	cloud := fakes.NewOpenAI(fakes.OpenAIOptions{Name: "cloud"})
	defer cloud.Close()
	// A timeout far above what a loaded machine takes (the default is 250ms).
	yaml := responsesYAML(cloud, fmt.Sprintf(`{driver: redis, url: "redis://%s/0", timeout: 10s}`, redis.Addr))
	a, b := start(t, yaml), start(t, yaml)
	r1 := turn(t, a, "", "the code is 7421")
	r2 := turn(t, b, r1.ID, "what is the code?")
	if !strings.Contains(lastHistory(cloud), "the code is 7421") {
		t.Errorf("replica b did not see turn 1: %s", lastHistory(cloud))
	}
	r3 := turn(t, a, r2.ID, "and again?")
	if !strings.Contains(lastHistory(cloud), "what is the code?") || r3.PreviousResponseID != r2.ID {
		t.Errorf("replica a did not see turn 2: %s", lastHistory(cloud))
	}
	// A delete on one replica is seen by the other.
	c := responsesClient(b)
	if err := c.Responses.Delete(context.Background(), r3.ID); err != nil {
		t.Fatal(err)
	}
	ca := responsesClient(a)
	if _, err := ca.Responses.Get(context.Background(), r3.ID, sdk.ResponseGetParams{}); err == nil {
		t.Error("replica a still serves a response deleted on replica b")
	}
}
