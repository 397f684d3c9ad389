package keyring

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/state"
)

// Two rings on one Redis, as two replicas: a key created on one is found on the
// other at once (its miss polls the store); a revocation on one reaches the other
// through its poll.
func TestReplicasShareKeysThroughRedis(t *testing.T) {
	c := newClock()
	prefix := newPrefix()
	a := newRing(t, openRedis(t, prefix), c, nil)
	b := New(Options{Store: openRedis(t, prefix), Now: c.Now, Poll: 20 * time.Millisecond})
	b.SetConfig(nilConfig(), "")

	k := mustCreate(t, a, `{"name":"shared","models":["gpt-4o"]}`)
	if id, v := lookup(b, k.Secret); v != Valid || id.Name != "shared" || !id.Allows("gpt-4o") {
		t.Fatalf("on the other replica at once: %v", v)
	}
	// b's copy answers hits by itself: until it polls, it still knows the key.
	if err := a.RevokeKey(context.Background(), "shared", ""); err != nil {
		t.Fatal(err)
	}
	if _, v := lookup(a, k.Secret); v != Unknown {
		t.Fatalf("revoked on its own replica: %v", v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	waitFor(t, func() bool { _, v := lookup(b, k.Secret); return v == Unknown })
	t.Logf("revocation reached the other replica after %s (poll every 20ms)", time.Since(start))

	// An update on one (a team's budget here) reaches the other's identities.
	if _, err := a.CreateTeam(context.Background(), []byte(`{"name":"t","budget":{"usd":3}}`)); err != nil {
		t.Fatal(err)
	}
	k2 := mustCreate(t, a, `{"name":"member","team":"t"}`)
	if _, err := a.UpdateTeam(context.Background(), "t", []byte(`{"budget":{"usd":7}}`), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { id, _ := lookup(b, k2.Secret); return id != nil && id.TeamBudget.USD == 7 })
}

// A miss waits for a poll that starts after it: a poll already under way may have
// read the store before the key it is asked about was created.
func TestMissWaitsForAFreshPoll(t *testing.T) {
	c := newClock()
	prefix := newPrefix()
	a := newRing(t, openRedis(t, prefix), c, nil)
	gate := &gatedStore{Store: openRedis(t, prefix), read: make(chan struct{}), release: make(chan struct{})}
	b := New(Options{Store: gate, Now: c.Now})
	b.SetConfig(nilConfig(), "")

	// A first miss starts a poll, which reads the store and then stalls.
	first := make(chan Verdict)
	go func() { _, v := lookup(b, "sk-sy-none"); first <- v }()
	<-gate.read
	// Meanwhile a key is created, and asked about.
	k := mustCreate(t, a, `{"name":"late"}`)
	second := make(chan Verdict)
	go func() { _, v := lookup(b, k.Secret); second <- v }()
	waitFor(t, func() bool { b.fresh.mu.Lock(); defer b.fresh.mu.Unlock(); return b.fresh.next != nil })
	close(gate.release)
	if v := <-first; v != Unknown {
		t.Fatalf("first miss: %v", v)
	}
	if v := <-second; v != Valid {
		t.Fatalf("the late key, asked about after the stalled poll began: %v", v)
	}
}

// gatedStore reports its first table read and holds it until released.
type gatedStore struct {
	state.Store
	once          sync.Once
	read, release chan struct{}
}

func (g *gatedStore) TableChanges(ctx context.Context, table string, since state.Stamp) (state.Changes, error) {
	ch, err := g.Store.TableChanges(ctx, table, since)
	g.once.Do(func() {
		close(g.read)
		<-g.release
	})
	return ch, err
}
