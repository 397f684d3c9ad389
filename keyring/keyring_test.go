package keyring

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/config"
)

func TestSecretsAreFreshAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	chars := map[rune]bool{}
	for range 2000 {
		s := newSecret()
		if !strings.HasPrefix(s, SecretPrefix) || len(s) != len(SecretPrefix)+secretChars {
			t.Fatalf("secret %q", s)
		}
		for _, c := range s[len(SecretPrefix):] {
			if !strings.ContainsRune(base62, c) {
				t.Fatalf("secret %q has %q", s, c)
			}
			chars[c] = true
		}
		if seen[s] {
			t.Fatalf("secret %q issued twice", s)
		}
		seen[s] = true
	}
	if len(chars) != 62 {
		t.Errorf("%d of 62 characters used over 86,000 draws", len(chars))
	}
	if shown("sk-sy-AbCdEfGhIj") != "sk-sy-AbCdEf" {
		t.Error(shown("sk-sy-AbCdEfGhIj"))
	}
}

func TestCreateLookupRevoke(t *testing.T) {
	c := newClock()
	store := openEmbedded(t)
	r := newRing(t, store, c, nil)
	if !r.Open() {
		t.Fatal("no keys anywhere: the ring should be open")
	}
	k := mustCreate(t, r, `{"name":"ci-runner","models":["gpt-4o","claude-*"],"limits":{"rpm":60},
		"budget":{"usd":25,"period":"daily"},"metadata":{"owner":"ci@example.com","ticket":1234}}`)
	if !strings.HasPrefix(k.Secret, SecretPrefix) || k.Prefix != shown(k.Secret)+"…" || k.Version == 0 {
		t.Fatalf("created %+v", k)
	}
	if k.Budget.Soft != 0.8 || k.Source != SourceRuntime || k.Status != StatusActive || string(k.Metadata["ticket"]) != "1234" {
		t.Fatalf("created %s", toJSON(k))
	}
	if r.Open() {
		t.Fatal("a runtime key exists: the ring is not open")
	}
	id, v := lookup(r, k.Secret)
	if v != Valid || id.Name != "ci-runner" || !id.Allows("claude-sonnet") || id.Allows("gpt-4o-mini") ||
		id.Budget.USD != 25 || id.Budget.Period != "daily" || len(id.RateScopes) != 1 || id.RateScopes[0].Limits.RPM != 60 {
		t.Fatalf("lookup: %v %+v", v, id)
	}
	if _, v := lookup(r, k.Secret+"x"); v != Unknown {
		t.Fatalf("another token: %v", v)
	}
	// The secret is shown once: neither it nor its digest is ever read back.
	digest := digestOf(k.Secret)
	for _, shownAgain := range []any{mustKeys(t, r), mustKey(t, r, "ci-runner")} {
		js := toJSON(shownAgain)
		if strings.Contains(js, k.Secret) || strings.Contains(js, hex.EncodeToString(digest[:])) || strings.Contains(js, `"key"`) {
			t.Fatalf("a read shows the secret or its digest: %s", js)
		}
	}
	if err := r.RevokeKey(context.Background(), "ci-runner", ""); err != nil {
		t.Fatal(err)
	}
	if _, v := lookup(r, k.Secret); v != Unknown {
		t.Fatalf("revoked: %v", v)
	}
	if e := apiError(t, r.RevokeKey(context.Background(), "ci-runner", "")); e.Status != http.StatusNotFound {
		t.Fatalf("revoking twice: %+v", e)
	}
	// The name is free again, with a new secret.
	k2 := mustCreate(t, r, `{"name":"ci-runner"}`)
	if k2.Secret == k.Secret {
		t.Fatal("a new key got the old secret")
	}
}

func mustKeys(t *testing.T, r *Ring) []Key {
	t.Helper()
	ks, err := r.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func mustKey(t *testing.T, r *Ring, name string) Key {
	t.Helper()
	k, err := r.Key(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestExpiredKeysAreRefusedDistinctly(t *testing.T) {
	c := newClock()
	r := newRing(t, openEmbedded(t), c, nil)
	expiry := c.Now().Add(time.Hour).Format(time.RFC3339)
	k := mustCreate(t, r, `{"name":"temp","expires_at":"`+expiry+`"}`)
	if _, v := lookup(r, k.Secret); v != Valid {
		t.Fatalf("before expiry: %v", v)
	}
	c.Advance(time.Hour - time.Nanosecond)
	if _, v := lookup(r, k.Secret); v != Valid {
		t.Fatalf("a nanosecond before expiry: %v", v)
	}
	c.Advance(time.Nanosecond)
	id, v := lookup(r, k.Secret)
	if v != Expired || id.Name != "temp" || id.ExpiresAt.Format(time.RFC3339) != expiry {
		t.Fatalf("at expiry: %v %+v", v, id)
	}
	if got := mustKey(t, r, "temp").Status; got != StatusExpired {
		t.Fatalf("status %q", got)
	}
	// An expiry in the past is refused; clearing it revives the key.
	_, err := r.UpdateKey(context.Background(), "temp", []byte(`{"expires_at":"`+expiry+`"}`), "")
	if e := apiError(t, err); e.Status != 400 || e.Param != "expires_at" {
		t.Fatalf("past expiry: %+v", e)
	}
	if _, err := r.UpdateKey(context.Background(), "temp", []byte(`{"expires_at":null}`), ""); err != nil {
		t.Fatal(err)
	}
	if _, v := lookup(r, k.Secret); v != Valid {
		t.Fatalf("expiry cleared: %v", v)
	}
}

func TestRotationKeepsTheOldSecretForItsGrace(t *testing.T) {
	c := newClock()
	r := newRing(t, openEmbedded(t), c, nil)
	k := mustCreate(t, r, `{"name":"svc"}`)
	rot, err := r.RotateKey(context.Background(), "svc", []byte(`{"grace":"10m"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if rot.Secret == "" || rot.Secret == k.Secret || rot.Version <= k.Version || len(rot.Retired) != 1 ||
		rot.Retired[0].Prefix != k.Prefix || !rot.Retired[0].ValidUntil.Equal(c.Now().Add(10*time.Minute)) {
		t.Fatalf("rotated %s", toJSON(rot))
	}
	for _, s := range []string{k.Secret, rot.Secret} {
		if id, v := lookup(r, s); v != Valid || id.Name != "svc" {
			t.Fatalf("within the grace period: %v", v)
		}
	}
	c.Advance(10*time.Minute - time.Nanosecond)
	if _, v := lookup(r, k.Secret); v != Valid {
		t.Fatalf("a nanosecond before the grace ends: %v", v)
	}
	c.Advance(time.Nanosecond)
	if _, v := lookup(r, k.Secret); v != Unknown {
		t.Fatalf("after the grace period: %v", v)
	}
	if _, v := lookup(r, rot.Secret); v != Valid {
		t.Fatalf("the new secret: %v", v)
	}
	// Without a grace period the old secret stops at once; ended graces are dropped.
	again, err := r.RotateKey(context.Background(), "svc", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, v := lookup(r, rot.Secret); v != Unknown || len(again.Retired) != 0 {
		t.Fatalf("rotation without grace: %v, retired %+v", v, again.Retired)
	}
	if _, v := lookup(r, again.Secret); v != Valid {
		t.Fatalf("newest secret: %v", v)
	}
	for _, body := range []string{`{"grace":"-1s"}`, `{"grace":"721h"}`, `{"grace":3600}`, `{"grace":"1h","extra":1}`} {
		if _, err := r.RotateKey(context.Background(), "svc", []byte(body), ""); apiError(t, err).Status != 400 {
			t.Fatalf("%s accepted", body)
		}
	}
}

func TestBadInputIsNamed(t *testing.T) {
	c := newClock()
	cfg := &config.Config{Keys: []config.Key{{Name: "file-key", Key: "sk-file", Team: "search"}},
		Teams: []config.Team{{Name: "file-team"}}}
	r := newRing(t, openEmbedded(t), c, cfg)
	mustCreate(t, r, `{"name":"taken"}`)
	cases := []struct {
		body   string
		status int
		code   string
		param  string
	}{
		{`{"name":"a","colour":"red"}`, 400, "unknown_field", "colour"},
		{`{"name":"a","limits":{"rpm":1,"rpd":2}}`, 400, "unknown_field", "limits.rpd"},
		{`{"name":"a","budget":{"usd":10,"periodd":"daily"}}`, 400, "unknown_field", "budget.periodd"},
		{`{"name":"a","budget":{"usd":-5}}`, 400, "invalid_value", "budget.usd"},
		{`{"name":"a","budget":{"usd":"ten"}}`, 400, "invalid_value", "budget.usd"},
		{`{"name":"a","budget":{"period":"daily"}}`, 400, "invalid_value", "budget.usd"},
		{`{"name":"a","budget":{"usd":10,"period":"yearly"}}`, 400, "invalid_value", "budget.period"},
		{`{"name":"a","budget":{"usd":10,"soft":1.5}}`, 400, "invalid_value", "budget.soft"},
		{`{"name":"a","budget":[10]}`, 400, "invalid_value", "budget"},
		{`{"name":"a","limits":{"rpm":1.5}}`, 400, "invalid_value", "limits.rpm"},
		{`{"name":"a","limits":{"tpm":-1}}`, 400, "invalid_value", "limits.tpm"},
		{`{"name":"a","models":["gpt-[4"]}`, 400, "invalid_value", "models[0]"},
		{`{"name":"a","models":"gpt-4o"}`, 400, "invalid_value", "models"},
		{`{"name":"a","expires_at":"tomorrow"}`, 400, "invalid_value", "expires_at"},
		{`{"name":"a","expires_at":"2031-03-04T09:00:00Z"}`, 400, "invalid_value", "expires_at"},
		{`{"name":"a","metadata":["x"]}`, 400, "invalid_value", "metadata"},
		{`{"name":"a","metadata":{"k":"` + strings.Repeat("x", 9000) + `"}}`, 400, "invalid_value", "metadata"},
		{`{"name":"a","team":"nobody"}`, 400, "team_not_found", "team"},
		{`{"name":"a","version":3}`, 400, "unknown_field", "version"},
		{`{"name":"a","name":"b"}`, 400, "invalid_value", "name"},
		{`{"name":"a"} {"name":"b"}`, 400, "invalid_value", ""},
		{`{"name":"a"`, 400, "invalid_value", ""},
		{`["a"]`, 400, "invalid_value", ""},
		{``, 400, "invalid_value", ""},
		{`{}`, 400, "invalid_value", "name"},
		{`{"name":""}`, 400, "invalid_value", "name"},
		{`{"name":"../etc"}`, 400, "invalid_value", "name"},
		{`{"name":"` + strings.Repeat("a", 65) + `"}`, 400, "invalid_value", "name"},
		{`{"name":"taken"}`, 409, "key_exists", "name"},
		{`{"name":"file-key"}`, 409, "defined_in_config", "name"},
	}
	for _, tc := range cases {
		_, err := r.CreateKey(context.Background(), []byte(tc.body))
		e := apiError(t, err)
		if e.Status != tc.status || e.Code != tc.code || e.Param != tc.param {
			t.Errorf("%.80s: %d %s %q (%s), want %d %s %q", tc.body, e.Status, e.Code, e.Param, e.Message, tc.status, tc.code, tc.param)
		}
		if tc.status == 400 && tc.param != "" && !strings.Contains(e.Message, tc.param) {
			t.Errorf("%.80s: message %q does not name %s", tc.body, e.Message, tc.param)
		}
	}
	// The file's key and team are read-only, and the refusal names the file.
	_, err := r.UpdateKey(context.Background(), "file-key", []byte(`{"models":["x"]}`), "")
	for _, err := range []error{err, r.RevokeKey(context.Background(), "file-key", ""),
		r.DeleteTeam(context.Background(), "file-team", "")} {
		if e := apiError(t, err); e.Status != 409 || !strings.Contains(e.Message, "/etc/switchyard/config.yaml") {
			t.Errorf("file object changed: %+v", e)
		}
	}
	_, err = r.RotateKey(context.Background(), "file-key", nil, "")
	if e := apiError(t, err); e.Status != 409 || e.Code != "defined_in_config" {
		t.Errorf("file key rotated: %+v", e)
	}
	_, err = r.UpdateKey(context.Background(), "taken", []byte(`{"name":"other"}`), "")
	if e := apiError(t, err); e.Status != 400 || e.Param != "name" {
		t.Errorf("rename: %+v", e)
	}
	_, err = r.UpdateKey(context.Background(), "nobody", []byte(`{"team":null}`), "")
	if e := apiError(t, err); e.Status != 404 || e.Code != "key_not_found" {
		t.Errorf("update of an unknown key: %+v", e)
	}
	// Teams: known ones are the file's, the runtime's, and those a file key names.
	for _, team := range []string{"file-team", "search"} {
		if _, err := r.CreateKey(context.Background(), []byte(`{"name":"in-`+team+`","team":"`+team+`"}`)); err != nil {
			t.Errorf("team %s: %v", team, err)
		}
	}
	for body, want := range map[string]string{`{"name":"file-team"}`: "defined_in_config", `{"name":"t","budget":{"usd":0}}`: "invalid_value",
		`{"name":"t","limits":{"rpm":1},"keys":[]}`: "unknown_field"} {
		_, err := r.CreateTeam(context.Background(), []byte(body))
		if e := apiError(t, err); e.Code != want {
			t.Errorf("team %s: %+v, want %s", body, e, want)
		}
	}
}

// Without a version the last writer wins, field by field: two concurrent updates of
// different fields both land. With one, a stale write is refused.
func TestConcurrentUpdates(t *testing.T) {
	c := newClock()
	r := newRing(t, openEmbedded(t), c, nil)
	k := mustCreate(t, r, `{"name":"shared"}`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			body := `{"limits":{"rpm":100}}`
			if i%2 == 1 {
				body = `{"models":["gpt-4o"]}`
			}
			if _, err := r.UpdateKey(context.Background(), "shared", []byte(body), ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := mustKey(t, r, "shared")
	if got.Limits == nil || got.Limits.RPM != 100 || len(got.Models) != 1 || got.Version != k.Version+8 {
		t.Fatalf("after 8 concurrent updates: %s", toJSON(got))
	}
	_, err := r.UpdateKey(context.Background(), "shared", []byte(`{"models":null,"version":`+itoa(k.Version)+`}`), "")
	if e := apiError(t, err); e.Status != 409 || e.Code != "version_conflict" || !strings.Contains(e.Message, itoa(got.Version)) {
		t.Fatalf("stale version: %+v", e)
	}
	if _, err := r.UpdateKey(context.Background(), "shared", []byte(`{"models":null}`), `"`+itoa(got.Version)+`"`); err != nil {
		t.Fatalf("current If-Match: %v", err)
	}
	_, err = r.UpdateKey(context.Background(), "shared", []byte(`{"version":2}`), `"3"`)
	if e := apiError(t, err); e.Status != 400 {
		t.Fatalf("disagreeing versions: %+v", e)
	}
	if e := apiError(t, r.RevokeKey(context.Background(), "shared", `"1"`)); e.Code != "version_conflict" {
		t.Fatalf("stale revoke: %+v", e)
	}
}

func itoa(n int64) string { return strings.TrimSpace(toJSON(n)) }

func TestTeamsReachTheirKeys(t *testing.T) {
	c := newClock()
	cfg := &config.Config{
		Keys:  []config.Key{{Name: "file-app", Key: "sk-file-app", Team: "platform"}, {Name: "legacy", Key: "sk-legacy", Team: "ops"}},
		Teams: []config.Team{{Name: "ops", Budget: &config.Budget{USD: 5, Period: "total", Soft: 0.8}}},
	}
	r := newRing(t, openEmbedded(t), c, cfg)
	ctx := context.Background()
	if _, err := r.CreateTeam(ctx, []byte(`{"name":"platform","budget":{"usd":100},"limits":{"tpm":5000}}`)); err != nil {
		t.Fatal(err)
	}
	k := mustCreate(t, r, `{"name":"svc","team":"platform","limits":{"rpm":10}}`)
	id, _ := lookup(r, k.Secret)
	if id.TeamBudget == nil || id.TeamBudget.USD != 100 || len(id.RateScopes) != 2 || id.RateScopes[1].Kind != "team" ||
		id.RateScopes[1].Limits.TPM != 5000 || !id.CountsTokens() {
		t.Fatalf("runtime key of a runtime team: %+v", id)
	}
	// A file key whose team is a runtime team gets the team's budget too.
	if id, _ := lookup(r, "sk-file-app"); id.TeamBudget == nil || id.TeamBudget.USD != 100 || id.Source != SourceConfig {
		t.Fatalf("file key of a runtime team: %+v", id)
	}
	// A team's change reaches the identities at once, and deletion is refused while
	// keys belong to it.
	if _, err := r.UpdateTeam(ctx, "platform", []byte(`{"budget":{"usd":50}}`), ""); err != nil {
		t.Fatal(err)
	}
	if id, _ := lookup(r, k.Secret); id.TeamBudget.USD != 50 || id.RateScopes[1].Limits.TPM != 5000 {
		t.Fatalf("after the team's update: %+v", id)
	}
	if e := apiError(t, r.DeleteTeam(ctx, "platform", "")); e.Code != "team_in_use" || !strings.Contains(e.Message, "svc") {
		t.Fatalf("delete of a team in use: %+v", e)
	}
	if _, err := r.UpdateKey(ctx, "svc", []byte(`{"team":null}`), ""); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteTeam(ctx, "platform", ""); err != nil {
		t.Fatal(err)
	}
	if id, _ := lookup(r, "sk-file-app"); id.TeamBudget != nil {
		t.Fatalf("deleted team still applies: %+v", id)
	}
	teams, _ := r.Teams(ctx)
	if len(teams) != 1 || teams[0].Name != "ops" || teams[0].Source != SourceConfig || teams[0].Budget.USD != 5 {
		t.Fatalf("teams %s", toJSON(teams))
	}
}

// A reload that gives the file a runtime key's name shadows the runtime key: the
// file wins, the runtime key is not served and shows as shadowed.
func TestFileNamesShadowRuntimeOnes(t *testing.T) {
	c := newClock()
	r := newRing(t, openEmbedded(t), c, nil)
	k := mustCreate(t, r, `{"name":"dup"}`)
	r.SetConfig(&config.Config{Keys: []config.Key{{Name: "dup", Key: "sk-file-dup"}}}, "/etc/sy.yaml")
	if _, v := lookup(r, k.Secret); v != Unknown {
		t.Fatalf("shadowed runtime key: %v", v)
	}
	if id, v := lookup(r, "sk-file-dup"); v != Valid || id.Source != SourceConfig {
		t.Fatalf("file key: %v", v)
	}
	ks := mustKeys(t, r)
	if len(ks) != 2 || ks[0].Source != SourceConfig || ks[1].Status != StatusShadowed {
		t.Fatalf("keys %s", toJSON(ks))
	}
	r.SetConfig(&config.Config{}, "/etc/sy.yaml")
	if _, v := lookup(r, k.Secret); v != Valid {
		t.Fatalf("unshadowed: %v", v)
	}
	// A shadowed runtime key can still be revoked; then the name is the file's alone.
	r.SetConfig(&config.Config{Keys: []config.Key{{Name: "dup", Key: "sk-file-dup"}}}, "/etc/sy.yaml")
	if err := r.RevokeKey(context.Background(), "dup", ""); err != nil {
		t.Fatalf("revoking a shadowed key: %v", err)
	}
	if e := apiError(t, r.RevokeKey(context.Background(), "dup", "")); e.Code != "defined_in_config" {
		t.Fatalf("revoking the file's key: %+v", e)
	}
	if ks := mustKeys(t, r); len(ks) != 1 || ks[0].Source != SourceConfig {
		t.Fatalf("keys %s", toJSON(ks))
	}
}

// A replica that has not heard from the store for MaxStale refuses its runtime keys
// (Unsynced), since it cannot know of a revocation; the file's keys go on.
func TestStaleReplicaReportsUnsynced(t *testing.T) {
	c := newClock()
	store := &flakyStore{Store: openEmbedded(t)}
	r := New(Options{Store: store, Now: c.Now, Poll: 5 * time.Millisecond, MaxStale: 2 * time.Second})
	r.SetConfig(&config.Config{Keys: []config.Key{{Name: "f", Key: "sk-f"}}}, "")
	k := mustCreate(t, r, `{"name":"rt"}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, v := lookup(r, k.Secret); v != Valid {
		t.Fatalf("fresh runtime key: %v", v)
	}
	store.down.Store(true)
	c.Advance(2*time.Second + time.Nanosecond)
	waitFor(t, func() bool { _, v := lookup(r, k.Secret); return v == Unsynced })
	if id, _ := lookup(r, k.Secret); id == nil || id.Name != "rt" {
		t.Fatalf("a stale key keeps its identity (for fail_open): %+v", id)
	}
	if _, v := lookup(r, "sk-f"); v != Valid {
		t.Fatalf("file key while the store is down: %v", v)
	}
	if _, v := lookup(r, "sk-unknown"); v != Unsynced {
		t.Fatalf("unknown token while the store is down: %v", v)
	}
	store.down.Store(false)
	waitFor(t, func() bool { _, v := lookup(r, k.Secret); return v == Valid })
}

// waitFor polls cond with a generous deadline (never a bound on how fast).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
