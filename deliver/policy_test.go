package deliver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"podserver/store"
)

// keysUnder counts the store's keys under prefix.
func keysUnder(t *testing.T, st store.Store, prefix string) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(prefix), nil, false, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type attemptLog struct {
	mu   sync.Mutex
	seen map[string][]string // EventID -> outcomes
	ch   chan struct{}
}

func newAttemptLog() *attemptLog {
	return &attemptLog{seen: map[string][]string{}, ch: make(chan struct{}, 64)}
}

func (l *attemptLog) record(r Record, outcome string, _ time.Duration) {
	l.mu.Lock()
	l.seen[r.EventID] = append(l.seen[r.EventID], outcome)
	l.mu.Unlock()
	l.ch <- struct{}{}
}

// waitFinal waits until every target in want has reached its final outcome.
func (l *attemptLog) waitFinal(t *testing.T, want map[string]string) map[string][]string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		done := true
		for target, final := range want {
			o := l.seen[target]
			if len(o) == 0 || o[len(o)-1] != final {
				done = false
			}
		}
		if done {
			out := map[string][]string{}
			for k, v := range l.seen {
				out[k] = append([]string(nil), v...)
			}
			l.mu.Unlock()
			return out
		}
		l.mu.Unlock()
		select {
		case <-l.ch:
		case <-deadline:
			t.Fatalf("outcomes %v, want final %v", l.seen, want)
		}
	}
}

// A transient kind with a schedule of its own: retried on its schedule
// (not Config's), dropped without a dead letter when it fails for good or
// permanently, removed when delivered, never listed in the outbox, and its
// channel's bound is released as records leave.
func TestPolicyTransientKind(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := newAttemptLog()
	// Config's schedule starts at an hour: a retry on it would not happen
	// within the test.
	q := New(Config{Store: st, Schedule: []time.Duration{time.Hour}, OnAttempt: log.record})
	q.SetPolicy(KindPush, Policy{Schedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}, Transient: true, MaxPerChannel: 2})
	var mu sync.Mutex
	calls := map[string]int{}
	q.HandleRemote(KindPush, func(ctx context.Context, r Record) (Response, error) {
		mu.Lock()
		calls[r.EventID]++
		n := calls[r.EventID]
		mu.Unlock()
		if string(r.Payload) != `{"n":1}` || r.MediaType != "application/ld+json" {
			return Response{}, Permanent(errors.New("payload lost"))
		}
		switch r.Target {
		case "http://ok.test/":
			if n <= 2 {
				return Response{Status: 503}, errors.New("503")
			}
			return Response{Status: 204}, nil
		case "http://gone.test/":
			return Response{Status: 410}, Permanent(errors.New("410"))
		default:
			return Response{}, errors.New("down")
		}
	})
	push := func(ch, id, target string) Record {
		return Record{Kind: KindPush, Pod: "alice", Channel: ch, EventID: id, Target: target,
			Payload: []byte(`{"n":1}`), MediaType: "application/ld+json"}
	}
	if !q.Offer(push("c1", "ok1", "http://ok.test/")) || !q.Offer(push("c1", "ok2", "http://ok.test/")) {
		t.Fatal("offers within the bound refused")
	}
	if q.Offer(push("c1", "ok3", "http://ok.test/")) {
		t.Fatal("a third record of a channel bounded at 2 accepted")
	}
	if !q.Offer(push("c2", "gone", "http://gone.test/")) || !q.Offer(push("c3", "down", "http://down.test/")) {
		t.Fatal("offers of other channels refused")
	}
	if q.Offer(Record{Kind: KindPush, Pod: "alice"}) {
		t.Fatal("a record without a target accepted")
	}
	q.Start()
	defer q.Close()
	got := log.waitFinal(t, map[string]string{"ok1": OutcomeDelivered, "ok2": OutcomeDelivered, "gone": OutcomeDead, "down": OutcomeDead})
	mu.Lock()
	if calls["ok1"] != 3 || calls["ok2"] != 3 {
		t.Errorf("attempts %v: want 3 for ok1 and ok2 (two failures retried on the kind's schedule)", calls)
	}
	if calls["gone"] != 1 {
		t.Errorf("a permanent failure was attempted %d times, want 1", calls["gone"])
	}
	if calls["down"] != 3 { // len(policy schedule) + 1
		t.Errorf("failing record attempted %d times, want 3 (the kind's schedule)", calls["down"])
	}
	mu.Unlock()
	if o := got["down"]; len(o) != 3 || o[0] != OutcomeRetry || o[1] != OutcomeRetry {
		t.Errorf("down outcomes %v", o)
	}
	for _, p := range []string{store.PrefixDelivery, store.PrefixOutbox, store.PrefixDeliveryIndex} {
		if n := keysUnder(t, st, p); n != 0 {
			t.Errorf("%d keys left under %q: transient records are not kept", n, p)
		}
	}
	if pending, dead := q.Depth(); pending != 0 || dead != 0 {
		t.Errorf("depth %d pending, %d dead; want 0, 0 (drops are no dead letters)", pending, dead)
	}
	// Both records of c1 left: its bound is free again.
	for range 2 {
		if !q.Offer(push("c1", "again", "http://ok.test/")) {
			t.Fatal("channel bound not released after its records left")
		}
	}
}

// Records offered before Close are stored by Close, counted in their
// channel after a restart, not listed in the outbox, and delivered by the
// next queue.
func TestOfferDurableAcrossRestart(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pol := Policy{Transient: true, MaxPerChannel: 3, Schedule: []time.Duration{10 * time.Millisecond}}
	rec := func(i int) Record {
		return Record{Kind: KindPush, Pod: "alice", Channel: "c", EventID: "urn:uuid:" + string(rune('a'+i)), Target: "http://hook.test/", Payload: []byte(`{}`)}
	}
	// The first queue has no handler and is never started: only Close can
	// store what was offered.
	q1 := New(Config{Store: st})
	q1.SetPolicy(KindPush, pol)
	for i := range 3 {
		if !q1.Offer(rec(i)) {
			t.Fatalf("offer %d refused", i)
		}
	}
	q1.Close()
	if q1.Offer(rec(3)) {
		t.Error("a closed queue accepted an offer")
	}
	if n := keysUnder(t, st, store.PrefixDelivery); n != 3 {
		t.Fatalf("%d records stored by Close, want 3", n)
	}
	if n := keysUnder(t, st, store.PrefixOutbox); n != 0 {
		t.Fatalf("transient records listed in the outbox (%d keys)", n)
	}

	got := make(chan Record, 8)
	hold := make(chan struct{})
	q2 := New(Config{Store: st})
	q2.SetPolicy(KindPush, pol)
	q2.HandleRemote(KindPush, func(ctx context.Context, r Record) (Response, error) {
		<-hold
		got <- r
		return Response{Status: 200}, nil
	})
	q2.Start()
	defer q2.Close()
	if pending, _ := q2.Depth(); pending != 3 {
		t.Errorf("pending after restart %d, want 3", pending)
	}
	// The channel holds its bound of 3 from the store.
	if q2.Offer(rec(4)) {
		t.Error("the channel's bound was not restored from the store")
	}
	close(hold)
	seen := map[string]bool{}
	for range 3 {
		select {
		case r := <-got:
			seen[r.EventID] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("delivered after restart: %v", seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("delivered %v", seen)
	}
}
