package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/inbox"
)

// listing is a decoded outbox listing.
type listing struct {
	Contains []string
	Items    []outboxJSON
	Next     string
}

func decodeList(t *testing.T, w *httptest.ResponseRecorder) listing {
	t.Helper()
	var l listing
	if w.Code != http.StatusOK {
		t.Fatalf("listing: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
		t.Fatalf("listing %s: %v", w.Body, err)
	}
	return l
}

func seqs(l listing) []uint64 {
	var out []uint64
	for _, it := range l.Items {
		out = append(out, it.Seq)
	}
	return out
}

// POST to a pending record's URL makes it due now: a delivery that failed
// and would wait an hour is attempted at once and delivered. A delivered
// record is not retried (409).
func TestOutboxRetryNow(t *testing.T) {
	f := newFixtureSchedule(t, []time.Duration{time.Hour, time.Hour})
	calls := make(chan int, 4)
	n := 0
	f.q.HandleRemote(deliver.KindWebhook, func(context.Context, deliver.Record) (deliver.Response, error) {
		n++
		calls <- n
		if n == 1 {
			return deliver.Response{Status: 503}, errors.New("the hook is down")
		}
		return deliver.Response{Status: 204}, nil
	})
	f.q.Start()
	rec := f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "producer", EventID: root + "producer/publish/e1", Target: "https://hooks.example/cb"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res := f.q.Wait(ctx, rec); res.Status != deliver.StatusPending || !res.Tried {
		t.Fatalf("first attempt: %+v", res)
	}
	<-calls
	u := root + "producer/outbox/" + strconv.FormatUint(rec.Seq, 10)
	var v outboxJSON
	for deadline := time.Now().Add(5 * time.Second); v.Attempts != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the failed attempt is not recorded: %+v", v)
		}
		_ = json.Unmarshal(f.do(t, owner, http.MethodGet, u, "", "").Body.Bytes(), &v)
	}
	if v.Status != outboxPending || time.Until(v.Due) < 59*time.Minute || v.LastError != "the hook is down" || v.LastStatus != 503 {
		t.Fatalf("after the failure: %+v", v)
	}
	w := f.do(t, owner, http.MethodPost, u, "", "")
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusAccepted || v.Status != outboxPending || v.Attempts != 1 || v.Due.After(time.Now()) {
		t.Fatalf("POST (retry now): %d %s", w.Code, w.Body)
	}
	select {
	case got := <-calls:
		if got != 2 {
			t.Fatalf("attempt %d", got)
		}
	case <-ctx.Done():
		t.Fatal("no attempt after retry now")
	}
	for deadline := time.Now().Add(5 * time.Second); v.Status != outboxDelivered; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after retry now: %+v", v)
		}
		v = outboxJSON{}
		_ = json.Unmarshal(f.do(t, owner, http.MethodGet, u, "", "").Body.Bytes(), &v)
	}
	if v.Attempts != 2 || v.LastStatus != 204 || v.LastError != "" {
		t.Errorf("delivered: %+v", v)
	}
	if w := f.do(t, owner, http.MethodPost, u, "", ""); w.Code != http.StatusConflict || errorBody(t, w) != errOutboxLive.Msg {
		t.Errorf("POST to a delivered record: %d %s", w.Code, w.Body)
	}
}

// The listing filters by status and by target (a local pod by its inbox
// URL or its WebID), lists newest first on request, and pages either way.
func TestOutboxFilters(t *testing.T) {
	f := newFixture(t)
	later := time.Now().Add(time.Hour)
	hook := "https://hooks.example/cb"
	remote := "https://other.example/profile/card#me"
	var all []deliver.Record
	for i, r := range []deliver.Record{
		{Kind: deliver.KindWebhook, Target: hook},
		{Kind: deliver.KindInbox, Target: inbox.Path("alice")},
		{Kind: deliver.KindLDN, Target: remote},
		{Kind: deliver.KindWebhook, Target: hook},
		{Kind: deliver.KindWebhook, Target: "https://hooks.example/other"},
	} {
		r.Pod, r.EventID, r.Due = "producer", root+"producer/publish/e"+strconv.Itoa(i), later
		all = append(all, f.enqueue(t, r))
	}
	list := func(q string) listing {
		t.Helper()
		return decodeList(t, f.do(t, owner, http.MethodGet, root+"producer/outbox/?"+q, "", ""))
	}
	eq := func(what string, got []uint64, want ...deliver.Record) {
		t.Helper()
		ok := len(got) == len(want)
		for i := range want {
			ok = ok && got[i] == want[i].Seq
		}
		if !ok {
			t.Errorf("%s: seqs %v, want %v", what, got, want)
		}
	}
	esc := func(s string) string { return strings.NewReplacer(":", "%3A", "/", "%2F", "#", "%23").Replace(s) }
	eq("target=hook", seqs(list("target="+esc(hook))), all[0], all[3])
	eq("target=hook newest", seqs(list("target="+esc(hook)+"&order=newest")), all[3], all[0])
	eq("target=alice's inbox URL", seqs(list("target="+esc(root+"alice/inbox/"))), all[1])
	eq("target=alice's WebID", seqs(list("target="+esc(pods().WebID("alice")))), all[1])
	eq("target=remote WebID", seqs(list("target="+esc(remote))), all[2])
	eq("target=unknown", seqs(list("target="+esc("https://nobody.example/"))))
	eq("status=pending&target=hook", seqs(list("status=pending&target="+esc(hook))), all[0], all[3])
	eq("status=failed&target=hook", seqs(list("status=failed&target="+esc(hook))))
	eq("newest", seqs(list("order=newest")), all[4], all[3], all[2], all[1], all[0])
	p1 := list("order=newest&limit=2")
	eq("newest page 1", seqs(p1), all[4], all[3])
	if p1.Next != strconv.FormatUint(all[2].Seq, 10) {
		t.Fatalf("newest page 1 next %q", p1.Next)
	}
	eq("newest page 2", seqs(list("order=newest&limit=2&from="+p1.Next)), all[2], all[1])
	eq("oldest page", seqs(list("order=oldest&limit=2&from="+strconv.FormatUint(all[1].Seq, 10))), all[1], all[2])
	for _, tc := range []struct{ q, msg string }{
		{"target=hooks.example", errOutboxTarget.Msg},
		{"target=mailto%3Aa%40b", errOutboxTarget.Msg},
		{"order=random", errOutboxOrder.Msg},
		{"wait=61", errOutboxWait.Msg},
		{"wait=-1", errOutboxWait.Msg},
	} {
		if w := f.do(t, owner, http.MethodGet, root+"producer/outbox/?"+tc.q, "", ""); w.Code != http.StatusBadRequest || errorBody(t, w) != tc.msg {
			t.Errorf("?%s: %d %s, want 400 %q", tc.q, w.Code, w.Body, tc.msg)
		}
	}
}

// The listing has an ETag; If-None-Match with it answers 304 at once
// without wait, and with wait=S once S seconds pass without a change. A
// change to the pod's outbox (a new record, from the store's change feed)
// ends the wait with the new page; another pod's change does not.
func TestOutboxLongPoll(t *testing.T) {
	f := newFixture(t)
	later := time.Now().Add(time.Hour)
	f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "producer", EventID: root + "producer/publish/e1", Target: "https://hooks.example/cb", Due: later})
	u := root + "producer/outbox/?status=pending"
	w := f.do(t, owner, http.MethodGet, u, "", "")
	etag := w.Header().Get("ETag")
	if w.Code != http.StatusOK || etag == "" {
		t.Fatalf("GET: %d, ETag %q", w.Code, etag)
	}
	same := http.Header{"If-None-Match": {etag}}
	if w := f.doHeader(t, owner, http.MethodGet, u, "", "", same); w.Code != http.StatusNotModified || w.Header().Get("ETag") != etag || w.Body.Len() != 0 {
		t.Fatalf("If-None-Match, no wait: %d %q %s", w.Code, w.Header().Get("ETag"), w.Body)
	}
	if w := f.doHeader(t, owner, http.MethodGet, u+"&wait=1", "", "", same); w.Code != http.StatusNotModified {
		t.Fatalf("wait=1 without a change: %d %s", w.Code, w.Body)
	}
	if w := f.doHeader(t, owner, http.MethodGet, u, "", "", http.Header{"If-None-Match": {`"other"`}}); w.Code != http.StatusOK {
		t.Fatalf("If-None-Match of another tag: %d", w.Code)
	}

	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- f.doHeader(t, owner, http.MethodGet, u+"&wait=30", "", "", same) }()
	waitPolling := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); f.h.polling.Load() != n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d long-polls waiting, want %d", f.h.polling.Load(), n)
			}
		}
	}
	waitPolling(1)
	// Another pod's record does not end the wait; producer's does.
	f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "alice", EventID: "x", Target: "https://hooks.example/cb", Due: later})
	waitPolling(1)
	select {
	case w := <-done:
		t.Fatalf("the long-poll ended before producer's outbox changed: %d %s", w.Code, w.Body)
	default:
	}
	rec := f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "producer", EventID: root + "producer/publish/e2", Target: "https://hooks.example/cb", Due: later})
	var got *httptest.ResponseRecorder
	select {
	case got = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the long-poll did not end after the change")
	}
	l := decodeList(t, got)
	if len(l.Items) != 2 || l.Items[1].Seq != rec.Seq || got.Header().Get("ETag") == etag {
		t.Fatalf("long-poll answer: %s (ETag %q)", got.Body, got.Header().Get("ETag"))
	}
}
