package pod_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/publish"
	"podserver/rdf"
	"podserver/store"
)

// TestCachesFollowStoreWrites checks that every cache follows the store's
// change feed, not the handlers: changes written straight into the store
// with store.Update, bypassing every handler (as another node sharing the
// store would), apply to the next request. Each cache is warmed first.
//   - a removed ACL rule applies on the next request;
//   - a removed topic permission applies on the next publish;
//   - a revoked key is refused on the next request;
//   - a changed document is served changed (representation cache).
func TestCachesFollowStoreWrites(t *testing.T) {
	s, _ := evServer(t, "")
	ctx := context.Background()
	st := s.Store()
	update := func(fn func(tx store.Txn) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	put := func(pod, rel, ct string, body []byte) func(tx store.Txn) error {
		return func(tx store.Txn) error {
			_, _, err := ldp.Put(tx, ldp.StoragePath(pod, rel), ct, body, time.Now(), ldp.Preconditions{})
			return err
		}
	}

	// ACL: alice's profile is public until its #public rule is removed.
	card := s.PodRoot("alice") + "profile/card"
	for range 2 {
		if r := evDo(t, evReq{method: "GET", url: card}); r.status != http.StatusOK {
			t.Fatalf("anonymous GET of the profile: %d %s", r.status, r.body)
		}
	}
	ownerOnly := `{"@context": "` + rdf.ContextURI + `", "@graph": [{"id": "#owner", "type": "acl:Authorization",
		"acl:accessTo": {"id": "card"}, "acl:agent": {"id": "card#me"},
		"acl:mode": [{"id": "acl:Read"}, {"id": "acl:Write"}, {"id": "acl:Control"}]}]}`
	update(put("alice", "profile/card.acl", ldp.MediaJSONLD, []byte(ownerOnly)))
	if r := evDo(t, evReq{method: "GET", url: card}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous GET after the public rule was removed in the store: %d, want 401", r.status)
	}
	if r := evDo(t, evReq{method: "GET", url: card, key: evKeys.alice}); r.status != http.StatusOK {
		t.Errorf("owner GET of the profile: %d", r.status)
	}

	// Settings: producer may publish to alice until the permission goes.
	ev := `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	for range 2 {
		if r := publishTo(t, s, "producer", evKeys.producer, ev); r.status != http.StatusCreated {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	noPublishers := `{"@context": "` + rdf.ContextURI + `", "version": "1", "items": [{"type": "Subscription", "agent": "` +
		s.WebID("crm") + `", "subscribes": ["realestate/contact"]}]}`
	update(put("alice", "settings/subscriptions", ldp.MediaJSONLD, []byte(noPublishers)))
	r := publishTo(t, s, "producer", evKeys.producer, ev)
	if want := fmt.Sprintf(publish.MsgNotAuthorized, s.WebID("alice"), "realestate/contact#add"); r.status != http.StatusForbidden || r.json(t)["error"] != want {
		t.Errorf("publish after the permission was removed in the store: %d %s, want 403 %q", r.status, r.body, want)
	}

	// Keys: bob's owner key works until its records are deleted.
	inbox := s.PodRoot("bob") + "inbox/"
	for range 2 {
		if r := evDo(t, evReq{method: "GET", url: inbox, key: evKeys.bob}); r.status != http.StatusOK {
			t.Fatalf("GET with bob's key: %d %s", r.status, r.body)
		}
	}
	hash := sha256.Sum256([]byte(evKeys.bob))
	update(func(tx store.Txn) error {
		var index [][]byte
		err := tx.Scan([]byte(store.PrefixPodKey+"bob\x00"), nil, false, func(k, v []byte) error {
			if bytes.Equal(v, hash[:]) {
				index = append(index, slices.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(index) != 1 {
			return fmt.Errorf("bob's key has %d index entries, want 1", len(index))
		}
		if err := tx.Delete(index[0]); err != nil {
			return err
		}
		return tx.Delete(append([]byte(store.PrefixKey), hash[:]...))
	})
	if r := evDo(t, evReq{method: "GET", url: inbox, key: evKeys.bob}); r.status != http.StatusUnauthorized {
		t.Errorf("GET with a key deleted in the store: %d %s, want 401", r.status, r.body)
	}

	// Representations: a Turtle rendering follows a direct write.
	doc := s.PodRoot("alice") + "notes/doc"
	if r := evDo(t, evReq{method: "PUT", url: doc, key: evKeys.alice, ctype: "text/turtle", body: `<#it> <http://example.org/p> "one" .`}); r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	turtle := func() string {
		t.Helper()
		r := evDo(t, evReq{method: "GET", url: doc, key: evKeys.alice, hdr: map[string]string{"Accept": "text/turtle"}})
		if r.status != http.StatusOK {
			t.Fatalf("GET: %d %s", r.status, r.body)
		}
		return r.body
	}
	if b := turtle(); !strings.Contains(b, `"one"`) {
		t.Fatalf("first read: %s", b)
	}
	update(put("alice", "notes/doc", "text/turtle", []byte(`<#it> <http://example.org/p> "two" .`)))
	if b := turtle(); !strings.Contains(b, `"two"`) {
		t.Errorf("after a direct write: %s, want the new statement", b)
	}
}
