package publish

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// routeService returns a Service over an in-memory store with the pods
// producer, alice, bob and crm; alice lets producer publish
// realestate/contact and routes it to crm's inbox, to bob on another
// server and to a webhook.
func routeService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pods := testURLs("http://x")
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + pods.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + pods.WebID("crm") + `","subscribes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"https://other.example/bob/profile/card#me","subscribes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"https://hooks.example/#me","subscribes":["realestate/*"],"target":"https://hooks.example/cb"}]}`
	err = st.Update(ctx, func(tx store.Txn) error {
		for _, p := range []string{"producer", "alice", "bob", "crm"} {
			if err := ldp.CreatePod(tx, p, time.Now()); err != nil {
				return err
			}
		}
		_, _, err := ldp.Put(tx, ldp.StoragePath("alice", subscriptionsRel), ldp.MediaJSONLD, []byte(settings), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{
		cfg:      Config{Store: st, URLs: pods, Remote: true, Now: time.Now},
		settings: newSettingsCache(pods, slog.New(slog.DiscardHandler), nil),
	}
	return s, st
}

// The event copy rule, one table for both ways a copy arrives.
func TestAuthorizeCopy(t *testing.T) {
	s, _ := routeService(t)
	p := testURLs("http://x")
	const topic = "realestate/contact#add"
	elsewhere := "https://other.example/carol/profile/card#me"
	cases := []struct {
		name, pod, sender string
		copy              copyParties
		recipientCopy     bool
		status            int    // 0: allowed
		webID             string // the WebID the 403 names
	}{
		{"plain notification", "alice", p.WebID("bob"), copyParties{}, false, 0, ""},
		{"recipient copy, allowed", "alice", p.WebID("producer"), copyParties{Recipient: p.WebID("alice"), Topic: topic}, true, 0, ""},
		{"recipient copy, other topic", "alice", p.WebID("producer"), copyParties{Recipient: p.WebID("alice"), Topic: "finance/loan#add"}, false, 403, p.WebID("alice")},
		{"recipient copy, not allowed", "alice", p.WebID("bob"), copyParties{Recipient: p.WebID("alice"), Topic: topic}, false, 403, p.WebID("alice")},
		{"source copy, not allowed", "alice", p.WebID("bob"), copyParties{Recipient: elsewhere, Source: p.WebID("alice"), Topic: topic}, false, 403, p.WebID("alice")},
		{"recipient copy, pod without settings", "bob", p.WebID("producer"), copyParties{Recipient: p.WebID("bob"), Topic: topic}, false, 403, p.WebID("bob")},
		{"subscriber copy forwarded by the recipient", "crm", p.WebID("alice"), copyParties{Recipient: p.WebID("alice"), Topic: topic}, false, 0, ""},
		{"subscriber copy forwarded by the source", "crm", elsewhere, copyParties{Recipient: p.WebID("alice"), Source: elsewhere, Topic: topic}, false, 0, ""},
		{"subscriber copy from an agent the recipient allows", "crm", p.WebID("producer"), copyParties{Recipient: p.WebID("alice"), Topic: topic}, false, 0, ""},
		{"subscriber copy from an agent the recipient does not allow", "crm", p.WebID("bob"), copyParties{Recipient: p.WebID("alice"), Topic: topic}, false, 403, p.WebID("alice")},
		{"subscriber copy for a remote recipient, not from it", "crm", p.WebID("producer"), copyParties{Recipient: elsewhere, Topic: topic}, false, 403, elsewhere},
		{"no topic", "alice", p.WebID("producer"), copyParties{Recipient: p.WebID("alice")}, false, 400, ""},
		{"no recipient", "alice", p.WebID("producer"), copyParties{Topic: topic}, false, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rc bool
			err := s.view(context.Background(), func(rd snap) error {
				var err error
				rc, _, err = s.authorizeCopy(rd, c.pod, c.sender, c.copy)
				return err
			})
			var ae *apierr.Error
			switch {
			case c.status == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case c.status != 0 && (!errors.As(err, &ae) || ae.Status != c.status):
				t.Fatalf("got %v, want a %d", err, c.status)
			case c.status == http.StatusForbidden && ae.Msg != "Not authorized to publish to "+c.webID+" on topic "+c.copy.Topic:
				t.Fatalf("403 message %q", ae.Msg)
			case c.status == http.StatusBadRequest && ae.Msg != MsgCopyFields:
				t.Fatalf("400 message %q", ae.Msg)
			}
			if rc != c.recipientCopy {
				t.Errorf("recipient copy %v, want %v", rc, c.recipientCopy)
			}
		})
	}
}

// The targets of an event: the recipient the producer addressed is the
// producer's; everything alice's settings route is alice's (Via).
func TestTargetsOwner(t *testing.T) {
	s, st := routeService(t)
	p := testURLs("http://x")
	stored := []byte(`{"recipient":"` + p.WebID("alice") + `","topic":"realestate/contact#add","agent":"` + p.WebID("producer") + `"}`)
	var ts, fw []Target
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		if ts, err = s.Targets(context.Background(), rd, "producer", stored); err != nil {
			return err
		}
		fw, err = s.Forwards(context.Background(), rd, "alice", stored)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, target, owner string }{
		{deliver.KindInbox, inbox.Path("alice"), "producer"},
		{deliver.KindInbox, inbox.Path("crm"), "alice"},
		{deliver.KindLDN, "https://other.example/bob/profile/card#me", "alice"},
		{deliver.KindWebhook, "https://hooks.example/cb", "alice"},
	}
	if len(ts) != len(want) {
		t.Fatalf("targets %+v", ts)
	}
	for i, w := range want {
		if ts[i].Kind != w.kind || ts[i].Target != w.target || ts[i].Owner("producer") != w.owner {
			t.Errorf("target %d: %+v (owner %s), want %+v", i, ts[i], ts[i].Owner("producer"), w)
		}
	}
	// alice forwards what her settings route, all of it hers.
	if len(fw) != len(want)-1 {
		t.Fatalf("forwards %+v", fw)
	}
	for i, w := range want[1:] {
		if fw[i].Kind != w.kind || fw[i].Target != w.target || fw[i].Owner("x") != "alice" {
			t.Errorf("forward %d: %+v, want %+v", i, fw[i], w)
		}
	}
	// A pod that is neither recipient nor source forwards nothing.
	err = st.View(context.Background(), func(rd store.Reader) error {
		fw, err = s.Forwards(context.Background(), rd, "crm", stored)
		return err
	})
	if err != nil || fw != nil {
		t.Errorf("crm forwards %+v, %v", fw, err)
	}
}

// A webhook's CloudEvent names the publishing pod as its source, whoever
// owns the delivery.
func TestEventSource(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{"http://x/producer/publish/abc", "http://x/producer/"},
		{"https://producer.example/publish/abc", "https://producer.example/"},
		{"https://elsewhere.example/n/1", "fallback"},
		{"http://x/producer/publish/a/b", "fallback"},
	} {
		if got := eventSource(c.id, "fallback"); got != c.want {
			t.Errorf("eventSource(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}
