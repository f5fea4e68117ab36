package pod_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// The owner of the publishing pod finds, from GET publish/{id}, the
// delivery status of the event per target it addressed (the recipient's
// inbox copy); the delivered and failed webhooks that alice's settings
// route are alice's, listed in her outbox, never in the producer's.
func TestDeliveryEventStatus(t *testing.T) {
	hooks := goneHooks(t, "/bad")
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	subscribeHooks(t, s, hooks.URL+"/bad", hooks.URL+"/ok")
	r := publishWait(t, s, 5)
	id := r.hdr.Get("Location")
	statusURL := s.PodRoot("producer") + "outbox/?event=" + url.QueryEscape(id)

	// The event itself links to its status, for the owner only.
	ev := evDo(t, evReq{method: "GET", url: id, key: evKeys.producerOwner})
	if ev.status != http.StatusOK || !strings.Contains(strings.Join(ev.hdr.Values("Link"), ","), "<"+statusURL+`>; rel="https://w3id.org/podserver/v1#deliveryStatus"`) {
		t.Fatalf("GET event as owner: %d %v", ev.status, ev.hdr.Values("Link"))
	}
	if m := ev.json(t); m["id"] != id || m["topic"] != "realestate/contact#add" {
		t.Errorf("the event is not served as published: %s", ev.body)
	}
	if ev := evDo(t, evReq{method: "GET", url: id, key: evKeys.producer}); strings.Contains(strings.Join(ev.hdr.Values("Link"), ","), "deliveryStatus") {
		t.Errorf("an app key sees the status link: %v", ev.hdr.Values("Link"))
	}

	var st struct {
		ID, Event string
		Targets   []struct {
			Target, Kind, Status, Record, Item, LastError string
			LastStatus, Attempts                          int
		}
	}
	for _, u := range []string{statusURL, s.PodRoot("producer") + "outbox/?event=" + id[strings.LastIndexByte(id, '/')+1:]} {
		r := evDo(t, evReq{method: "GET", url: u, key: evKeys.producerOwner})
		if err := json.Unmarshal([]byte(r.body), &st); err != nil || r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, r.status, r.body)
		}
		if st.ID != statusURL || st.Event != id || len(st.Targets) != 1 {
			t.Fatalf("status %s: %s", u, r.body)
		}
	}
	want := map[string]struct {
		kind, status string
		code         int
	}{
		s.PodRoot("alice") + "inbox/": {"inbox", "delivered", 0},
	}
	for _, tg := range st.Targets {
		w, ok := want[tg.Target]
		if !ok || tg.Kind != w.kind || tg.Status != w.status || tg.LastStatus != w.code {
			t.Errorf("target %+v, want %+v", tg, w)
		}
		if !strings.HasPrefix(tg.Item, s.PodRoot("alice")+"inbox/") || tg.Record != "" {
			t.Errorf("inbox copy %+v: want its item and no record", tg)
		}
	}
	// The webhooks are in alice's outbox, each with its record and one
	// attempt.
	hooksWant := map[string]struct {
		status string
		code   int
	}{hooks.URL + "/bad": {"failed", 410}, hooks.URL + "/ok": {"delivered", 204}}
	ob := evDo(t, evReq{method: "GET", url: s.PodRoot("alice") + "outbox/", key: evKeys.alice})
	var page struct {
		Items []struct {
			ID, Kind, EventID, Target, Status string
			LastStatus, Attempts              int
		}
	}
	if err := json.Unmarshal([]byte(ob.body), &page); err != nil || ob.status != http.StatusOK || len(page.Items) != len(hooksWant) {
		t.Fatalf("alice's outbox: %d %s", ob.status, ob.body)
	}
	for _, it := range page.Items {
		w, ok := hooksWant[it.Target]
		if !ok || it.Kind != "webhook" || it.EventID != id || it.Status != w.status || it.LastStatus != w.code || it.Attempts != 1 ||
			!strings.HasPrefix(it.ID, s.PodRoot("alice")+"outbox/") {
			t.Errorf("alice's outbox item %+v, want %+v", it, w)
		}
	}

	for _, c := range []struct {
		url, key string
		status   int
	}{
		{statusURL, evKeys.producer, http.StatusForbidden},
		{statusURL, evKeys.alice, http.StatusForbidden},
		{s.PodRoot("producer") + "outbox/?event=nosuchevent", evKeys.producerOwner, http.StatusNotFound},
		{s.PodRoot("producer") + "outbox/?event=" + url.QueryEscape(s.PodRoot("alice")+"publish/x"), evKeys.producerOwner, http.StatusNotFound},
	} {
		if r := evDo(t, evReq{method: "GET", url: c.url, key: c.key}); r.status != c.status || !strings.Contains(r.body, `"error"`) {
			t.Errorf("GET %s: %d %s, want %d", c.url, r.status, r.body, c.status)
		}
	}
}

// The copies an event left in its recipient's and source's inboxes stay in
// its status after the settings that allowed it change: they come from the
// event's copies entry, not from the current settings. crm's copy, routed
// by alice's settings, is alice's delivery and is not listed.
func TestDeliveryEventStatusAfterSettingsChange(t *testing.T) {
	s, _ := evServer(t, "")
	r := publishTo(t, s, "producer", evKeys.producer, seedEvent(s))
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")
	// alice no longer lets producer publish anything to her.
	if r := putSettings(t, s, `{"version": "1", "items": []}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	st := evDo(t, evReq{method: "GET", url: s.PodRoot("producer") + "outbox/?event=" + url.QueryEscape(id), key: evKeys.producerOwner})
	var body struct {
		Targets []struct{ Target, Status, Item string }
	}
	if err := json.Unmarshal([]byte(st.body), &body); err != nil || st.status != http.StatusOK {
		t.Fatalf("status: %d %s", st.status, st.body)
	}
	got := map[string]string{}
	for _, tg := range body.Targets {
		if tg.Status != "delivered" || !strings.HasPrefix(tg.Item, tg.Target) {
			t.Errorf("target %+v: want delivered, with its item", tg)
		}
		got[tg.Target] = tg.Status
	}
	for _, p := range []string{"alice", "bob"} {
		if got[s.PodRoot(p)+"inbox/"] != "delivered" {
			t.Errorf("%s's inbox missing from the status: %s", p, st.body)
		}
	}
	if len(body.Targets) != 2 {
		t.Errorf("%d targets, want 2 (recipient and source): %s", len(body.Targets), st.body)
	}
	// crm did get its copy.
	if n := countID(allCopies(t, s, "crm", evKeys.crm), id); n != 1 {
		t.Errorf("crm holds %d copies, want 1", n)
	}
}
