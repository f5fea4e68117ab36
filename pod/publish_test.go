package pod_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"podserver/acl"
	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
)

// The seed's example: an array body -> 201, Location, id; a copy in the
// recipient's, the source's and the subscriber's inbox, once each (crm
// subscribes through both alice and bob, and still gets one copy).
func TestPublishSeedExample(t *testing.T) {
	s, _ := evServer(t, "")
	r := publishTo(t, s, "producer", evKeys.producer, "["+seedEvent(s)+"]")
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	loc := r.hdr.Get("Location")
	if !strings.HasPrefix(loc, s.PodRoot("producer")+"publish/") {
		t.Fatalf("Location %q is not in producer's publish/", loc)
	}
	if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	m := r.json(t)
	if m["id"] != loc {
		t.Fatalf("body id %v, Location %s", m["id"], loc)
	}
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"bob", evKeys.bob}, {"crm", evKeys.crm}} {
		copies := allCopies(t, s, who.pod, who.key)
		if n := countID(copies, loc); n != 1 || len(copies) != 1 {
			t.Fatalf("%s inbox: %d copies of the event, %d items; want 1 and 1", who.pod, n, len(copies))
		}
		c := copies[0]
		if c["agent"] != s.WebID("producer") || c["instrument"] != "publisher" || c["correlationId"] != loc ||
			c["topic"] != "realestate/contact#add" || c["recipient"] != s.WebID("alice") || c["source"] != s.WebID("bob") {
			t.Errorf("%s copy: %v", who.pod, c)
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(c["received_at"])); err != nil {
			t.Errorf("%s copy received_at: %v", who.pod, c["received_at"])
		}
		data, _ := c["data"].(map[string]any)
		if obj, _ := data["object"].(map[string]any); data["type"] != "AddAction" || obj["name"] != "Bruce Wayne" {
			t.Errorf("%s copy data: %v", who.pod, c["data"])
		}
		url, _ := c["url"].(string)
		if !strings.HasPrefix(url, s.PodRoot(who.pod)+"inbox/") {
			t.Errorf("%s copy url %q", who.pod, url)
		}
		// The item itself is readable by the owner.
		if g := evDo(t, evReq{method: "GET", url: url, key: who.key}); g.status != http.StatusOK || !strings.Contains(g.body, loc) {
			t.Errorf("GET %s: %d %s", url, g.status, g.body)
		}
	}
	if copies := allCopies(t, s, "producer", evKeys.producerOwner); len(copies) != 0 {
		t.Errorf("producer's own inbox got %d copies", len(copies))
	}
	// The event is stored at its Location, readable by the producer's owner.
	g := evDo(t, evReq{method: "GET", url: loc, key: evKeys.producerOwner})
	if g.status != http.StatusOK {
		t.Fatalf("GET event: %d %s", g.status, g.body)
	}
	ev := g.json(t)
	if ev["id"] != loc || ev["agent"] != s.WebID("producer") || ev["instrument"] != "publisher" || ev["received_at"] == nil {
		t.Errorf("stored event: %v", ev)
	}
	// An app key of the pod, Basic auth with the key as password.
	req, _ := http.NewRequest("POST", s.PodRoot("producer")+"publish/", strings.NewReader(seedEvent(s)))
	req.SetBasicAuth("anything", evKeys.producer)
	req.Header.Set("Content-Type", "application/ld+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish with Basic: %d", resp.StatusCode)
	}
}

// Every 400, 401, 403 and 415 of the publish API, with its exact message,
// and nothing stored.
func TestPublishRejects(t *testing.T) {
	s, _ := evServer(t, "")
	alice, bob, crm := s.WebID("alice"), s.WebID("bob"), s.WebID("crm")
	ev := func(fields string) string {
		return `{"recipient":"` + alice + `","topic":"realestate/contact#add","data":{"type":"AddAction"}` + fields + `}`
	}
	cases := []struct {
		name, key, ctype, body string
		status                 int
		msg                    string
	}{
		{"no key", "", "", ev(""), 401, acl.MsgNoKey},
		{"wrong key", "pk_not_a_key_at_all_000000", "", ev(""), 401, "Invalid API key"},
		{"key of another pod", evKeys.alice, "", ev(""), 403, publish.MsgForeignKey},
		{"not json media type", evKeys.producer, "text/plain", ev(""), 415, publish.MsgMediaType},
		{"no recipient", evKeys.producer, "", `{"topic":"realestate/contact#add","data":{}}`, 400, publish.MsgNoRecipient},
		{"no recipient in array", evKeys.producer, "", `[` + ev("") + `,{"topic":"realestate/contact#add","data":{}}]`, 400, "events[1]: " + publish.MsgNoRecipient},
		{"no topic", evKeys.producer, "", `{"recipient":"` + alice + `","data":{}}`, 400, publish.MsgNoTopic},
		{"no data", evKeys.producer, "", `{"recipient":"` + alice + `","topic":"realestate/contact#add"}`, 400, publish.MsgNoData},
		{"bad recipient", evKeys.producer, "", `{"recipient":"alice","topic":"realestate/contact#add","data":{}}`, 400, publish.MsgBadRecipient},
		{"recipient not a string", evKeys.producer, "", `{"recipient":5,"topic":"realestate/contact#add","data":{}}`, 400, publish.MsgBadRecipient},
		{"bad source", evKeys.producer, "", ev(`,"source":"ftp://x"`), 400, publish.MsgBadSource},
		{"bad topic", evKeys.producer, "", `{"recipient":"` + alice + `","topic":"contact","data":{}}`, 400, `invalid topic "contact": must be {domain}/{topic} or {domain}/{topic}#{action}`},
		{"topic not a string", evKeys.producer, "", `{"recipient":"` + alice + `","topic":["a/b"],"data":{}}`, 400, publish.MsgBadTopicType},
		{"data not object", evKeys.producer, "", `{"recipient":"` + alice + `","topic":"realestate/contact#add","data":"x"}`, 400, publish.MsgDataNotObject},
		{"bad id", evKeys.producer, "", ev(`,"id":"nope"`), 400, publish.MsgBadID},
		{"bad timestamp", evKeys.producer, "", ev(`,"timestamp":"yesterday"`), 400, publish.MsgBadTimestamp},
		{"bad correlationId", evKeys.producer, "", ev(`,"correlationId":""`), 400, fmt.Sprintf(publish.MsgBadCorrelation, "correlationId")},
		{"bad causationId", evKeys.producer, "", ev(`,"causationId":7`), 400, fmt.Sprintf(publish.MsgBadCorrelation, "causationId")},
		{"bad delay", evKeys.producer, "", ev(`,"delay":-1`), 400, publish.MsgBadDelay},
		{"bad deliverAt", evKeys.producer, "", ev(`,"deliverAt":"soon"`), 400, publish.MsgBadDeliverAt},
		{"delay and deliverAt", evKeys.producer, "", ev(`,"delay":1,"deliverAt":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"`), 400, publish.MsgDelayAndDeliverAt},
		{"deliverAt beyond a year", evKeys.producer, "", ev(`,"deliverAt":"2999-01-01T00:00:00Z"`), 400, publish.MsgBadDeliverAt},
		{"unknown field", evKeys.producer, "", ev(`,"recipents":"x"`), 400, fmt.Sprintf(publish.MsgUnknownField, "recipents")},
		{"duplicate field", evKeys.producer, "", ev(`,"topic":"realestate/contact"`), 400, fmt.Sprintf(publish.MsgDuplicateField, "topic")},
		{"not json", evKeys.producer, "", `{"recipient":`, 400, publish.MsgBadJSON + "unexpected end of JSON input (at byte 13)"},
		{"body a string", evKeys.producer, "", `"event"`, 400, publish.MsgBodyShape},
		{"empty array", evKeys.producer, "", `[]`, 400, publish.MsgEmptyArray},
		{"array of non-objects", evKeys.producer, "", `[` + ev("") + `,3]`, 400, "events[1]: " + publish.MsgNotObject},
		{"duplicate id in array", evKeys.producer, "", `[` + ev(`,"id":"4c99d051-a526-4526-9cca-34f92a6c8c9d"`) + `,` + ev(`,"id":"4C99D051A52645269CCA34F92A6C8C9D"`) + `]`, 400, "events[1]: " + fmt.Sprintf(publish.MsgDuplicateID, "4c99d051a52645269cca34f92a6c8c9d")},
		{"bad JSON-LD", evKeys.producer, "", ev(`,"@context":"https://unknown.example/ctx"`), 400, ""},
		{"recipient pod missing", evKeys.producer, "", `{"recipient":"` + s.WebID("nobody") + `","topic":"realestate/contact#add","data":{}}`, 400, fmt.Sprintf(publish.MsgNoSuchPod, "recipient", s.WebID("nobody"), "nobody")},
		{"recipient: the profile, not the WebID", evKeys.producer, "", `{"recipient":"` + s.PodRoot("alice") + `profile/card","topic":"realestate/contact#add","data":{}}`, 400, fmt.Sprintf(publish.MsgNotWebID, "recipient", s.PodRoot("alice")+"profile/card", alice)},
		{"recipient: the pod without its slash", evKeys.producer, "", `{"recipient":"` + s.BaseURL() + `/alice","topic":"realestate/contact#add","data":{}}`, 400, fmt.Sprintf(publish.MsgNotWebID, "recipient", s.BaseURL()+"/alice", alice)},
		{"source: in no pod", evKeys.producer, "", ev(`,"source":"` + s.BaseURL() + `/metrics"`), 400, fmt.Sprintf(publish.MsgNotPodURL, "source", s.BaseURL()+"/metrics", s.WebID("NAME"))},
		{"not authorized: topic", evKeys.producer, "", `{"recipient":"` + alice + `","topic":"realestate/listing#add","data":{}}`, 403, fmt.Sprintf(publish.MsgNotAuthorized, alice, "realestate/listing#add")},
		{"not authorized: recipient without settings", evKeys.producer, "", `{"recipient":"` + crm + `","topic":"realestate/contact#add","data":{}}`, 403, fmt.Sprintf(publish.MsgNotAuthorized, crm, "realestate/contact#add")},
		{"not authorized: source", evKeys.producer, "", ev(`,"source":"` + crm + `"`), 403, fmt.Sprintf(publish.MsgNotAuthorized, crm, "realestate/contact#add")},
		{"not authorized: array element", evKeys.producer, "", `[` + ev("") + `,{"recipient":"` + bob + `","topic":"other/x","data":{}}]`, 403, fmt.Sprintf(publish.MsgNotAuthorized, bob, "other/x")},
		{"owner key of another pod", evKeys.crm, "", ev(""), 403, publish.MsgForeignKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/", key: c.key, body: c.body, ctype: c.ctype})
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			msg, _ := r.json(t)["error"].(string)
			if c.msg != "" && msg != c.msg {
				t.Fatalf("error %q\nwant  %q", msg, c.msg)
			}
			if msg == "" {
				t.Fatalf("no error message: %s", r.body)
			}
		})
	}
	// Nothing was stored anywhere.
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"bob", evKeys.bob}, {"crm", evKeys.crm}} {
		if n := len(allCopies(t, s, who.pod, who.key)); n != 0 {
			t.Errorf("%s inbox has %d items after rejected publishes", who.pod, n)
		}
	}
	g := evDo(t, evReq{method: "GET", url: s.PodRoot("producer") + "publish/", key: evKeys.producerOwner, hdr: map[string]string{"Accept": "application/ld+json"}})
	if g.status != http.StatusOK || strings.Contains(g.body, "publish/0") || len(g.json(t)["contains"].([]any)) != 0 {
		t.Errorf("producer publish/ after rejects: %d %s", g.status, g.body)
	}
}

// A client id makes publishing idempotent: the same body again is a 200 with
// the same Location and no second copy; another body with that id is a 409.
func TestPublishIdempotent(t *testing.T) {
	s, _ := evServer(t, "")
	const id = "4c99d051-a526-4526-9cca-34f92a6c8c9d"
	body := `{"id":"` + id + `","recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	first := publishTo(t, s, "producer", evKeys.producer, body)
	if first.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", first.status, first.body)
	}
	loc := first.hdr.Get("Location")
	if want := s.PodRoot("producer") + "publish/4c99d051a52645269cca34f92a6c8c9d"; loc != want {
		t.Fatalf("Location %s, want %s", loc, want)
	}
	// Whitespace does not make a different body.
	again := publishTo(t, s, "producer", evKeys.producer, "  "+strings.ReplaceAll(body, ",", ", ")+"\n")
	if again.status != http.StatusOK || again.hdr.Get("Location") != loc || again.json(t)["id"] != loc {
		t.Fatalf("retry: %d %v %s", again.status, again.hdr.Get("Location"), again.body)
	}
	other := publishTo(t, s, "producer", evKeys.producer, strings.Replace(body, "AddAction", "RemoveAction", 1))
	if other.status != http.StatusConflict || other.json(t)["error"] != fmt.Sprintf(publish.MsgConflict, "4c99d051a52645269cca34f92a6c8c9d") {
		t.Fatalf("conflict: %d %s", other.status, other.body)
	}
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"crm", evKeys.crm}} {
		if n := countID(allCopies(t, s, who.pod, who.key), loc); n != 1 {
			t.Errorf("%s has %d copies, want 1", who.pod, n)
		}
	}
	// A client id equal to a server-made event id is a conflict, not an
	// overwrite.
	srv := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+s.WebID("alice")+`","topic":"realestate/contact#add","data":{}}`)
	sid := strings.TrimPrefix(srv.hdr.Get("Location"), s.PodRoot("producer")+"publish/")
	steal := publishTo(t, s, "producer", evKeys.producer, `{"id":"`+sid+`","recipient":"`+s.WebID("alice")+`","topic":"realestate/contact#add","data":{"x":1}}`)
	if steal.status != http.StatusConflict {
		t.Fatalf("reusing a server id: %d %s", steal.status, steal.body)
	}
}

// An array is stored atomically: one bad or unauthorized element stores
// nothing, a conflicting id in one element stores nothing.
func TestPublishAtomicArray(t *testing.T) {
	s, _ := evServer(t, "")
	good := `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	withID := `{"id":"11111111-2222-3333-4444-555555555555","recipient":"` + s.WebID("bob") + `","topic":"realestate/contact#add","data":{"v":1}}`
	r := publishTo(t, s, "producer", evKeys.producer, `[`+withID+`]`)
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	for _, bad := range []struct {
		body string
		want int
	}{
		// events[2] lacks topic and data: invalid.
		{`[` + good + `,` + good + `,{"recipient":"` + s.WebID("alice") + `"}]`, http.StatusBadRequest},
		// events[1]'s topic is not one producer may publish to alice.
		{`[` + good + `,{"recipient":"` + s.WebID("alice") + `","topic":"nope/nope","data":{}}]`, http.StatusForbidden},
		// events[1] reuses a stored id with another body.
		{`[` + good + `,` + strings.Replace(withID, `"v":1`, `"v":2`, 1) + `]`, http.StatusConflict},
	} {
		r := publishTo(t, s, "producer", evKeys.producer, bad.body)
		if r.status != bad.want {
			t.Fatalf("publish of a bad array: %d %s, want %d", r.status, r.body, bad.want)
		}
		// 400 and 409 name the index; the 403 keeps the seed's exact
		// message, which names the WebID and topic.
		if r.status != http.StatusForbidden && !strings.Contains(r.body, "events[") {
			t.Errorf("array error does not name the index: %s", r.body)
		}
	}
	if n := len(allCopies(t, s, "alice", evKeys.alice)); n != 0 {
		t.Errorf("alice has %d copies after rejected arrays", n)
	}
	if n := len(allCopies(t, s, "crm", evKeys.crm)); n != 1 {
		t.Errorf("crm has %d copies, want the 1 of the first publish", n)
	}
	// A good array: every event, with its copies; a retry of an element
	// with a new one creates the new one only.
	r = publishTo(t, s, "producer", evKeys.producer, `[`+good+`,`+withID+`]`)
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	ids, _ := r.json(t)["ids"].([]any)
	if len(ids) != 2 || ids[1] != s.PodRoot("producer")+"publish/11111111222233334444555555555555" {
		t.Fatalf("ids: %v", ids)
	}
	if n := len(allCopies(t, s, "crm", evKeys.crm)); n != 2 {
		t.Errorf("crm has %d copies, want 2", n)
	}
}

// Pod limits from settings/publish; a settings/subscriptions change takes
// effect on the next publish (the README walk-through's 403).
func TestPublishSettings(t *testing.T) {
	s, _ := evServer(t, "")
	put := func(pod, key, rel, body string) {
		t.Helper()
		r := evDo(t, evReq{method: "PUT", url: s.PodRoot(pod) + rel, key: key, body: body, ctype: "application/ld+json"})
		if r.status != http.StatusCreated && r.status != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", rel, r.status, r.body)
		}
	}
	put("producer", evKeys.producerOwner, "settings/publish", `{"maxDataBytes": 64, "dataKeys": "snake_case"}`)
	ev := func(data string) string {
		return `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":` + data + `}`
	}
	cases := []struct {
		data   string
		status int
		msg    string
	}{
		{`{"type": "AddAction", "user_id": "u1"}`, 201, ""},
		{`{"type": "AddAction", "userId": "u1"}`, 400, fmt.Sprintf(publish.MsgDataKeyCase, "userId")},
		{`{"type": "AddAction", "object": {"Name": "x"}}`, 400, fmt.Sprintf(publish.MsgDataKeyCase, "Name")},
		{`{"type": "AddAction", "user_id": "` + strings.Repeat("x", 64) + `"}`, 400, fmt.Sprintf(publish.MsgDataTooLarge, 97, 64)},
	}
	for _, c := range cases {
		r := publishTo(t, s, "producer", evKeys.producer, ev(c.data))
		if r.status != c.status {
			t.Fatalf("%s: %d %s", c.data, r.status, r.body)
		}
		if c.msg != "" && r.json(t)["error"] != c.msg {
			t.Fatalf("%s: error %s, want %q", c.data, r.body, c.msg)
		}
	}
	// alice's owner removes producer's permission: the next publish is a
	// 403, and a malformed document is refused with the old one in force.
	bad := evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, ctype: "application/ld+json", body: `{"version":"1","items":[{"agent":"x"}]}`})
	if bad.status != http.StatusBadRequest {
		t.Fatalf("malformed settings: %d %s", bad.status, bad.body)
	}
	if r := publishTo(t, s, "producer", evKeys.producer, ev(`{"type":"AddAction"}`)); r.status != 201 {
		t.Fatalf("publish with old settings in force: %d %s", r.status, r.body)
	}
	put("alice", evKeys.alice, "settings/subscriptions", `{"version":"1","items":[{"type":"Subscription","agent":"`+s.WebID("crm")+`","subscribes":["realestate/contact"]}]}`)
	r := publishTo(t, s, "producer", evKeys.producer, ev(`{"type":"AddAction"}`))
	if r.status != http.StatusForbidden || r.json(t)["error"] != fmt.Sprintf(publish.MsgNotAuthorized, s.WebID("alice"), "realestate/contact#add") {
		t.Fatalf("after removing the permission: %d %s", r.status, r.body)
	}
}

// ?wait=N answers with the per-target results of the targets the publisher
// addressed (recipient and source; the subscribers their settings route
// are theirs); delayed events are held back and reported once delivered.
func TestPublishWait(t *testing.T) {
	s, _ := evServer(t, "")
	r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=5", key: evKeys.producer, body: seedEvent(s)})
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	ds, _ := r.json(t)["deliveries"].([]any)
	if len(ds) != 2 || strings.Contains(r.body, s.PodRoot("crm")) {
		t.Fatalf("deliveries: %s", r.body)
	}
	if n := countID(allCopies(t, s, "crm", evKeys.crm), r.hdr.Get("Location")); n != 1 {
		t.Errorf("crm, subscribed at alice and bob, holds %d copies when ?wait answers", n)
	}
	want := map[string]bool{s.PodRoot("alice") + "inbox/": true, s.PodRoot("bob") + "inbox/": true}
	for _, d := range ds {
		m := d.(map[string]any)
		if !want[fmt.Sprint(m["target"])] || m["status"] != "delivered" {
			t.Errorf("delivery %v", m)
		}
	}
	start := time.Now()
	r = evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=10", key: evKeys.producer,
		body: `[{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{},"delay":1}]`})
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 8*time.Second {
		t.Errorf("wait with delay 1 took %v", el)
	}
	evs, _ := r.json(t)["events"].([]any)
	if len(evs) != 1 || !strings.Contains(r.body, `"status":"delivered"`) || strings.Contains(r.body, "pending") {
		t.Fatalf("delayed wait: %s", r.body)
	}
}

// A delayed event is held back durably: after a restart it is delivered at
// its time, once.
func TestPublishDelaySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, stop := evServer(t, dir)
	r := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+s.WebID("alice")+`","topic":"realestate/contact#add","data":{"type":"AddAction"},"delay":2}`)
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	loc := r.hdr.Get("Location")
	if n := len(allCopies(t, s, "alice", evKeys.alice)); n != 0 {
		t.Fatalf("alice got %d copies before the delay passed", n)
	}
	stop()
	s2, _ := evServer(t, dir)
	pg, resp := readInbox(t, s2, "crm", evKeys.crm, "wait=10")
	if resp.status != http.StatusOK || len(pg.Contains) != 1 || pg.Contains[0]["id"] != loc {
		t.Fatalf("crm after restart: %d %s", resp.status, resp.body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n := countID(allCopies(t, s2, "alice", evKeys.alice), loc); n == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("alice has %d copies", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A WebID that names this server by another of its names (localhost for
// 127.0.0.1 here) is a local pod's: the event is delivered to that pod's
// inbox, not sent to "another server".
func TestPublishToAlias(t *testing.T) {
	s, _ := evServer(t, "")
	base := s.BaseURL()
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base %s: the test needs a server on 127.0.0.1", base)
	}
	aliasAlice := strings.Replace(s.WebID("alice"), "127.0.0.1", "localhost", 1)
	r := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+aliasAlice+`","topic":"realestate/contact#add","data":{"type":"AddAction"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("publish to %s: %d %s", aliasAlice, r.status, r.body)
	}
	if n := countID(allCopies(t, s, "alice", evKeys.alice), r.hdr.Get("Location")); n != 1 {
		t.Errorf("alice's inbox holds %d copies of the event published to her WebID by alias, want 1", n)
	}
}

// A name the operator lists (Options.Aliases, serve --alias) is this
// server too.
func TestPublishToListedAlias(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{Aliases: []string{"pods.internal"}})
	alias := "http://pods.internal/alice/profile/card#me"
	r := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+alias+`","topic":"realestate/contact#add","data":{"type":"AddAction"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("publish to %s: %d %s", alias, r.status, r.body)
	}
	if n := countID(allCopies(t, s, "alice", evKeys.alice), r.hdr.Get("Location")); n != 1 {
		t.Errorf("alice's inbox holds %d copies of the event published to her WebID by a listed alias, want 1", n)
	}
}
