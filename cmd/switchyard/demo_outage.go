package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/providers/fakes"
)

// outageTally counts what clients saw during the outage scene.
type outageTally struct {
	mu        sync.Mutex
	served    map[string]int
	failovers int
	errors    int
}

func (t *outageTally) add(provider string, attempts int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.errors++
		return
	}
	t.served[provider]++
	if attempts > 1 {
		t.failovers++
	}
}

func (t *outageTally) take() (map[string]int, int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	served, f, e := t.served, t.failovers, t.errors
	t.served, t.failovers = map[string]int{}, 0
	return served, f, e
}

// runOutage keeps an application's traffic flowing while the emulated Azure region
// goes down a third of the way in and comes back two thirds in, and prints one row
// a second: who served, the breaker's state, failovers, client-visible errors.
func runOutage(stdout io.Writer, base, admin string, clouds *demoClouds, length time.Duration) error {
	fmt.Fprintf(stdout, "\nOutage scene: an application sends gpt-4o requests for %s; azure-eastus goes down and comes back.\n\n", length)
	const row = "%-4s %-13v %-7v %-13v %-14v %-10v %v\n"
	fmt.Fprintf(stdout, row, "T", "AZURE-EASTUS", "OPENAI", "BEDROCK-USE1", "AZURE BREAKER", "FAILOVERS", "CLIENT ERRORS")

	tally := &outageTally{served: map[string]int{}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				resp, _, err := post(client, base+"/chat/completions",
					chatBody("gpt-4o", fmt.Sprintf("worker %d, request %d", w, i), false), false)
				if err != nil {
					tally.add("", 0, err)
					continue
				}
				attempts, _ := strconv.Atoi(resp.Header.Get("X-Switchyard-Attempts"))
				tally.add(resp.Header.Get("X-Switchyard-Provider"), attempts, nil)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	start := time.Now()
	down, up := length/3, 2*length/3
	var wentDown, cameBack bool
	var totalErrors int
	for tick := time.Second; tick <= length; tick += time.Second {
		time.Sleep(time.Until(start.Add(tick)))
		if !wentDown && tick > down {
			clouds.azure.Fail(fakes.Fault{Status: http.StatusServiceUnavailable})
			wentDown = true
			fmt.Fprintln(stdout, ">>> azure-eastus goes down: every request now gets HTTP 503")
		}
		if !cameBack && tick > up {
			clouds.azure.Clear()
			cameBack = true
			fmt.Fprintln(stdout, ">>> azure-eastus is back")
		}
		served, failovers, errors := tally.take()
		totalErrors = errors
		fmt.Fprintf(stdout, row, fmt.Sprintf("%ds", int(tick/time.Second)), served["azure-eastus"], served["openai"],
			served["bedrock-use1"], breakerState(admin, "azure-eastus/gpt-4o-prod"), failovers, errors)
	}
	stop.Store(true)
	wg.Wait()
	fmt.Fprintf(stdout, "\nclient-visible errors: %d\n", totalErrors)
	if totalErrors != 0 {
		return fmt.Errorf("the outage reached the application: %d errors", totalErrors)
	}
	return nil
}

// breakerState reads a target's breaker from /admin/targets, as an operator would.
func breakerState(admin, target string) string {
	resp, err := http.Get(admin + "/admin/targets")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	var doc struct {
		Targets []struct {
			ID      string `json:"id"`
			Breaker string `json:"breaker"`
		} `json:"targets"`
	}
	if json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return "?"
	}
	for _, t := range doc.Targets {
		if t.ID == target {
			return t.Breaker
		}
	}
	return "?"
}
