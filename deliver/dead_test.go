package deliver

import (
	"context"
	"errors"
	"testing"
	"time"

	"podserver/store"
)

// A transient kind with Policy.Dead: a record that fails for good ends
// the state its kind keeps elsewhere in the transaction that records it
// dead (Dead moves it into the record), and is kept as a dead letter,
// listed in its pod's outbox and indexed by its event. Retry brings the
// state back (Revive), and once the cause is fixed the record is
// delivered and, being transient, leaves nothing behind. A transient
// kind without Dead drops its records, their event index entries too.
func TestPolicyDeadKept(t *testing.T) {
	st := memStore(t)
	ctx := context.Background()
	const stateKey, broken = "Fjob/e1", "r/broken"
	q := New(Config{Store: st, Schedule: []time.Duration{time.Hour}})
	q.SetPolicy("job", Policy{Transient: true, Schedule: []time.Duration{5 * time.Millisecond},
		Dead: func(tx store.Txn, r *Record) error {
			v, err := tx.Get([]byte(stateKey))
			if err != nil {
				return err
			}
			r.Payload = append([]byte{}, v...)
			return tx.Delete([]byte(stateKey))
		},
		Revive: func(tx store.Txn, r *Record) error {
			p := r.Payload
			r.Payload = nil
			return tx.Set([]byte(stateKey), p)
		},
	})
	q.SetPolicy("drop", Policy{Transient: true, Schedule: []time.Duration{5 * time.Millisecond}})
	q.HandleLocal("job", func(tx store.Txn, r Record, _ time.Time) error {
		if _, err := tx.Get([]byte(broken)); err == nil {
			return errors.New("broken")
		}
		if v, err := tx.Get([]byte(stateKey)); err != nil || string(v) != "inboxes" {
			return Permanent(errors.New("state lost"))
		}
		if err := tx.Set([]byte("r/done/"+r.EventID), nil); err != nil {
			return err
		}
		return tx.Delete([]byte(stateKey))
	})
	q.HandleLocal("drop", func(store.Txn, Record, time.Time) error { return errors.New("never") })
	var job Record
	err := st.Update(ctx, func(tx store.Txn) error {
		var err error
		if job, err = q.Enqueue(tx, Record{Kind: "job", Pod: "p", Event: "/p/publish/e1", EventID: "e1", Target: "/p/publish/e1"}); err != nil {
			return err
		}
		if _, err := q.Enqueue(tx, Record{Kind: "drop", Pod: "p", Event: "/p/publish/e2", EventID: "e2", Target: "/p/publish/e2"}); err != nil {
			return err
		}
		if err := tx.Set([]byte(stateKey), []byte("inboxes")); err != nil {
			return err
		}
		return tx.Set([]byte(broken), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	changed := q.Changed()
	q.Start()
	defer q.Close()
	dead := waitEvent(t, st, "/p/publish/e1", func(rs []Record) bool { return len(rs) == 1 && rs[0].Status == StatusDead })[0]
	if dead.Seq != job.Seq || string(dead.Payload) != "inboxes" || dead.Attempts != 2 || dead.LastError != "broken" {
		t.Fatalf("dead letter %+v", dead)
	}
	if r := outboxRecord(t, st, job.Seq); r.Status != StatusDead {
		t.Fatalf("not listed in the outbox: %+v", r)
	}
	if n := keysUnder(t, st, "Fjob/"); n != 0 {
		t.Errorf("the dead job left its state key")
	}
	select {
	case <-changed:
	default:
		t.Error("Changed not closed by the attempts")
	}
	waitEvent(t, st, "/p/publish/e2", func(rs []Record) bool { return len(rs) == 0 && keysUnder(t, st, store.PrefixDelivery) == 0 })
	if n := keysUnder(t, st, store.PrefixDeliveryIndex); n != 1 {
		t.Errorf("%d event index entries; want 1, the dead letter's (the dropped record's went with it)", n)
	}
	if _, d := q.Depth(); d != 1 {
		t.Errorf("%d dead letters counted, want 1", d)
	}

	// Fixed and retried: the state comes back, the job is done, and
	// nothing of it is left.
	err = st.Update(ctx, func(tx store.Txn) error {
		if err := tx.Delete([]byte(broken)); err != nil {
			return err
		}
		r, err := q.Retry(tx, "p", job.Seq)
		if err == nil && (r.Payload != nil || r.Status != StatusPending) {
			t.Errorf("retried record %+v", r)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, st, "/p/publish/e1", func(rs []Record) bool { return len(rs) == 0 })
	if n := keysUnder(t, st, "r/done/e1"); n != 1 {
		t.Errorf("the retried job did not run")
	}
	for _, p := range []string{"Fjob/", store.PrefixDelivery, store.PrefixOutbox, store.PrefixDeliveryIndex} {
		if n := keysUnder(t, st, p); n != 0 {
			t.Errorf("%d keys left under %q", n, p)
		}
	}
}

// waitEvent waits until the records of pod p's outbox for event satisfy
// ok, and returns them.
func waitEvent(t *testing.T, st store.Store, event string, ok func([]Record) bool) []Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var rs []Record
		err := st.View(context.Background(), func(rd store.Reader) error {
			var err error
			rs, err = ForEvent(rd, "p", event)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok(rs) {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("records of %s: %+v", event, rs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
