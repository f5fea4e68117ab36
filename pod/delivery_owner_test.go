package pod_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
)

// hookCalls records the CloudEvents a webhook receiver got, by path; the
// path /bad answers 410 Gone (a dead letter at once) until fixed.
type hookCalls struct {
	mu    sync.Mutex
	got   map[string][]map[string]any
	fixed bool
}

func (h *hookCalls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ce map[string]any
	_ = json.Unmarshal(b, &ce)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path == "/bad" && !h.fixed {
		http.Error(w, "no such hook", http.StatusGone)
		return
	}
	h.got[r.URL.Path] = append(h.got[r.URL.Path], ce)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookCalls) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got[path])
}

func (h *hookCalls) fix() {
	h.mu.Lock()
	h.fixed = true
	h.mu.Unlock()
}

// outboxItem is one record as GET outbox/ lists it.
type outboxItem struct {
	ID, Kind, EventID, Target, Status, LastError string
	LastStatus, Attempts                         int
}

// outboxItems lists the outbox of pod on s with its owner's key.
func outboxItems(t testing.TB, s *pod.Server, pod, key string) []outboxItem {
	t.Helper()
	r := evDo(t, evReq{method: "GET", url: s.PodRoot(pod) + "outbox/?limit=1000", key: key})
	var page struct{ Items []outboxItem }
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK {
		t.Fatalf("outbox of %s: %d %s", pod, r.status, r.body)
	}
	return page.Items
}

// waitOutbox polls pod's outbox until every target in want has a record
// with that status (or the deadline passes) and returns the records by
// target.
func waitOutbox(t testing.TB, s *pod.Server, pod, key string, want map[string]string) map[string]outboxItem {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		by := map[string]outboxItem{}
		for _, it := range outboxItems(t, s, pod, key) {
			by[it.Target] = it
		}
		done := true
		for target, status := range want {
			if by[target].Status != status {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			return by
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Publishing on server A to alice on server B, whose settings route the
// event to a webhook, a failing webhook, crm's inbox on B and bob's inbox
// on A: every subscriber gets it, and every delivery alice's settings
// caused is alice's, in B's alice/outbox/ (where she sees the failing
// webhook's error, retries it and replays the event), signed with alice's
// key when it goes to another server. A's producer sees only the target
// it addressed, in its outbox and in the event's status.
func TestDeliveryOwnerRemoteCopy(t *testing.T) {
	hooks := &hookCalls{got: map[string][]map[string]any{}}
	hsrv := httptest.NewServer(hooks)
	defer hsrv.Close()
	a, b := remoteServer(t), remoteServer(t)
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + a.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + b.WebID("crm") + `","subscribes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + a.WebID("bob") + `","subscribes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"https://hooks.example/profile/card#me","subscribes":["realestate/contact"],"target":"` + hsrv.URL + `/ok","secret":"whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},` +
		`{"type":"Subscription","agent":"https://hooks.example/profile/card#me","subscribes":["realestate/contact"],"target":"` + hsrv.URL + `/bad"}]}`
	if r := evDo(t, evReq{method: "PUT", url: b.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: settings, ctype: ldp.MediaJSONLD}); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings on B: %d %s", r.status, r.body)
	}
	ev := `{"recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	r := evDo(t, evReq{method: "POST", url: a.PodRoot("producer") + "publish/?wait=10", key: evKeys.producer, body: ev})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"status":"delivered"`) {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")

	// Every subscriber of alice gets the event.
	if n := waitCopies(t, b, "crm", evKeys.crm, id, 1); n != 1 {
		t.Errorf("crm on B: %d copies, want 1", n)
	}
	if n := waitCopies(t, a, "bob", evKeys.bob, id, 1); n != 1 {
		t.Errorf("bob on A: %d copies, want 1", n)
	} else if c := allCopies(t, a, "bob", evKeys.bob)[0]; c["agent"] != b.WebID("alice") {
		// Forwarded, and signed, by alice's pod.
		t.Errorf("bob's copy names agent %v, want alice on B", c["agent"])
	}
	aliceOutbox := waitOutbox(t, b, "alice", evKeys.alice, map[string]string{
		hsrv.URL + "/ok": "delivered", hsrv.URL + "/bad": "failed", a.WebID("bob"): "delivered",
	})
	if n := hooks.count("/ok"); n != 1 {
		t.Fatalf("webhook got %d events, want 1", n)
	}
	hooks.mu.Lock()
	ce := hooks.got["/ok"][0]
	hooks.mu.Unlock()
	if ce["id"] != id || ce["source"] != a.PodRoot("producer") || ce["type"] != "realestate/contact#add" || ce["subject"] != b.WebID("alice") {
		t.Errorf("CloudEvent %v", ce)
	}

	// B's alice/outbox/ lists her deliveries, the failing webhook with its
	// error; B's crm got its copy in-process, without a record.
	if len(aliceOutbox) != 3 {
		t.Errorf("alice's outbox on B: %+v, want the two webhooks and bob on A", aliceOutbox)
	}
	for target, kind := range map[string]string{hsrv.URL + "/ok": "webhook", hsrv.URL + "/bad": "webhook", a.WebID("bob"): "ldn"} {
		it := aliceOutbox[target]
		if it.Kind != kind || it.EventID != id || !strings.HasPrefix(it.ID, b.PodRoot("alice")+"outbox/") {
			t.Errorf("alice's record for %s: %+v", target, it)
		}
	}
	if bad := aliceOutbox[hsrv.URL+"/bad"]; bad.LastStatus != http.StatusGone || !strings.Contains(bad.LastError, "no such hook") {
		t.Errorf("the failing webhook's record: %+v", bad)
	}

	// A's producer: its outbox and the event's status list only alice on B.
	prodOutbox := outboxItems(t, a, "producer", evKeys.producerOwner)
	if len(prodOutbox) != 1 || prodOutbox[0].Target != b.WebID("alice") || prodOutbox[0].Kind != "ldn" || prodOutbox[0].Status != "delivered" {
		t.Errorf("producer's outbox on A: %+v", prodOutbox)
	}
	st := evDo(t, evReq{method: "GET", url: a.PodRoot("producer") + "outbox/?event=" + url.QueryEscape(id), key: evKeys.producerOwner})
	var status struct {
		Targets []struct{ Target, Status string }
	}
	if err := json.Unmarshal([]byte(st.body), &status); err != nil || st.status != http.StatusOK ||
		len(status.Targets) != 1 || status.Targets[0].Target != b.WebID("alice") || status.Targets[0].Status != "delivered" {
		t.Errorf("event status on A: %d %s", st.status, st.body)
	}
	for _, leak := range []string{hsrv.URL, a.WebID("bob"), b.WebID("crm")} {
		if strings.Contains(st.body, leak) {
			t.Errorf("the producer's event status shows alice's subscriber %s: %s", leak, st.body)
		}
	}
	// B's producer and crm have no records of it.
	for _, p := range []string{"producer", "crm"} {
		if items := outboxItems(t, b, p, inboxKey(p)); len(items) != 0 {
			t.Errorf("%s's outbox on B: %+v", p, items)
		}
	}

	// alice retries the dead letter once the webhook is fixed...
	hooks.fix()
	if r := evDo(t, evReq{method: "POST", url: aliceOutbox[hsrv.URL+"/bad"].ID, key: evKeys.alice}); r.status != http.StatusAccepted {
		t.Fatalf("alice's retry: %d %s", r.status, r.body)
	}
	waitOutbox(t, b, "alice", evKeys.alice, map[string]string{hsrv.URL + "/bad": "delivered"})
	if n := hooks.count("/bad"); n != 1 {
		t.Errorf("the fixed webhook got %d events, want 1", n)
	}
	// ...and replays the event, which she holds as a copy, to her webhook.
	r = evDo(t, evReq{method: "POST", url: b.PodRoot("alice") + "outbox/", key: evKeys.alice,
		body: `{"event":"` + id + `","target":"` + hsrv.URL + `/ok"}`})
	if r.status != http.StatusAccepted || !strings.HasPrefix(r.hdr.Get("Location"), b.PodRoot("alice")+"outbox/") {
		t.Fatalf("alice's replay: %d %s", r.status, r.body)
	}
	for deadline := time.Now().Add(10 * time.Second); hooks.count("/ok") < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	hooks.mu.Lock()
	got := hooks.got["/ok"]
	hooks.mu.Unlock()
	if len(got) != 2 || got[1]["id"] != id {
		t.Errorf("webhook after the replay: %v", got)
	}
	// A pod that is not a party cannot replay it: crm holds a copy but
	// its settings route nothing.
	if r := evDo(t, evReq{method: "POST", url: b.PodRoot("crm") + "outbox/", key: evKeys.crm,
		body: `{"event":"` + id + `","target":"` + hsrv.URL + `/ok"}`}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("crm's replay to alice's webhook: %d %s", r.status, r.body)
	}
}

// On one server, a webhook routed by alice's settings that fails shows up
// in alice's outbox with its error, and not in the producer's.
func TestDeliveryOwnerLocalWebhookFailure(t *testing.T) {
	hooks := goneHooks(t, "/gone")
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	subscribeHooks(t, s, hooks.URL+"/gone")
	id := publishWait(t, s, 5).hdr.Get("Location")
	by := waitOutbox(t, s, "alice", evKeys.alice, map[string]string{hooks.URL + "/gone": "failed"})
	if it := by[hooks.URL+"/gone"]; it.EventID != id || it.LastStatus != http.StatusGone || !strings.Contains(it.LastError, "no such hook") {
		t.Errorf("alice's record: %+v", it)
	}
	if items := outboxItems(t, s, "producer", evKeys.producerOwner); len(items) != 0 {
		t.Errorf("producer's outbox: %+v", items)
	}
}
