package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// failingJobs serves POST producer/publish/ as fanoutServer does
// (threshold 5, batches of 7), its fan-out jobs retried twice, 5 ms apart,
// and each batch failing once ok batches have been written while broken
// says so.
func failingJobs(t *testing.T, st store.Store, ok int, broken func() bool) (http.Handler, *deliver.Queue) {
	t.Helper()
	q := deliver.New(deliver.Config{Store: st})
	s := New(Config{Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q, FanoutThreshold: 5, FanoutBatch: 7})
	pol := s.jobPolicy()
	pol.Schedule = []time.Duration{5 * time.Millisecond, 5 * time.Millisecond}
	q.SetPolicy(deliver.KindFanout, pol)
	var mu sync.Mutex
	written := 0
	q.HandleLocal(deliver.KindFanout, func(tx store.Txn, r deliver.Record, now time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		if written >= ok && broken() {
			return errors.New("the store refuses this batch")
		}
		if err := s.fanoutBatch(tx, r, now); err != nil {
			return err
		}
		tx.OnCommit(func() { written++ })
		return nil
	})
	q.Start()
	t.Cleanup(q.Close)
	return producerPublish(s), q
}

// eventRecords returns producer's outbox records of the event at path.
func eventRecords(t *testing.T, st store.Store, path string) []deliver.Record {
	t.Helper()
	var rs []deliver.Record
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		rs, err = deliver.ForEvent(rd, "producer", path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// A fan-out job whose batches keep failing after two were written ends
// when its retries are exhausted, in the transaction that records it
// dead: no batch key is left, and the copies it did not write are a dead
// letter in the publisher's outbox, which the ?wait answer reports. Once
// the cause is gone, retrying the dead letter writes them, each
// subscriber ending with exactly one copy, and nothing of the job is left.
func TestFanoutJobFailsForGood(t *testing.T) {
	st := fanoutPods(t)
	var mu sync.Mutex
	broken := true
	h, q := failingJobs(t, st, 2, func() bool { mu.Lock(); defer mu.Unlock(); return broken })
	loc, body := fanoutPublish(t, h, "?wait=20")
	left := fanSubs - 2*7
	if want := fmt.Sprintf(`"copies":{"status":"failed","failed":%d}`, left); !strings.Contains(body, want) {
		t.Fatalf("?wait answer %s lacks %s", body, want)
	}
	if n := jobKeys(t, st); n != 0 {
		t.Errorf("%d batch keys left by the dead job", n)
	}
	if p, d := q.Depth(); p != 0 || d != 1 {
		t.Errorf("queue depth %d pending, %d dead; want 0, 1", p, d)
	}
	path := ldp.StoragePath("producer", "publish/"+loc[strings.LastIndexByte(loc, '/')+1:])
	rs := eventRecords(t, st, path)
	if len(rs) != 1 || rs[0].Kind != deliver.KindFanout || rs[0].Status != deliver.StatusDead || FanoutCopies(rs[0]) != left || rs[0].Attempts != 3 {
		t.Fatalf("the event's outbox records: %+v", rs)
	}
	held := 0
	for _, n := range subCopies(t, st, loc) {
		held += n
	}
	if held != fanSubs-left {
		t.Fatalf("the subscribers hold %d copies, want the %d of the batches written", held, fanSubs-left)
	}

	mu.Lock()
	broken = false
	mu.Unlock()
	err := st.Update(context.Background(), func(tx store.Txn) error {
		_, err := q.Retry(tx, "producer", rs[0].Seq)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "every subscriber holds one copy", func() bool { return allOnce(subCopies(t, st, loc)) })
	eventually(t, "the job leaves nothing", func() bool {
		p, _ := q.Depth()
		return p == 0 && jobKeys(t, st) == 0 && len(eventRecords(t, st, path)) == 0
	})
	for _, prefix := range []string{store.PrefixDelivery, store.PrefixOutbox, store.PrefixDeliveryIndex} {
		n := 0
		err := st.View(context.Background(), func(rd store.Reader) error {
			return rd.Scan([]byte(prefix), nil, false, func(_, _ []byte) error { n++; return nil })
		})
		if err != nil || n != 0 {
			t.Errorf("%d keys under %q after the retried job (%v)", n, prefix, err)
		}
	}
}

// keysLeft counts the keys under each of the job's prefixes: batches,
// queue entries, outbox entries and delivery indexes.
func keysLeft(t *testing.T, st store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := st.View(context.Background(), func(rd store.Reader) error {
		for _, p := range []string{store.PrefixFanout, store.PrefixDelivery, store.PrefixOutbox, store.PrefixDeliveryIndex} {
			err := rd.Scan([]byte(p), nil, false, func(_, _ []byte) error { out[p]++; return nil })
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A job whose event is deleted before it runs ends without a trace: no
// batch, queue, outbox or index key of it is left.
func TestFanoutEventDeletedLeavesNothing(t *testing.T) {
	st := fanoutPods(t)
	h, q := fanoutServer(t, st, 5, false)
	loc, _ := fanoutPublish(t, h, "")
	if left := keysLeft(t, st); left[store.PrefixFanout] == 0 || left[store.PrefixDelivery] != 1 {
		t.Fatalf("the queued job's keys: %v", left)
	}
	path := ldp.StoragePath("producer", "publish/"+loc[strings.LastIndexByte(loc, '/')+1:])
	if err := st.Update(context.Background(), func(tx store.Txn) error { return ldp.Delete(tx, path, ldp.Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	q.Close()
	_, q2 := fanoutServer(t, st, 5, true)
	eventually(t, "the job ends", func() bool { p, _ := q2.Depth(); return p == 0 })
	if left := keysLeft(t, st); len(left) != 0 {
		t.Errorf("keys left by the job of a deleted event: %v", left)
	}
}
