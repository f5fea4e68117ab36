package publish

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// Fan-out jobs, on a real in-memory store and the real delivery queue:
// alice has fanSubs subscribers, more than the threshold the tests set.

const fanSubs = 40

// fanoutPods stores producer, alice and her fanSubs subscribers sub0...
func fanoutPods(t *testing.T) store.Store { return fanoutPodsN(t, fanSubs) }

// fanoutPodsN is fanoutPods with subs subscribers.
func fanoutPodsN(t testing.TB, subs int) store.Store {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	u := testURLs(hBase)
	items := []string{`{"type":"Subscription","agent":"` + u.WebID("producer") + `","publishes":["d/t"]}`}
	pods := []string{"producer", "alice"}
	for i := range subs {
		pods = append(pods, fmt.Sprintf("sub%d", i))
		items = append(items, `{"type":"Subscription","agent":"`+u.WebID(fmt.Sprintf("sub%d", i))+`","subscribes":["d/t"]}`)
	}
	now := time.Now()
	for len(pods) > 0 {
		chunk := pods[:min(len(pods), 1000)] // a transaction holds a thousand pods
		pods = pods[len(chunk):]
		err = st.Update(context.Background(), func(tx store.Txn) error {
			for _, pod := range chunk {
				if err := ldp.CreatePod(tx, pod, now); err != nil {
					return err
				}
				for _, c := range []string{"inbox/", "publish/"} {
					if _, _, err := ldp.Put(tx, ldp.StoragePath(pod, c), "", nil, now, ldp.Preconditions{}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = st.Update(context.Background(), func(tx store.Txn) error {
		doc := `{"version":"1","items":[` + strings.Join(items, ",") + `]}`
		_, _, err := ldp.Put(tx, ldp.StoragePath("alice", "settings/subscriptions"), ldp.MediaJSON, []byte(doc), now, ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fanoutServer serves POST producer/publish/ with a new queue and Service
// on st (threshold 5, batches of 7); start false leaves the queue stopped,
// so jobs stay queued. The queue is returned for Close.
func fanoutServer(t *testing.T, st store.Store, threshold int, start bool) (http.Handler, *deliver.Queue) {
	t.Helper()
	q := deliver.New(deliver.Config{Store: st})
	s := New(Config{Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q, FanoutThreshold: threshold, FanoutBatch: 7})
	if start {
		q.Start()
	}
	t.Cleanup(q.Close)
	return producerPublish(s), q
}

// producerPublish serves POST producer/publish/ through s, as the
// producer's "publisher" app.
func producerPublish(s *Service) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.NoRoute(apierr.Handle(nil, func(c *gin.Context) error {
		r := &ldp.Request{
			Target:    ldp.Target{Pod: "producer", Path: ldp.StoragePath("producer", "publish/"), Root: hBase + "producer/"},
			Principal: ldp.Principal{Pod: "producer", Agent: testURLs(hBase).WebID("producer"), App: "publisher"},
		}
		return s.Publish(c, r)
	}))
	return e
}

func fanoutPublish(t *testing.T, h http.Handler, query string) (loc, body string) {
	t.Helper()
	ev := `{"recipient":"` + testURLs(hBase).WebID("alice") + `","topic":"d/t","data":{"type":"AddAction"}}`
	req := httptest.NewRequest("POST", hBase+"producer/publish/"+query, strings.NewReader(ev))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		t.Fatalf("publish: %d %s", w.Code, w.Body)
	}
	return w.Header().Get("Location"), w.Body.String()
}

// subCopies returns the copies of event id in each subscriber's inbox.
func subCopies(t *testing.T, st store.Store, id string) []int {
	t.Helper()
	out := make([]int, fanSubs)
	for i := range fanSubs {
		out[i] = copies(t, st, fmt.Sprintf("sub%d", i), id)
	}
	return out
}

// jobKeys counts the fan-out batches left in st.
func jobKeys(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixFanout), nil, false, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func allOnce(n []int) bool {
	for _, c := range n {
		if c != 1 {
			return false
		}
	}
	return true
}

// Above the threshold the answer says the copies are queued, with their
// count, and the job writes each one exactly once, then leaves nothing
// behind. With ?wait the answer comes once they are written.
func TestFanoutJob(t *testing.T) {
	st := fanoutPods(t)
	h, q := fanoutServer(t, st, 5, true)
	loc, body := fanoutPublish(t, h, "")
	if want := fmt.Sprintf(`"copies":{"status":"queued","queued":%d}`, fanSubs); !strings.Contains(body, want) {
		t.Fatalf("answer %s lacks %s", body, want)
	}
	if n := copies(t, st, "alice", loc); n != 1 {
		t.Fatalf("the recipient holds %d copies at the answer, want 1 (written by the publish)", n)
	}
	eventually(t, "every subscriber holds one copy", func() bool { return allOnce(subCopies(t, st, loc)) })
	eventually(t, "the job leaves the queue", func() bool { p, _ := q.Depth(); return p == 0 && jobKeys(t, st) == 0 })

	loc, body = fanoutPublish(t, h, "?wait=10")
	if !strings.Contains(body, `"copies":{"status":"done"}`) {
		t.Fatalf("?wait answer %s does not report the copies done", body)
	}
	if n := subCopies(t, st, loc); !allOnce(n) {
		t.Fatalf("at the ?wait answer the subscribers hold %v copies, want 1 each", n)
	}
}

// At or below the threshold nothing changes: every copy is written before
// the answer, which has no "copies" member.
func TestFanoutBelowThreshold(t *testing.T) {
	st := fanoutPods(t)
	h, _ := fanoutServer(t, st, fanSubs, true)
	loc, body := fanoutPublish(t, h, "")
	if strings.Contains(body, "copies") {
		t.Fatalf("answer %s below the threshold mentions copies", body)
	}
	if n := subCopies(t, st, loc); !allOnce(n) {
		t.Fatalf("at the answer the subscribers hold %v copies, want 1 each", n)
	}
	if n := jobKeys(t, st); n != 0 {
		t.Fatalf("%d fan-out batches stored below the threshold", n)
	}
}

// A job survives a restart: published while no queue runs, it is done by
// the next server on the store, each copy once.
func TestFanoutResumes(t *testing.T) {
	st := fanoutPods(t)
	h, q := fanoutServer(t, st, 5, false)
	loc, _ := fanoutPublish(t, h, "")
	if n := jobKeys(t, st); n != (fanSubs+6)/7 {
		t.Fatalf("%d batches stored, want %d", n, (fanSubs+6)/7)
	}
	q.Close()
	_, q2 := fanoutServer(t, st, 5, true)
	eventually(t, "every subscriber holds one copy", func() bool { return allOnce(subCopies(t, st, loc)) })
	eventually(t, "the job leaves the queue", func() bool { p, _ := q2.Depth(); return p == 0 && jobKeys(t, st) == 0 })
}

// An event deleted while its job is queued ends the job: the batches left
// go, nothing more is copied, and later events are not held up.
func TestFanoutEventDeleted(t *testing.T) {
	st := fanoutPods(t)
	h, q := fanoutServer(t, st, 5, false)
	loc, _ := fanoutPublish(t, h, "")
	path := ldp.StoragePath("producer", "publish/"+loc[strings.LastIndexByte(loc, '/')+1:])
	if err := st.Update(context.Background(), func(tx store.Txn) error { return ldp.Delete(tx, path, ldp.Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	q.Close()
	h2, q2 := fanoutServer(t, st, 5, true)
	eventually(t, "the job ends", func() bool { p, _ := q2.Depth(); return p == 0 && jobKeys(t, st) == 0 })
	for i, n := range subCopies(t, st, loc) {
		if n != 0 {
			t.Fatalf("sub%d holds %d copies of the deleted event", i, n)
		}
	}
	loc2, _ := fanoutPublish(t, h2, "?wait=10")
	if n := subCopies(t, st, loc2); !allOnce(n) {
		t.Fatalf("the next event's copies: %v, want 1 each", n)
	}
}

// TestFanoutPolicyLag: a job's batches run as background updates while its
// event is younger than a positive lag, then in arrival order with
// publishes (backpressure); a lag of 0 (the default) or less never yields.
func TestFanoutPolicyLag(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		lag  time.Duration
		age  time.Duration
		want bool
	}{
		{2 * time.Second, 0, true},
		{2 * time.Second, 1999 * time.Millisecond, true},
		{2 * time.Second, 2 * time.Second, false},
		{2 * time.Second, time.Hour, false},
		{0, 0, false},
		{-1, 0, false},
	}
	for _, tt := range tests {
		bg := fanoutPolicy(tt.lag).Background
		if bg == nil {
			if tt.want {
				t.Errorf("lag %v: no background function", tt.lag)
			}
			continue
		}
		if got := bg(deliver.Record{Created: now.Add(-tt.age)}, now); got != tt.want {
			t.Errorf("lag %v, age %v: background %v, want %v", tt.lag, tt.age, got, tt.want)
		}
	}
	s := &Service{cfg: Config{FanoutLag: time.Second}}
	if bg := s.jobPolicy().Background; bg == nil || bg(deliver.Record{Created: now}, now.Add(2*time.Second)) {
		t.Error("jobPolicy does not use Config.FanoutLag")
	}
}

// BenchmarkPublishFanout publishes to alice, whose topic has 1,000 or
// 10,000 subscribers, through the handler with the queue stopped: what a
// publish costs the server before its answer (settings cached after the
// first, as in the server, whose settings watch then stays put), the
// fan-out job's copies aside.
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st := fanoutPodsN(b, n)
			q := deliver.New(deliver.Config{Store: st})
			b.Cleanup(q.Close)
			s := New(Config{Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q, FanoutMaxPending: -1, Watch: NewSettingsWatch()})
			h := producerPublish(s)
			ev := `{"recipient":"` + testURLs(hBase).WebID("alice") + `","topic":"d/t","data":{"type":"AddAction"}}`
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", hBase+"producer/publish/", strings.NewReader(ev))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusCreated {
					b.Fatalf("publish: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}
