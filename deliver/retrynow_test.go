package deliver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"podserver/store"
)

// retryNow runs q.RetryNow in a transaction of its own.
func retryNow(st store.Store, q *Queue, seq uint64) (Record, error) {
	var r Record
	err := st.Update(context.Background(), func(tx store.Txn) error {
		var err error
		r, err = q.RetryNow(tx, "p", seq)
		return err
	})
	return r, err
}

// waitOutbox waits until pod p's record seq satisfies ok.
func waitOutbox(t *testing.T, st store.Store, seq uint64, what string, ok func(Record) bool) Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := outboxRecord(t, st, seq)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: record is %+v", what, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A failed delivery waits an hour for its next attempt; RetryNow makes it
// due at once and the worker attempts it. Only pending records can be
// retried now.
func TestRetryNow(t *testing.T) {
	st := memStore(t)
	var calls atomic.Int64
	q := New(Config{Store: st, Schedule: []time.Duration{time.Hour, time.Hour}})
	q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		if r.Target == "https://gone.example/cb" {
			return Response{Status: 410}, Permanent(errors.New("gone"))
		}
		if calls.Add(1) == 1 {
			return Response{Status: 503}, errors.New("down for now")
		}
		return Response{Status: 204}, nil
	})
	q.Start()
	defer q.Close()
	r := enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://hook.example/cb"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res := q.Wait(ctx, r); res.Status != StatusPending || !res.Tried {
		t.Fatalf("first attempt: %+v", res)
	}
	failed := waitOutbox(t, st, r.Seq, "rescheduled", func(r Record) bool { return r.Attempts == 1 && r.Status == StatusPending })
	if time.Until(failed.Due) < 59*time.Minute {
		t.Fatalf("next attempt due at %v, want in an hour", failed.Due)
	}
	before := time.Now()
	got, err := retryNow(st, q, r.Seq)
	if err != nil || got.Status != StatusPending || got.Attempts != 1 || got.Due.After(time.Now()) || got.LastError != "down for now" {
		t.Fatalf("RetryNow: %+v, %v", got, err)
	}
	done := waitOutbox(t, st, r.Seq, "delivered after RetryNow", func(r Record) bool { return r.Status == StatusDelivered })
	if done.Attempts != 2 || done.LastStatus != 204 || done.Delivered.Before(before) || calls.Load() != 2 {
		t.Errorf("after RetryNow: %+v, %d calls", done, calls.Load())
	}
	if qd := queued(t, st); len(qd) != 0 {
		t.Errorf("left in the queue: %+v", qd)
	}
	if _, err := retryNow(st, q, r.Seq); !errors.Is(err, ErrNotPending) {
		t.Errorf("RetryNow of a delivered record: %v, want ErrNotPending", err)
	}
	if _, err := retryNow(st, q, r.Seq+1000); !errors.Is(err, ErrNoRecord) {
		t.Errorf("RetryNow of no record: %v, want ErrNoRecord", err)
	}

	// A dead letter is not pending: Retry is its way back.
	dead := enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "e2", Target: "https://gone.example/cb"})
	if res := q.Wait(ctx, dead); res.Status != StatusDead {
		t.Fatalf("attempt at gone.example: %+v", res)
	}
	if _, err := retryNow(st, q, dead.Seq); !errors.Is(err, ErrNotPending) {
		t.Errorf("RetryNow of a dead letter: %v, want ErrNotPending", err)
	}
}

// A record another node is attempting (it holds the lease) is not moved:
// RetryNow says so, on either node, and no second attempt is made. Once
// the attempt failed and was rescheduled, RetryNow brings it forward.
func TestRetryNowLeased(t *testing.T) {
	st := memStore(t)
	var aCalls, bCalls atomic.Int64
	entered, unblock := make(chan struct{}, 1), make(chan struct{})
	sched := []time.Duration{time.Hour, time.Hour}
	a := New(Config{Store: st, Node: "a", Schedule: sched})
	a.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		if aCalls.Add(1) == 1 {
			entered <- struct{}{}
			<-unblock
			return Response{Status: 503}, errors.New("down for now")
		}
		return Response{Status: 204}, nil
	})
	// b's clock starts an hour behind, so that the record is not due for
	// b before a leases it.
	var skew atomic.Int64
	skew.Store(int64(-time.Hour))
	b := New(Config{Store: st, Node: "b", Schedule: sched, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	b.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		bCalls.Add(1)
		return Response{Status: 204}, nil
	})
	b.Start()
	defer b.Close()
	a.Start()
	defer a.Close()
	r := enqueue(t, st, a, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://hook.example/cb"})
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("a did not attempt the record it enqueued")
	}
	skew.Store(0)
	for _, q := range []*Queue{a, b} {
		if _, err := retryNow(st, q, r.Seq); !errors.Is(err, ErrAttempting) {
			t.Errorf("RetryNow on %s while a holds the lease: %v, want ErrAttempting", q.Node(), err)
		}
	}
	b.Poke()
	if qd := queued(t, st); len(qd) != 1 || qd[0].hold.Node != "a" {
		t.Fatalf("queue after the refused RetryNow: %+v", qd)
	}
	close(unblock)
	waitOutbox(t, st, r.Seq, "rescheduled", func(r Record) bool { return r.Attempts == 1 && r.Status == StatusPending })
	if _, err := retryNow(st, b, r.Seq); err != nil {
		t.Fatalf("RetryNow after the attempt: %v", err)
	}
	b.Poke()
	done := waitOutbox(t, st, r.Seq, "delivered after RetryNow", func(r Record) bool { return r.Status == StatusDelivered })
	if done.Attempts != 2 || aCalls.Load()+bCalls.Load() != 2 {
		t.Errorf("after RetryNow: %+v; %d attempts on a, %d on b, want 2 in all", done, aCalls.Load(), bCalls.Load())
	}
}

// OutboxPageNewest pages a pod's records newest first, filtered.
func TestOutboxPageNewest(t *testing.T) {
	st := memStore(t)
	q := New(Config{Store: st})
	var seqs []uint64
	for i := range 5 {
		target := "https://a.example/cb"
		if i%2 == 1 {
			target = "https://b.example/cb"
		}
		seqs = append(seqs, enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: target, Due: time.Now().Add(time.Hour)}).Seq)
	}
	enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "other", EventID: "e", Target: "https://a.example/cb"})
	onA := func(r Record) bool { return r.Target == "https://a.example/cb" }
	var page []Record
	var next uint64
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		page, next, err = OutboxPageNewest(rd, "p", 0, 2, onA)
		return err
	})
	if err != nil || len(page) != 2 || page[0].Seq != seqs[4] || page[1].Seq != seqs[2] || next != seqs[0] {
		t.Fatalf("first page: %+v next %d, %v (seqs %v)", page, next, err, seqs)
	}
	err = st.View(context.Background(), func(rd store.Reader) error {
		var err error
		page, next, err = OutboxPageNewest(rd, "p", next, 2, onA)
		return err
	})
	if err != nil || len(page) != 1 || page[0].Seq != seqs[0] || next != 0 {
		t.Fatalf("second page: %+v next %d, %v", page, next, err)
	}
}
