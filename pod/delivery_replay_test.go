package pod_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
)

// The owner replays an event to one of its pod's own targets: the
// producer to the recipient it addressed (a local inbox that already holds
// it is left as it is, one copy per event); alice, whose settings route
// the webhook and the subscribers, to her webhook (it gets the event
// again) and to a local subscriber added after the publish (it gets its
// copy). Neither may replay to the other's targets; the topic permission
// is checked again.
func TestDeliveryReplay(t *testing.T) {
	var calls atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	subscribeHooks(t, s, hook.URL+"/cb")
	r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=5", key: evKeys.producer,
		body: `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{}}`})
	if r.status != http.StatusCreated || calls.Load() != 1 {
		t.Fatalf("publish: %d %s (webhook calls %d)", r.status, r.body, calls.Load())
	}
	id := r.hdr.Get("Location")
	outbox := s.PodRoot("producer") + "outbox/"
	replay := func(key, body string) evResp {
		return evDo(t, evReq{method: "POST", url: outbox, key: key, body: body})
	}
	aliceOutbox := s.PodRoot("alice") + "outbox/"
	aliceReplay := func(body string) evResp {
		return evDo(t, evReq{method: "POST", url: aliceOutbox, key: evKeys.alice, body: body})
	}
	body := func(event, target string) string {
		return `{"event":"` + event + `","target":"` + target + `"}`
	}

	// The webhook is alice's: the producer cannot replay to it...
	if r := replay(evKeys.producerOwner, body(id, hook.URL+"/cb")); r.status != http.StatusUnprocessableEntity {
		t.Errorf("producer's replay to alice's webhook: %d %s", r.status, r.body)
	}
	// ...alice can: a new pending record in her outbox, delivered again.
	r = aliceReplay(body(id, hook.URL+"/cb"))
	if r.status != http.StatusAccepted || !strings.HasPrefix(r.hdr.Get("Location"), aliceOutbox) || !strings.Contains(r.body, `"status":"pending"`) {
		t.Fatalf("alice's replay to her webhook: %d %s", r.status, r.body)
	}
	rec := r.hdr.Get("Location")
	for deadline := time.Now().Add(5 * time.Second); ; {
		g := evDo(t, evReq{method: "GET", url: rec, key: evKeys.alice})
		if strings.Contains(g.body, `"status":"delivered"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed record: %d %s", g.status, g.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("webhook called %d times, want 2", n)
	}

	// The recipient's inbox already holds it: a no-op success (by WebID,
	// by inbox URL, by event id).
	for _, target := range []string{s.WebID("alice"), s.PodRoot("alice") + "inbox/"} {
		r = replay(evKeys.producerOwner, body(id[strings.LastIndexByte(id, '/')+1:], target))
		if r.status != http.StatusOK || !strings.Contains(r.body, "already holds") || !strings.Contains(r.body, `"item":"`+s.PodRoot("alice")+"inbox/") {
			t.Errorf("replay to an inbox holding the event (%s): %d %s", target, r.status, r.body)
		}
	}
	if n := countID(allCopies(t, s, "alice", evKeys.alice), id); n != 1 {
		t.Errorf("alice holds %d copies, want 1", n)
	}

	// bob is no target of this event.
	if r := replay(evKeys.producerOwner, body(id, s.WebID("bob"))); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not a target of this event") {
		t.Errorf("replay to a non-target: %d %s", r.status, r.body)
	}

	// crm subscribes to its inbox after the publish: the replay copies the
	// event there once.
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + s.WebID("crm") + `","subscribes":["realestate/contact"]}]}`
	if r := putSettings(t, s, settings); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	if r := replay(evKeys.producerOwner, body(id, s.WebID("crm"))); r.status != http.StatusUnprocessableEntity {
		t.Errorf("producer's replay to alice's subscriber: %d %s", r.status, r.body)
	}
	if r := aliceReplay(body(id, s.WebID("crm"))); r.status != http.StatusAccepted || !strings.Contains(r.body, `"kind":"inbox"`) ||
		!strings.HasPrefix(r.hdr.Get("Location"), aliceOutbox) {
		t.Fatalf("alice's replay to a new local subscriber: %d %s", r.status, r.body)
	}
	if n := waitCopies(t, s, "crm", evKeys.crm, id, 1); n != 1 {
		t.Errorf("crm holds %d copies, want 1", n)
	}

	// alice no longer lets producer publish: refused as the publish would be.
	if r := putSettings(t, s, `{"version":"1","items":[]}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	want := fmt.Sprintf(publish.MsgNotAuthorized, s.WebID("alice"), "realestate/contact#add")
	if r := replay(evKeys.producerOwner, body(id, s.WebID("alice"))); r.status != http.StatusForbidden || !strings.Contains(r.body, want) {
		t.Errorf("replay without permission: %d %s", r.status, r.body)
	}
	if r := aliceReplay(body(id, s.WebID("crm"))); r.status != http.StatusForbidden || !strings.Contains(r.body, want) {
		t.Errorf("alice's replay without permission: %d %s", r.status, r.body)
	}
	// An event alice neither published nor holds, named by a bare id: not
	// found.
	if r := aliceReplay(body(s.PodRoot("producer")+"publish/nosuch", s.WebID("crm"))); r.status != http.StatusNotFound || !strings.Contains(r.body, "no such event") {
		t.Errorf("alice's replay of an unknown event: %d %s", r.status, r.body)
	}

	for _, c := range []struct {
		name, key, body string
		status          int
		msg             string
	}{
		{"app key", evKeys.producer, body(id, s.WebID("alice")), http.StatusForbidden, "only the pod's owner"},
		{"anonymous", "", body(id, s.WebID("alice")), http.StatusUnauthorized, ""},
		{"no target", evKeys.producerOwner, `{"event":"` + id + `"}`, http.StatusBadRequest, `{\"event\"`},
		{"unknown field", evKeys.producerOwner, `{"event":"` + id + `","target":"x","extra":1}`, http.StatusBadRequest, "must be a JSON object"},
		{"not JSON", evKeys.producerOwner, `event=x`, http.StatusBadRequest, "must be a JSON object"},
		{"unknown event", evKeys.producerOwner, body(s.PodRoot("producer")+"publish/nosuch", s.WebID("alice")), http.StatusNotFound, "no such event"},
	} {
		r := replay(c.key, c.body)
		if r.status != c.status || !strings.Contains(r.body, c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, r.status, r.body, c.status, c.msg)
		}
	}
}
