package deliver

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"podserver/store"
)

// fullStore fails every Update with store.ErrNoSpace while full is set,
// and counts the Updates it is asked for.
type fullStore struct {
	store.Store
	full    atomic.Bool
	updates atomic.Int64
}

func (s *fullStore) Update(ctx context.Context, fn func(store.Txn) error) error {
	s.updates.Add(1)
	if s.full.Load() {
		return store.ErrNoSpace
	}
	return s.Store.Update(ctx, fn)
}

// TestQueuePausesWhileStoreFull checks that a queue whose store refuses
// writes backs off instead of attempting the same record in a loop, and
// delivers once the store accepts writes again. It drives attempt and
// runDue itself, without the worker, so nothing depends on timing.
func TestQueuePausesWhileStoreFull(t *testing.T) {
	mem, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	st := &fullStore{Store: mem}
	q := New(Config{Store: st})
	q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error {
		return tx.Set([]byte("r/copy/"+r.EventID), []byte("x"))
	})
	r := enqueue(t, st, q, Record{Kind: KindInbox, Pod: "p", EventID: "e1", Target: "/a/inbox/"})

	st.full.Store(true)
	before := st.updates.Load()
	if requeue := q.attempt(r); requeue == nil {
		t.Fatal("attempt on a full store: the record left the queue")
	}
	if got := st.updates.Load() - before; got != 1 {
		t.Fatalf("attempt made %d updates, want 1", got)
	}
	until, paused := q.paused()
	if !paused || q.pauseFor != minStorePause {
		t.Fatalf("after a refused write: paused %v for %v, want %v", paused, q.pauseFor, minStorePause)
	}

	// While paused nothing is claimed or written.
	if next := q.runDue(); !next.Equal(until) {
		t.Errorf("runDue while paused = %v, want the pause's end %v", next, until)
	}
	if n := len(q.claimed); n != 0 {
		t.Errorf("runDue while paused claimed %d records", n)
	}
	before = st.updates.Load()
	if requeue := q.attempt(r); requeue == nil {
		t.Error("attempt while paused: the record left the queue")
	}
	if got := st.updates.Load() - before; got != 0 {
		t.Errorf("attempt while paused made %d updates, want 0", got)
	}

	// Another failure after the pause doubles it.
	q.pauseUntil = time.Time{}
	q.attempt(r)
	if q.pauseFor != 2*minStorePause {
		t.Errorf("second pause %v, want %v", q.pauseFor, 2*minStorePause)
	}

	// Space is back: the record is delivered and the backoff resets.
	st.full.Store(false)
	q.pauseUntil = time.Time{}
	if requeue := q.attempt(r); requeue != nil {
		t.Fatal("attempt after recovery left the record queued")
	}
	if q.pauseFor != 0 {
		t.Errorf("backoff after a recorded attempt = %v, want 0", q.pauseFor)
	}
	err = mem.View(context.Background(), func(rd store.Reader) error {
		_, err := rd.Get([]byte("r/copy/e1"))
		return err
	})
	if err != nil {
		t.Errorf("the copy was not written: %v", err)
	}
}

// TestStorePauseBounded checks the backoff's bound.
func TestStorePauseBounded(t *testing.T) {
	q := New(Config{})
	for range 20 {
		q.storeFailed()
	}
	if q.pauseFor != maxStorePause {
		t.Errorf("pause after 20 failures = %v, want %v", q.pauseFor, maxStorePause)
	}
}
