package policy

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

// freshMinute waits, when needed, for a rate window (epoch-aligned minutes) with
// 10s left, so that a test's steps count in one window. It reads the clock's
// position in the minute, never its date.
func freshMinute() {
	if left := time.Minute - time.Duration(time.Now().UnixNano()%int64(time.Minute)); left < 10*time.Second {
		time.Sleep(left + 10*time.Millisecond)
	}
}

// A key counts against its own limits and its team's; what one scope counted is
// given back when another refuses, so a refused request costs no quota.
func TestRateLimitsOfKeyAndTeam(t *testing.T) {
	store, err := state.Open(config.State{Driver: "embedded", Path: filepath.Join(t.TempDir(), "s.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l := NewRateLimiter(store)
	ctx := context.Background()
	freshMinute()
	team := RateScope{Kind: "team", Name: "growth", Limits: config.Limits{RPM: 3}}
	a := []RateScope{{Kind: "key", Name: "a", Limits: config.Limits{RPM: 10, TPM: 1000}}, team}
	b := []RateScope{{Kind: "key", Name: "b"}, team}
	// A key and a team of one name count apart.
	sameName := RateScope{Kind: "key", Name: "growth", Limits: config.Limits{RPM: 1}}

	for i, scopes := range [][]RateScope{a, b, a} {
		v, err := l.Admit(ctx, scopes, 100)
		if err != nil || !v.Allowed {
			t.Fatalf("request %d: %+v %v", i, v, err)
		}
		if i == 2 && (v.Requests.Limit != 3 || v.Requests.Count != 3) {
			t.Fatalf("the tightest window is the team's: %+v", v.Requests)
		}
	}
	v, err := l.Admit(ctx, a, 100)
	if err != nil || v.Allowed || v.Kind != "team" || v.Name != "growth" || v.Limit != "rpm" || v.WindowLimit() != 3 {
		t.Fatalf("fourth request: %+v %v", v, err)
	}
	reqs, toks, err := l.Usage(ctx, a[0])
	if err != nil || reqs.Count != 2 || toks.Count != 200 {
		t.Fatalf("key a after a refusal by its team: %d requests, %d tokens (%v); want 2, 200", reqs.Count, toks.Count, err)
	}
	if v, err := l.Admit(ctx, []RateScope{sameName}, 0); err != nil || !v.Allowed {
		t.Fatalf("a key named like a team: %+v %v", v, err)
	}
	// A request over a token limit gives back its request.
	big := []RateScope{{Kind: "key", Name: "c", Limits: config.Limits{RPM: 5, TPM: 50}}}
	if v, _ := l.Admit(ctx, big, 40); !v.Allowed {
		t.Fatal("first")
	}
	if v, _ := l.Admit(ctx, big, 40); v.Allowed || v.Limit != "tpm" {
		t.Fatalf("over tpm: %+v", v)
	}
	if reqs, _, _ := l.Usage(ctx, big[0]); reqs.Count != 1 {
		t.Fatalf("requests after a tpm refusal: %d, want 1", reqs.Count)
	}
	// Correct moves the token count of every scope that limits tokens.
	if err := l.Correct(ctx, big, 40, 10); err != nil {
		t.Fatal(err)
	}
	if _, toks, _ := l.Usage(ctx, big[0]); toks.Count != 10 {
		t.Fatalf("tokens after correction: %d, want 10", toks.Count)
	}
}
