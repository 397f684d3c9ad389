package responses

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/state"
)

var (
	alice = Owner{Key: "alice", Team: "search"}
	bob   = Owner{Key: "bob", Team: "search"}
	eve   = Owner{Key: "eve", Team: "ads"}
)

func newStore(t testing.TB, st state.Store, opts Options) *Store {
	t.Helper()
	s, err := NewStore(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func continueBody(prev, input string) string {
	return fmt.Sprintf(`{"model":"m","previous_response_id":%q,"input":%q}`, prev, input)
}

// A three-turn conversation: each turn is stored once, and the next turn's chat
// request holds every earlier input and output in order.
func TestStoreChainsTurns(t *testing.T) {
	s := newStore(t, openState(t), Options{})
	r1 := turn(t, s, alice, `{"model":"m","instructions":"first","input":"one"}`, textReply("1"))
	r2 := turn(t, s, alice, continueBody(r1.ID, "two"), textReply("2"))
	tr, err := s.Begin(context.Background(), mustDecode(t, continueBody(r2.ID, "three")), alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Chain) != 2 || tr.Chain[0].Response.ID != r1.ID || tr.Chain[1].Response.ID != r2.ID {
		t.Fatalf("chain %v", tr.Chain)
	}
	if *tr.Response.PreviousResponseID != r2.ID || !strings.HasPrefix(tr.Response.ID, "resp_") || len(tr.Response.ID) != 53 {
		t.Fatalf("response %+v", tr.Response)
	}
	chat, err := tr.Chat(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range chat.Messages {
		got = append(got, m.Role+":"+m.Content.AllText())
	}
	if strings.Join(got, " ") != "user:one assistant:1 user:two assistant:2 user:three" {
		t.Fatalf("messages %v", got)
	}
	rec, err := s.Get(context.Background(), r2.ID, alice)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Root != r1.ID || rec.ChainItems != 4 || rec.Response.OutputText() != "2" || rec.Input[0].ID == "" {
		t.Fatalf("stored %+v", rec)
	}
}

// Another key never learns that a response exists: every access is "not found".
func TestStoreIsolatesOwners(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openState(t), Options{})
	r := turn(t, s, alice, `{"model":"m","input":"secret"}`, textReply("ok"))

	for _, who := range []Owner{bob, eve, {}} {
		if _, err := s.Get(ctx, r.ID, who); !isNotFound(err, 404) {
			t.Fatalf("%v Get: %v", who, err)
		}
		_, err := s.Begin(ctx, mustDecode(t, continueBody(r.ID, "x")), who)
		if e := providers.AsError(err); e == nil || e.Status != 400 || e.Code != "previous_response_not_found" ||
			e.Param != "previous_response_id" || !strings.Contains(e.Message, r.ID) {
			t.Fatalf("%v Begin: %v", who, err)
		}
		if err := s.Delete(ctx, r.ID, who); !isNotFound(err, 404) {
			t.Fatalf("%v Delete: %v", who, err)
		}
		if _, err := s.InputItems(ctx, r.ID, who, ListParams{}); !isNotFound(err, 404) {
			t.Fatalf("%v InputItems: %v", who, err)
		}
	}
	if _, err := s.Get(ctx, r.ID, alice); err != nil {
		t.Fatalf("the owner still reads it: %v", err)
	}

	shared := newStore(t, s.st, Options{ShareTeam: true})
	if _, err := shared.Get(ctx, r.ID, bob); err != nil {
		t.Fatalf("team sharing: %v", err)
	}
	if _, err := shared.Get(ctx, r.ID, eve); !isNotFound(err, 404) {
		t.Fatalf("other team: %v", err)
	}
	if _, err := s.Get(ctx, "resp_../../etc", alice); !isNotFound(err, 404) {
		t.Fatalf("malformed id: %v", err)
	}
}

func isNotFound(err error, status int) bool {
	e := providers.AsError(err)
	return errors.Is(err, ErrNotFound) && e != nil && e.Status == status
}

// Deleting a turn breaks the conversations that continue it, on every replica,
// including one whose cache holds the deleted turn.
func TestStoreDeleteBreaksChainsOnEveryReplica(t *testing.T) {
	ctx := context.Background()
	st := openState(t)
	a, b := newStore(t, st, Options{}), newStore(t, st, Options{})
	r1 := turn(t, a, alice, `{"model":"m","input":"one"}`, textReply("1"))
	r2 := turn(t, a, alice, continueBody(r1.ID, "two"), textReply("2"))
	r3 := turn(t, a, alice, continueBody(r2.ID, "three"), textReply("3"))
	// Replica b has the whole conversation cached.
	if _, err := b.Begin(ctx, mustDecode(t, continueBody(r3.ID, "four")), alice); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.cache.Get(r1.ID); !ok {
		t.Fatal("replica b should have cached the first turn")
	}

	if err := a.Delete(ctx, r1.ID, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, r1.ID, alice); !isNotFound(err, 404) {
		t.Fatalf("deleted response still readable: %v", err)
	}
	for name, s := range map[string]*Store{"same replica": a, "other replica": b} {
		_, err := s.Begin(ctx, mustDecode(t, continueBody(r3.ID, "four")), alice)
		if e := providers.AsError(err); e == nil || e.Code != "previous_response_not_found" || !strings.Contains(e.Message, r1.ID) {
			t.Fatalf("%s: continuing past the deleted turn: %v", name, err)
		}
		_, err = s.Begin(ctx, mustDecode(t, continueBody(r1.ID, "again")), alice)
		if e := providers.AsError(err); e == nil || e.Code != "previous_response_not_found" {
			t.Fatalf("%s: continuing the deleted turn: %v", name, err)
		}
		if _, err := s.InputItems(ctx, r2.ID, alice, ListParams{}); !isNotFound(err, 404) || !strings.Contains(err.Error(), r1.ID) {
			t.Fatalf("%s: listing past the deleted turn: %v", name, err)
		}
	}
	if err := a.Delete(ctx, r1.ID, alice); !isNotFound(err, 404) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestStoreRetentionExpires(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, openState(t), Options{Retention: time.Hour, Now: clk.Now})
	r := turn(t, s, alice, `{"model":"m","input":"short-lived"}`, textReply("ok"))
	clk.Advance(time.Hour - time.Second)
	if _, err := s.Get(ctx, r.ID, alice); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := s.Get(ctx, r.ID, alice); !isNotFound(err, 404) {
		t.Fatalf("after retention: %v", err)
	}
	_, err := s.Begin(ctx, mustDecode(t, continueBody(r.ID, "x")), alice)
	if e := providers.AsError(err); e == nil || e.Code != "previous_response_not_found" {
		t.Fatalf("continuing an expired response: %v", err)
	}
}

// The cache never serves a turn past its retention, even while the state store (on
// its own clock) still holds it.
func TestStoreCacheHonoursRetention(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, openState(t), Options{Retention: time.Hour, Now: clk.Now})
	r1 := turn(t, s, alice, `{"model":"m","input":"one"}`, textReply("1"))
	clk.Advance(40 * time.Minute)
	r2 := turn(t, s, alice, continueBody(r1.ID, "two"), textReply("2"))
	if _, err := s.Begin(ctx, mustDecode(t, continueBody(r2.ID, "three")), alice); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute) // r1 is 70 minutes old, r2 30
	_, err := s.Begin(ctx, mustDecode(t, continueBody(r2.ID, "three")), alice)
	if e := providers.AsError(err); e == nil || e.Code != "previous_response_not_found" || !strings.Contains(e.Message, r1.ID) {
		t.Fatalf("expired first turn served: %v", err)
	}
	if _, err := s.Get(ctx, r1.ID, alice); !isNotFound(err, 404) {
		t.Fatalf("expired head served: %v", err)
	}
}

func TestStoreSizeLimit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openState(t), Options{MaxChainItems: 5})
	r1 := turn(t, s, alice, `{"model":"m","input":"one"}`, textReply("1"))
	r2 := turn(t, s, alice, continueBody(r1.ID, "two"), textReply("2"))
	// 4 items so far: one more fits, two do not.
	if _, err := s.Begin(ctx, mustDecode(t, continueBody(r2.ID, "three")), alice); err != nil {
		t.Fatal(err)
	}
	_, err := s.Begin(ctx, mustDecode(t, fmt.Sprintf(
		`{"model":"m","previous_response_id":%q,"input":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, r2.ID)), alice)
	e := providers.AsError(err)
	if e == nil || e.Status != 400 || e.Code != "conversation_too_large" || !strings.Contains(e.Message, "at most 5 items") {
		t.Fatalf("over the item limit: %v", err)
	}

	small := newStore(t, openState(t), Options{MaxChainBytes: 2000})
	big := strings.Repeat("x", 1500)
	r := turn(t, small, alice, fmt.Sprintf(`{"model":"m","input":%q}`, big), textReply("ok"))
	if _, err := small.Begin(ctx, mustDecode(t, continueBody(r.ID, big)), alice); providers.AsError(err) == nil ||
		providers.AsError(err).Code != "conversation_too_large" {
		t.Fatalf("over the byte limit: %v", err)
	}
}

// A long conversation is not re-read on every turn: the head and the generation
// token are, the earlier turns come from the cache.
func TestStoreCacheSavesReads(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		cache int
		reads int64
	}{
		{"cached", 0, 2},
		{"no cache", -1, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &countingStore{Store: openState(t)}
			s := newStore(t, st, Options{CacheSize: tc.cache})
			prev := turn(t, s, alice, `{"model":"m","input":"0"}`, textReply("0"))
			for i := 1; i < 10; i++ {
				prev = turn(t, s, alice, continueBody(prev.ID, fmt.Sprint(i)), textReply(fmt.Sprint(i)))
			}
			st.gets.Store(0)
			tr, err := s.Begin(ctx, mustDecode(t, continueBody(prev.ID, "10")), alice)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Chain) != 10 || st.gets.Load() != tc.reads {
				t.Fatalf("chain of %d turns took %d reads, want %d", len(tr.Chain), st.gets.Load(), tc.reads)
			}
		})
	}
}

func TestStoreFalseIsNotKept(t *testing.T) {
	s := newStore(t, openState(t), Options{})
	r := turn(t, s, alice, `{"model":"m","input":"x","store":false}`, textReply("ok"))
	if r.Store {
		t.Fatal("store: false must be echoed")
	}
	if _, err := s.Get(context.Background(), r.ID, alice); !isNotFound(err, 404) {
		t.Fatalf("store:false response was kept: %v", err)
	}
}

func TestStoreUnavailableIsReported(t *testing.T) {
	s := newStore(t, failingStore{openState(t)}, Options{})
	_, err := s.Begin(context.Background(), mustDecode(t, continueBody("resp_abc", "x")), alice)
	if !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("err = %v, want state.ErrUnavailable", err)
	}
}

func TestInputItemsPages(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openState(t), Options{})
	r1 := turn(t, s, alice, `{"model":"m","input":"one"}`,
		reply("", providers.FinishToolCalls, call("call_1", "f", "{}")))
	r2 := turn(t, s, alice, fmt.Sprintf(`{"model":"m","previous_response_id":%q,"input":[
		{"type":"function_call_output","call_id":"call_1","output":"done"},
		{"role":"user","content":"two"}]}`, r1.ID), textReply("2"))

	all, err := s.InputItems(ctx, r2.ID, alice, ListParams{Limit: 100, Order: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range all.Data {
		kinds = append(kinds, it.Type)
	}
	// The first turn's input and output, then the second turn's own input; not its output.
	if strings.Join(kinds, ",") != "message,function_call,function_call_output,message" || all.HasMore {
		t.Fatalf("items %v", kinds)
	}
	if !strings.HasPrefix(all.Data[2].ID, "fco_") || all.Data[1].ID != r1.Output[0].ID {
		t.Fatalf("ids %s %s", all.Data[1].ID, all.Data[2].ID)
	}

	p1, err := s.InputItems(ctx, r2.ID, alice, ListParams{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !p1.HasMore || len(p1.Data) != 3 || p1.Data[0].ID != all.Data[3].ID || *p1.LastID != all.Data[1].ID {
		t.Fatalf("first desc page %+v", p1)
	}
	p2, err := s.InputItems(ctx, r2.ID, alice, ListParams{Limit: 3, After: *p1.LastID})
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasMore || len(p2.Data) != 1 || *p2.FirstID != all.Data[0].ID {
		t.Fatalf("second desc page %+v", p2)
	}
	if _, err := s.InputItems(ctx, r2.ID, alice, ListParams{After: "msg_nope"}); providers.AsError(err).Param != "after" {
		t.Fatalf("unknown cursor: %v", err)
	}
}

func TestCompleteJSON(t *testing.T) {
	s := newStore(t, openState(t), Options{})
	tr, err := s.Begin(context.Background(), mustDecode(t, `{"model":"m","input":"x"}`), alice)
	if err != nil {
		t.Fatal(err)
	}
	final, err := tr.CompleteJSON([]byte(`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`))
	if err != nil || final.OutputText() != "hi" || final.Usage.TotalTokens != 4 || final.ID != tr.Response.ID {
		t.Fatalf("%+v %v", final, err)
	}
	if _, err := tr.CompleteJSON([]byte(`{"choices":`)); providers.AsError(err).Class != providers.ClassDecode {
		t.Fatalf("undecodable upstream body: %v", err)
	}
}
