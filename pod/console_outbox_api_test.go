package pod_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
)

// outboxGet GETs an outbox listing with headers; it returns the status,
// the ETag and the decoded body (zero for a 304).
func outboxGet(t *testing.T, u string, hdr map[string]string) (int, string, outboxListing) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", conAliceKey)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", outboxListing{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var l outboxListing
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &l); err != nil {
			t.Errorf("listing %s: %v", b, err)
		}
	}
	return res.StatusCode, res.Header.Get("ETag"), l
}

type outboxListing struct {
	Items []struct {
		ID, Target, Status, LastError string
		Seq                           uint64
		Attempts                      int
		Due                           time.Time
	}
}

// outboxAPI runs the retry-now, filter and long-poll scenario with the
// changes made through node a and the listings read from node b (the same
// server, or another node sharing the store): alice's settings route
// realestate/contact to a webhook that fails (503, next attempt in an
// hour); the listing filtered by that target and status=pending holds the
// record; a long-poll on it ends when POST to the record (retry now) made
// through a changes it; the retried delivery is made and the record is
// delivered; POST to it again is a 409.
func outboxAPI(t *testing.T, a, b *pod.Server) {
	hook := newHookServer(t)
	hookURL := hook.URL + "/cb"
	settings := fmt.Sprintf(`{"version":"1","items":[
 {"type":"Subscription","agent":%q,"publishes":["realestate/contact"]},
 {"type":"Subscription","agent":%q,"subscribes":["realestate/contact"]},
 {"type":"Subscription","agent":"https://hooks.example/profile/card#me","subscribes":["realestate/contact"],"target":%q,"secret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}]}`,
		a.WebID("producer"), a.WebID("crm"), hookURL)
	if st, _, body := conDo(t, "PUT", at(a, a.PodRoot("alice")+"settings/subscriptions"), conAliceKey, "application/json", settings); st/100 != 2 {
		t.Fatalf("alice's settings: %d %s", st, body)
	}
	ev := fmt.Sprintf(`{"recipient":%q,"topic":"realestate/contact#add","data":{"type":"AddAction","name":"api-1"}}`, a.WebID("alice"))
	if st, _, body := conDo(t, "POST", at(a, a.PodRoot("producer")+"publish/"), conProducerApp, "application/json", ev); st != http.StatusCreated {
		t.Fatalf("publish: %d %s", st, body)
	}
	outbox := at(b, a.PodRoot("alice")+"outbox/")
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return outbox + "?" + v.Encode()
	}
	pending := q("status", "pending", "target", hookURL)
	var l outboxListing
	var etag string
	for deadline := time.Now().Add(10 * time.Second); len(l.Items) != 1 || l.Items[0].Attempts != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt listed: %+v", l)
		}
		_, etag, l = outboxGet(t, pending, nil)
	}
	rec := l.Items[0]
	if rec.Target != hookURL || time.Until(rec.Due) < 59*time.Minute || !strings.Contains(rec.LastError, "503") {
		t.Fatalf("the failed delivery: %+v", rec)
	}
	for _, c := range []struct {
		name string
		u    string
		n    int
	}{
		{"delivered to the hook", q("status", "delivered", "target", hookURL), 0},
		{"anything to another target", q("target", "https://elsewhere.example/cb"), 0},
		{"anything to crm, by WebID (its copy is not queued)", q("target", a.WebID("crm")), 0},
		{"anything to the hook, newest first", q("target", hookURL, "order", "newest"), 1},
	} {
		if st, _, got := outboxGet(t, c.u, nil); st != http.StatusOK || len(got.Items) != c.n {
			t.Errorf("%s: %d, %d items, want %d", c.name, st, len(got.Items), c.n)
		}
	}
	if st, _, _ := outboxGet(t, q("target", "not a URL"), nil); st != http.StatusBadRequest {
		t.Errorf("target=not a URL: %d, want 400", st)
	}
	if st, tag, _ := outboxGet(t, pending, map[string]string{"If-None-Match": etag}); st != http.StatusNotModified || tag != etag {
		t.Errorf("If-None-Match, unchanged: %d %q, want 304 %q", st, tag, etag)
	}

	// A long-poll on b ends when the retry made through a changes the record.
	type answer struct {
		status int
		etag   string
		l      outboxListing
	}
	polled := make(chan answer, 1)
	go func() {
		st, tag, got := outboxGet(t, pending+"&wait=30", map[string]string{"If-None-Match": etag})
		polled <- answer{st, tag, got}
	}()
	hook.status.Store(http.StatusNoContent)
	// Let the poll reach its wait first. Were it late, it would answer at
	// once and the test would pass without showing the wake-up, never fail
	// for it; in time, only the change feed ends its wait before 30 s.
	time.Sleep(300 * time.Millisecond)
	st, _, body := conDo(t, "POST", at(a, rec.ID), conAliceKey, "", "")
	if st != http.StatusAccepted || !strings.Contains(body, `"status":"pending"`) {
		t.Fatalf("POST (retry now): %d %s", st, body)
	}
	select {
	case got := <-polled:
		if got.status != http.StatusOK || got.etag == etag {
			t.Errorf("long-poll after the retry: %d, ETag %q (was %q)", got.status, got.etag, etag)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the long-poll did not end when the record changed")
	}
	delivered := q("status", "delivered", "target", hookURL)
	for deadline := time.Now().Add(10 * time.Second); len(l.Items) != 1 || l.Items[0].Status != "delivered"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after retry now: %+v", l)
		}
		_, _, l = outboxGet(t, delivered, nil)
	}
	if l.Items[0].Attempts != 2 || hook.count("api-1") != 2 {
		t.Errorf("delivered after %d attempts, the hook got %d; want 2 and 2", l.Items[0].Attempts, hook.count("api-1"))
	}
	if st, _, body := conDo(t, "POST", at(a, rec.ID), conAliceKey, "", ""); st != http.StatusConflict {
		t.Errorf("POST to a delivered record: %d %s, want 409", st, body)
	}
}

// The outbox API's retry now, filters and long-poll on one server.
func TestConsoleOutboxAPI(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, RetrySchedule: []time.Duration{time.Hour, time.Hour}})
	outboxAPI(t, s, s)
}

// The same on two nodes sharing PostgreSQL: the long-poll on one node is
// woken by the retry made through the other (the cross-node change feed
// carries outbox records).
func TestConsoleOutboxAPICluster(t *testing.T) {
	u := pgCluster.URL(t)
	var nodes [2]*pod.Server
	for i := range nodes {
		nodes[i] = podtest.RunServer(t, pod.Options{StoreURL: u, BaseURL: clusterBase, AllowPrivateTargets: true, RetrySchedule: []time.Duration{time.Hour, time.Hour}})
	}
	outboxAPI(t, nodes[0], nodes[1])
}
