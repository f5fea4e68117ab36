package deliver

import (
	"context"
	"errors"
	"strconv"
	"strings"
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
	if len(left) != 2 || left[0].Status != StatusDelivered || left[1].Status != StatusDelivered || left[0].Attempts != 1 || left[0].Delivered.IsZero() {
		t.Fatalf("outbox does not keep the delivered records: %+v", left)
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
	// Start counts the stored queue (the record is not due yet).
	q = New(Config{Store: st})
	q.Start()
	if p, d := q.Depth(); p != 1 || d != 0 {
		t.Errorf("Depth() after a restart = %d, %d; want 1, 0", p, d)
	}
	q.Close()
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
	q.HandleRemote("webhook", func(ctx context.Context, r Record) (Response, error) {
		switch r.EventID {
		case "ok":
			return Response{Status: 200, Body: []byte("thanks")}, nil
		case "later":
			return Response{Status: 429}, &RetryError{After: time.Hour, Err: errors.New("429")}
		}
		return Response{Status: 410}, Permanent(errors.New("410 Gone"))
	})
	q.Start()
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	for _, c := range []struct {
		id, status string
		code       int
	}{{"ok", StatusDelivered, 200}, {"later", StatusPending, 429}, {"gone", StatusDead, 410}} {
		r := enqueue(t, st, q, Record{Kind: "webhook", Pod: "p", EventID: c.id, Target: "https://hooks.example/cb"})
		if res := q.Wait(ctx, r); res.Status != c.status || (res.Tried && res.ResponseStatus != c.code) {
			t.Errorf("%s: %+v", c.id, res)
		}
	}
	var out []Record
	_ = st.View(context.Background(), func(rd store.Reader) error {
		out, err = Outbox(rd, "p")
		return err
	})
	if len(out) != 3 || out[0].Status != StatusDelivered || out[0].LastStatus != 200 ||
		out[1].EventID != "later" || out[1].Due.Before(start.Add(time.Hour)) || out[1].LastStatus != 429 ||
		out[2].Status != StatusDead || out[2].LastError != "410 Gone" || out[2].LastStatus != 410 {
		t.Fatalf("outbox: %+v", out)
	}
}

// A target host that never answers holds only its own lane: deliveries to
// another host go through while its attempts hang, at most PerHost of them
// at once; closing the queue ends the hanging attempts without counting
// them.
func TestQueueSlowHostDoesNotDelayOthers(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	hanging, maxHanging := 0, 0
	calls := map[uint64]int{}
	// A small backlog: most records to the dead host stay in the store
	// and are skipped by the scans.
	q := New(Config{Store: st, PerHost: 3, backlog: 4})
	q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		mu.Lock()
		calls[r.Seq]++
		mu.Unlock()
		if r.Target != "https://dead.example/cb" {
			return Response{Status: 204}, nil
		}
		mu.Lock()
		hanging++
		maxHanging = max(maxHanging, hanging)
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		hanging--
		mu.Unlock()
		return Response{}, ctx.Err()
	})
	q.Start()
	var healthy, dead []Record
	for i := range 40 {
		dead = append(dead, enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "d", Target: "https://dead.example/cb"}))
		if i%4 == 0 {
			healthy = append(healthy, enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "h", Target: "https://ok.example/cb"}))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range healthy {
		if res := q.Wait(ctx, r); res.Status != StatusDelivered || res.ResponseStatus != 204 {
			t.Fatalf("healthy target's delivery %d while another hangs: %+v", r.Seq, res)
		}
	}
	// The dead host's lane is full: PerHost attempts hang.
	for deadline := time.Now().Add(5 * time.Second); ; {
		mu.Lock()
		h := hanging
		mu.Unlock()
		if h == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts to the dead host hang, want 3", h)
		}
		time.Sleep(5 * time.Millisecond)
	}
	q.Close()
	mu.Lock()
	if maxHanging != 3 {
		t.Errorf("up to %d concurrent attempts to one host, want PerHost (3)", maxHanging)
	}
	for seq, n := range calls {
		if n != 1 {
			t.Errorf("record %d attempted %d times", seq, n)
		}
	}
	mu.Unlock()
	// The hanging attempts were cut short by Close: not counted, still
	// pending for the next start.
	var out []Record
	_ = st.View(context.Background(), func(rd store.Reader) error {
		out, err = Outbox(rd, "p")
		return err
	})
	pending := 0
	for _, r := range out {
		if r.Target == "https://dead.example/cb" && r.Status == StatusPending && r.Attempts == 0 {
			pending++
		}
	}
	if pending != len(dead) {
		t.Errorf("%d of %d records to the dead host still pending and unattempted: %+v", pending, len(dead), out)
	}
	if p, d := q.Depth(); p != int64(len(dead)) || d != 0 {
		t.Errorf("Depth() = %d pending, %d dead; want %d, 0", p, d, len(dead))
	}
}

// A remote attempt that takes longer than AttemptTimeout is a retryable
// failure that says so.
func TestQueueAttemptTimeout(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := New(Config{Store: st, AttemptTimeout: 50 * time.Millisecond})
	q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		<-ctx.Done()
		return Response{}, ctx.Err()
	})
	q.Start()
	defer q.Close()
	r := enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://slow.example/cb"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := q.Wait(ctx, r)
	if res.Status != StatusPending || !res.Tried || !strings.Contains(res.Error, "no answer within 50ms") {
		t.Fatalf("timed-out attempt: %+v", res)
	}
}

// Delivered records are kept, the last KeepDelivered of each pod: older
// ones are pruned in batches, with their event index entries.
func TestQueueKeepsLastDelivered(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := New(Config{Store: st, KeepDelivered: 3})
	q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error { return nil })
	q.Start()
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = pruneEvery + 6
	var recs []Record
	for i := range n {
		recs = append(recs, enqueue(t, st, q, Record{Kind: KindInbox, Pod: "p", Event: "/p/publish/" + strconv.Itoa(i), EventID: "e", Target: "/a/inbox/"}))
		if res := q.Wait(ctx, recs[i]); res.Status != StatusDelivered {
			t.Fatalf("record %d: %+v", i, res)
		}
	}
	var out []Record
	indexed := 0
	_ = st.View(context.Background(), func(rd store.Reader) error {
		if out, err = Outbox(rd, "p"); err != nil {
			return err
		}
		for _, r := range recs {
			rs, err := ForEvent(rd, "p", r.Event)
			if err != nil {
				return err
			}
			indexed += len(rs)
		}
		return nil
	})
	// Pruned down to 3 after the 64th delivery (while later ones may
	// arrive), then up to 6 more.
	if len(out) < 3 || len(out) > 3+6 || indexed != len(out) {
		t.Fatalf("kept %d delivered records (%d indexed), want 3 to 9", len(out), indexed)
	}
	for i, r := range out {
		if want := recs[n-len(out)+i].Seq; r.Seq != want || r.Status != StatusDelivered {
			t.Errorf("kept record %d: seq %d %s, want the newest (seq %d)", i, r.Seq, r.Status, want)
		}
	}
	if p, d := q.Depth(); p != 0 || d != 0 {
		t.Errorf("Depth() = %d, %d; want 0, 0", p, d)
	}
}

// Every record that fails once is attempted again when its retry falls
// due, however its reschedule and the scans interleave.
func TestQueueRetriesEveryRecord(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	calls := map[uint64]int{}
	q := New(Config{Store: st, Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}})
	q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if calls[r.Seq]++; calls[r.Seq] == 1 {
			return Response{Status: 503}, errors.New("503 try later")
		}
		return Response{Status: 204}, nil
	})
	q.Start()
	defer q.Close()
	// One at a time: no other activity wakes the scanner.
	var recs []Record
	for i := range 20 {
		r := enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://h" + strconv.Itoa(i%3) + ".example/cb"})
		recs = append(recs, r)
		deadline := time.Now().Add(5 * time.Second)
		for {
			var cur Record
			_ = st.View(context.Background(), func(rd store.Reader) error {
				cur, err = Get(rd, "p", r.Seq)
				return err
			})
			if cur.Status == StatusDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("record %d not delivered after its retry: %+v", r.Seq, cur)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range recs {
		if calls[r.Seq] != 2 {
			t.Errorf("record %d attempted %d times, want 2", r.Seq, calls[r.Seq])
		}
	}
}
