package deliver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"podserver/store"
)

func enqueue(t *testing.T, st store.Store, q *Queue, r Record) Record {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Txn) error {
		var err error
		r, err = q.Enqueue(tx, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestQueueDeliversWhenDue(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	var got []string
	q := New(Config{Store: st})
	q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error {
		mu.Lock()
		got = append(got, r.EventID)
		mu.Unlock()
		return tx.Set([]byte("r/copy/"+r.EventID), []byte("x"))
	})
	q.Start()
	defer q.Close()
	now := time.Now()
	late := enqueue(t, st, q, Record{Kind: KindInbox, Pod: "p", EventID: "late", Target: "/a/inbox/", Due: now.Add(300 * time.Millisecond)})
	soon := enqueue(t, st, q, Record{Kind: KindInbox, Pod: "p", EventID: "soon", Target: "/a/inbox/", Due: now})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res := q.Wait(ctx, soon); res.Status != StatusDelivered {
		t.Fatalf("soon: %+v", res)
	}
	if res := q.Wait(ctx, late); res.Status != StatusDelivered || time.Since(now) < 300*time.Millisecond {
		t.Fatalf("late: %+v after %v", res, time.Since(now))
	}
	// Waiting again after the fact still reports it.
	if res := q.Wait(ctx, late); res.Status != StatusDelivered {
		t.Fatalf("late again: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "soon" || got[1] != "late" {
		t.Fatalf("delivered %v", got)
	}
	var left []Record
	_ = st.View(context.Background(), func(rd store.Reader) error {
		left, err = Outbox(rd, "p")
		return err
	})
	if len(left) != 0 {
		t.Fatalf("outbox keeps delivered records: %+v", left)
	}
}

func TestQueueRetriesAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	q := New(Config{Store: st})
	q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error {
		return errors.New("inbox full")
	})
	q.Start()
	r := enqueue(t, st, q, Record{Kind: KindInbox, Pod: "p", EventID: "e", Target: "/a/inbox/"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := q.Wait(ctx, r)
	if res.Status != StatusPending || res.Error != "inbox full" || !res.Tried {
		t.Fatalf("failed attempt: %+v", res)
	}
	var out []Record
	_ = st.View(context.Background(), func(rd store.Reader) error {
		out, err = Outbox(rd, "p")
		return err
	})
	if len(out) != 1 || out[0].Attempts != 1 || out[0].LastError != "inbox full" || out[0].Due.Sub(out[0].Created) < DefaultSchedule()[0]-time.Second {
		t.Fatalf("outbox after a failure: %+v", out)
	}
	q.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart the record is still pending; make it due now and a
	// working handler delivers it.
	st, err = store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	delivered := make(chan string, 1)
	q = New(Config{Store: st, Now: func() time.Time { return time.Now().Add(time.Minute) }})
	q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error {
		delivered <- r.EventID
		return nil
	})
	q.Start()
	defer q.Close()
	select {
	case id := <-delivered:
		if id != "e" {
			t.Fatal(id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending record not delivered after restart")
	}
}

func TestQueueDeadAfterSchedule(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A clock far ahead makes every retry due at once.
	var mu sync.Mutex
	clock := time.Now()
	q := New(Config{Store: st, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(11 * time.Hour)
		return clock
	}})
	q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error { return errors.New("no") })
	q.Start()
	defer q.Close()
	enqueue(t, st, q, Record{Kind: KindInbox, Pod: "p", EventID: "e", Target: "/a/inbox/", Due: time.Unix(0, 0)})
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []Record
		_ = st.View(context.Background(), func(rd store.Reader) error {
			out, err = Outbox(rd, "p")
			return err
		})
		if len(out) == 1 && out[0].Status == StatusDead {
			if out[0].Attempts != len(DefaultSchedule())+1 {
				t.Fatalf("dead after %d attempts", out[0].Attempts)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not dead: %+v", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQueueRemote(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := New(Config{Store: st})
	q.HandleRemote("webhook", func(ctx context.Context, r Record) error {
		switch r.EventID {
		case "ok":
			return nil
		case "later":
			return &RetryError{After: time.Hour, Err: errors.New("429")}
		}
		return Permanent(errors.New("410 Gone"))
	})
	q.Start()
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	for _, c := range []struct {
		id, status string
	}{{"ok", StatusDelivered}, {"later", StatusPending}, {"gone", StatusDead}} {
		r := enqueue(t, st, q, Record{Kind: "webhook", Pod: "p", EventID: c.id, Target: "https://hooks.example/cb"})
		if res := q.Wait(ctx, r); res.Status != c.status {
			t.Errorf("%s: %+v", c.id, res)
		}
	}
	var out []Record
	_ = st.View(context.Background(), func(rd store.Reader) error {
		out, err = Outbox(rd, "p")
		return err
	})
	if len(out) != 2 || out[0].EventID != "later" || out[0].Due.Before(start.Add(time.Hour)) || out[1].Status != StatusDead || out[1].LastError != "410 Gone" {
		t.Fatalf("outbox: %+v", out)
	}
}
