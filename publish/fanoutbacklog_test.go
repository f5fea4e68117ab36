package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/store"
)

// TestFanoutBacklogBound: with the queue stopped, each publish leaves its
// 40 subscriber copies pending. Under a bound of 100 the first two
// publishes are admitted (0, then 40 pending), the third waits and, when
// its request ends first, gets 503 with Retry-After and a message naming
// the backlog, and nothing of it is stored. Once the queue runs and the
// backlog drains, the same publish is admitted; FanoutPending follows.
func TestFanoutBacklogBound(t *testing.T) {
	st := fanoutPods(t)
	q := deliver.New(deliver.Config{Store: st})
	t.Cleanup(q.Close)
	var refused, written atomic.Int64
	s := New(Config{
		Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q,
		FanoutThreshold: 5, FanoutBatch: 7, FanoutMaxPending: 100,
		OnBacklogFull:   func() { refused.Add(1) },
		OnFanoutWritten: func(n int, _ bool, _ time.Duration) { written.Add(int64(n)) },
	})
	h := producerPublish(s)
	ctx := context.Background()
	pending := func() int {
		t.Helper()
		s.backlog.at = time.Time{} // read the store now, not the cache
		n, err := s.FanoutPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	fanoutPublish(t, h, "")
	fanoutPublish(t, h, "")
	if got := pending(); got != 2*fanSubs {
		t.Fatalf("pending after two publishes = %d, want %d", got, 2*fanSubs)
	}

	ev := `{"recipient":"` + testURLs(hBase).WebID("alice") + `","topic":"d/t","data":{"type":"AddAction"}}`
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(rctx, "POST", hBase+"producer/publish/", strings.NewReader(ev))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("third publish: %d %s, want 503", w.Code, w.Body)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("refused after %v: it should wait for the backlog until its request ends", time.Since(start))
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	var body struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "80 event copies") || !strings.Contains(body.Error, "at most 100") {
		t.Errorf("503 body %s: want the backlog (80) and the bound (100)", w.Body)
	}
	if refused.Load() != 1 {
		t.Errorf("OnBacklogFull called %d times, want 1", refused.Load())
	}
	if got := pending(); got != 2*fanSubs {
		t.Errorf("pending after the refusal = %d, want %d: the refused publish stored a job", got, 2*fanSubs)
	}
	if n := inboxItems(t, st, "alice"); n != 2 {
		t.Errorf("alice has %d copies, want 2: the refused publish wrote one", n)
	}

	// The jobs run; a publish that waits is admitted once they drain.
	q.Start()
	fanoutPublish(t, h, "?wait=30")
	if got := pending(); got != 0 {
		t.Errorf("pending after the jobs ran = %d, want 0", got)
	}
	// OnFanoutWritten runs after the commit that ?wait saw: it may lag
	// the answer a moment.
	for deadline := time.Now().Add(10 * time.Second); written.Load() != 3*fanSubs && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := written.Load(); got != 3*fanSubs {
		t.Errorf("OnFanoutWritten counted %d copies, want %d", got, 3*fanSubs)
	}
}

// inboxItems counts the items in pod's inbox.
func inboxItems(t *testing.T, st store.Store, pod string) int {
	t.Helper()
	var n int
	err := st.View(context.Background(), func(rd store.Reader) error {
		pg, err := inbox.List(rd, inbox.Path(pod), 0, 1000)
		n = len(pg.Items)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFanoutBacklogUnbounded: a negative bound admits every publish.
func TestFanoutBacklogUnbounded(t *testing.T) {
	st := fanoutPods(t)
	q := deliver.New(deliver.Config{Store: st})
	t.Cleanup(q.Close)
	s := New(Config{Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q, FanoutThreshold: 5, FanoutBatch: 7, FanoutMaxPending: -1})
	h := producerPublish(s)
	for range 5 {
		fanoutPublish(t, h, "")
	}
	if n, err := s.FanoutPending(context.Background()); err != nil || n != 5*fanSubs {
		t.Fatalf("pending = %d, %v; want %d", n, err, 5*fanSubs)
	}
}

// TestFanoutPendingConcurrent: callers reading the backlog at once, while
// their reads keep expiring, each get its count (one of them reads the
// store, the others wait for it or answer from the last read).
func TestFanoutPendingConcurrent(t *testing.T) {
	st := fanoutPods(t)
	q := deliver.New(deliver.Config{Store: st})
	t.Cleanup(q.Close)
	s := New(Config{Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q, FanoutThreshold: 5, FanoutBatch: 7})
	h := producerPublish(s)
	fanoutPublish(t, h, "")
	fanoutPublish(t, h, "")
	s.backlog.at = time.Time{} // the publishes read it before their jobs
	ctx := context.Background()
	stop := make(chan struct{})
	expired := make(chan struct{})
	go func() { // expire the last read again and again
		defer close(expired)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.backlog.mu.Lock()
			s.backlog.at = time.Time{}
			s.backlog.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			for range 100 {
				n, err := s.FanoutPending(ctx)
				if err == nil && n != 2*fanSubs {
					err = fmt.Errorf("FanoutPending = %d, want %d", n, 2*fanSubs)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	<-expired
}
