package pod_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"podserver/ldp"
	"podserver/publish"
)

// An event copy (a notification with a topic and a recipient) POSTed to an
// inbox with an API key needs the permission a signed copy from another
// server needs, and is refused with the same 403 and the seed's text;
// plain notifications are stored as before.
func TestDeliveryCopyNeedsPermissionWithKey(t *testing.T) {
	s, _ := evServer(t, "")
	const topic = "realestate/contact#add"
	elsewhere := "https://elsewhere.example/profile/card#me"
	copyOf := func(recipient string) string {
		return `{"id":"https://elsewhere.example/publish/` + ldp.NewID() + `","recipient":"` + recipient + `","topic":"` + topic + `","data":{"type":"AddAction"}}`
	}
	notAuthorized := func(webID string) string { return fmt.Sprintf(publish.MsgNotAuthorized, webID, topic) }
	cases := []struct {
		name, inbox, key, body string
		status                 int
		msg                    string // the exact error, for refusals
	}{
		// Recipient copies: alice's settings decide.
		{"recipient copy from an agent alice does not allow", "alice", evKeys.bob, copyOf(s.WebID("alice")), http.StatusForbidden, notAuthorized(s.WebID("alice"))},
		{"recipient copy from alice's own owner", "alice", evKeys.alice, copyOf(s.WebID("alice")), http.StatusForbidden, notAuthorized(s.WebID("alice"))},
		{"recipient copy from the allowed producer", "alice", evKeys.producer, copyOf(s.WebID("alice")), http.StatusCreated, ""},
		{"source copy from an agent bob does not allow", "bob", evKeys.crm,
			`{"recipient":"` + elsewhere + `","source":"` + s.WebID("bob") + `","topic":"` + topic + `","data":{}}`, http.StatusForbidden, notAuthorized(s.WebID("bob"))},
		// Subscriber copies: the recipient's pod forwards, or the
		// recipient (here) allows the sender.
		{"subscriber copy from an agent the recipient does not allow", "crm", evKeys.bob, copyOf(s.WebID("alice")), http.StatusForbidden, notAuthorized(s.WebID("alice"))},
		{"subscriber copy forwarded by the recipient", "crm", evKeys.alice, copyOf(s.WebID("alice")), http.StatusCreated, ""},
		{"subscriber copy from an agent the recipient allows", "crm", evKeys.producer, copyOf(s.WebID("alice")), http.StatusCreated, ""},
		{"subscriber copy for a recipient on another server", "crm", evKeys.bob, copyOf(elsewhere), http.StatusForbidden, notAuthorized(elsewhere)},
		// Half an event copy, or one with non-string parties: a 400.
		{"topic without recipient", "alice", evKeys.bob, `{"topic":"` + topic + `","data":{}}`, http.StatusBadRequest, publish.MsgCopyFields},
		{"recipient without topic", "alice", evKeys.bob, `{"recipient":"` + s.WebID("alice") + `"}`, http.StatusBadRequest, publish.MsgCopyFields},
		{"recipient not a string", "alice", evKeys.bob, `{"recipient":5,"topic":"` + topic + `"}`, http.StatusBadRequest, publish.MsgCopyFields},
		// Plain notifications are not affected.
		{"plain notification", "alice", evKeys.bob, `{"type":"Announce","summary":"hello"}`, http.StatusCreated, ""},
		{"plain notification with an id", "alice", evKeys.bob, `{"id":"https://elsewhere.example/n/1","type":"Announce"}`, http.StatusCreated, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(allCopies(t, s, c.inbox, inboxKey(c.inbox)))
			r := evDo(t, evReq{method: "POST", url: s.PodRoot(c.inbox) + "inbox/", key: c.key, body: c.body, ctype: ldp.MediaJSONLD})
			if r.status != c.status {
				t.Fatalf("%d, want %d: %s", r.status, c.status, r.body)
			}
			after := len(allCopies(t, s, c.inbox, inboxKey(c.inbox)))
			if c.msg != "" {
				if got := r.json(t)["error"]; got != c.msg {
					t.Errorf("error %q, want %q", got, c.msg)
				}
				if after != before {
					t.Errorf("a refused copy was stored: %d items, then %d", before, after)
				}
			} else if after != before+1 {
				t.Errorf("%d items, then %d: want one more", before, after)
			}
		})
	}
}

// inboxKey is the owner key of a demo pod.
func inboxKey(pod string) string {
	return map[string]string{"alice": evKeys.alice, "bob": evKeys.bob, "crm": evKeys.crm, "producer": evKeys.producerOwner}[pod]
}

// The same rule holds for signed copies from another server: a subscriber
// copy is taken from the pod of its recipient (which forwards what its
// settings route), not from a server that signs a copy for someone else's
// recipient.
func TestDeliverySignedSubscriberCopy(t *testing.T) {
	a, b := remoteServer(t), remoteServer(t)
	const topic = "realestate/contact#add"
	id := a.PodRoot("producer") + "publish/" + ldp.NewID()
	body := `{"id":"` + id + `","agent":"` + a.WebID("producer") + `","recipient":"` + a.WebID("alice") + `","topic":"` + topic + `","data":{}}`
	inboxURL := b.PodRoot("crm") + "inbox/"

	key, keyID, err := a.SigningKey(context.Background(), "producer")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := signedPost(t, inboxURL, keyID, key, body)
	want := `{"error":"` + fmt.Sprintf(publish.MsgNotAuthorized, a.WebID("alice"), topic) + `"}`
	if got := respBody(resp); resp.StatusCode != http.StatusForbidden || got != want+"\n" && got != want {
		t.Fatalf("subscriber copy signed by the producer, not the recipient: %d %s", resp.StatusCode, got)
	}
	akey, akeyID, err := a.SigningKey(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := signedPost(t, inboxURL, akeyID, akey, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscriber copy forwarded by the recipient's pod: %d %s", resp.StatusCode, respBody(resp))
	}
	copies := allCopies(t, b, "crm", evKeys.crm)
	if n := countID(copies, id); n != 1 || copies[0]["agent"] != a.WebID("alice") {
		t.Fatalf("crm on B: %v", copies)
	}
}
