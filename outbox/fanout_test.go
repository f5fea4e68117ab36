package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/store"
)

// fanoutKeys returns the fan-out batch keys (store.PrefixFanout, the
// publish package's) of the event at path, with their values.
func fanoutKeys(t *testing.T, st store.Store, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixFanout+path+"\x00"), nil, false, func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A fan-out job that fails for good is listed as a failed delivery of
// kind "fanout": its target is the event, and "copies" counts the copies
// it did not write (its batch keys are gone). POST retries it: pending
// again, its batches back for the job to write.
func TestOutboxFailedFanoutJob(t *testing.T) {
	f := newFixture(t)
	// Every batch fails, permanently (the publish package's handler,
	// replaced before the queue starts).
	f.q.HandleLocal(deliver.KindFanout, func(store.Txn, deliver.Record, time.Time) error {
		return deliver.Permanent(errors.New("cannot write the batch"))
	})
	const path = "/producer/publish/e1"
	var rec deliver.Record
	err := f.st.Update(context.Background(), func(tx store.Txn) error {
		for i, v := range []string{"/crm/inbox/\n/alice/inbox/", "/p3/inbox/"} {
			if err := tx.Set([]byte(store.PrefixFanout+path+"\x00\x00\x00\x00"+string(rune('0'+i))), []byte(v)); err != nil {
				return err
			}
		}
		var err error
		rec, err = f.q.Enqueue(tx, deliver.Record{Kind: deliver.KindFanout, Pod: "producer", Event: path, EventID: root + "producer/publish/e1", Target: path})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.q.Start()
	// Not listed until it is dead.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var r deliver.Record
		err := f.st.View(context.Background(), func(rd store.Reader) error {
			var err error
			r, err = deliver.Get(rd, "producer", rec.Seq)
			return err
		})
		if err == nil && r.Status == deliver.StatusDead {
			break
		}
		if err != nil && !errors.Is(err, deliver.ErrNoRecord) || time.Now().After(deadline) {
			t.Fatalf("the job: %+v %v", r, err)
		}
	}
	if ks := fanoutKeys(t, f.st, path); len(ks) != 0 {
		t.Fatalf("the dead job left its batches: %v", ks)
	}
	u := root + "producer/outbox/" + strconv.FormatUint(rec.Seq, 10)
	w := f.do(t, owner, http.MethodGet, root+"producer/outbox/?status=failed", "", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"contains":["`+u+`"]`) {
		t.Fatalf("status=failed: %d %s", w.Code, w.Body)
	}
	var v outboxJSON
	w = f.do(t, owner, http.MethodGet, u, "", "")
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.Status != outboxFailed || v.Kind != deliver.KindFanout ||
		v.Target != root+"producer/publish/e1" || v.Copies != 3 || !strings.Contains(v.LastError, "cannot write the batch") {
		t.Fatalf("GET the failed job: %d %s", w.Code, w.Body)
	}
	// The queue stops, so the retried job stays as the retry left it.
	f.q.Close()
	w = f.do(t, owner, http.MethodPost, u, "", "")
	v = outboxJSON{}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusAccepted || v.Status != outboxPending || v.Copies != 0 {
		t.Fatalf("POST (retry): %d %s", w.Code, w.Body)
	}
	ks := fanoutKeys(t, f.st, path)
	n := 0
	for _, v := range ks {
		n += strings.Count(v, "\n") + 1
	}
	if n != 3 {
		t.Errorf("the retry wrote back batches %v; want the 3 inboxes", ks)
	}
}
