package pod_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path"
	"testing"
	"time"

	"podserver/inbox"
	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
	"podserver/store"
)

// The copies of a published event share one stored body (ldp shared
// bodies): deleting the event or some copies leaves the others readable,
// and the body goes with the last copy.
func TestSharedCopiesOutliveEventAndOtherCopies(t *testing.T) {
	t.Run("badger", func(t *testing.T) {
		s, _ := evServer(t, "")
		sharedCopiesLifecycle(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		sharedCopiesLifecycle(t, podtest.RunServer(t, pod.Options{StoreURL: pgCluster.URL(t)}))
	})
}

func sharedCopiesLifecycle(t *testing.T, s *pod.Server) {
	r := publishTo(t, s, "producer", evKeys.producer, seedEvent(s))
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	event := r.hdr.Get("Location")
	itemOf := func(podName, key string) string {
		for _, c := range allCopies(t, s, podName, key) {
			if c["id"] == event {
				return c["url"].(string)
			}
		}
		t.Fatalf("no copy of %s in %s's inbox", event, podName)
		return ""
	}
	aliceItem, bobItem := itemOf("alice", evKeys.alice), itemOf("bob", evKeys.bob)
	aliceGet := evDo(t, evReq{method: "GET", url: aliceItem, key: evKeys.alice})
	bobGet := evDo(t, evReq{method: "GET", url: bobItem, key: evKeys.bob})
	if aliceGet.status != http.StatusOK || bobGet.status != http.StatusOK {
		t.Fatal(aliceGet.status, bobGet.status)
	}
	stored := storedBody(t, s, "bob", bobItem)
	// The event resource itself, alice's and bob's copies, and those of
	// the topic's subscribers: the event's bytes are stored once.
	refs := bodyRefs(t, s, stored)
	if refs < 3 || refs != uint64(len(holders(t, s, event)))+1 {
		t.Fatalf("the event's body has %d references, for the event and %d copies", refs, len(holders(t, s, event)))
	}

	// Deleting the event leaves its copies.
	if d := evDo(t, evReq{method: "DELETE", url: event, key: evKeys.producerOwner}); d.status != http.StatusNoContent {
		t.Fatalf("DELETE event: %d %s", d.status, d.body)
	}
	if g := evDo(t, evReq{method: "GET", url: aliceItem, key: evKeys.alice}); g.status != http.StatusOK || g.body != aliceGet.body || g.hdr.Get("ETag") != aliceGet.hdr.Get("ETag") {
		t.Errorf("alice's copy after the event's delete: %d %s", g.status, g.body)
	}
	if n := bodyRefs(t, s, stored); n != refs-1 {
		t.Fatalf("%d references after the event's delete, want %d", n, refs-1)
	}
	refs--
	// Deleting one copy leaves the other.
	if d := evDo(t, evReq{method: "DELETE", url: aliceItem, key: evKeys.alice}); d.status != http.StatusNoContent {
		t.Fatalf("DELETE alice's copy: %d %s", d.status, d.body)
	}
	if g := evDo(t, evReq{method: "GET", url: aliceItem, key: evKeys.alice}); g.status != http.StatusNotFound {
		t.Errorf("deleted copy: %d", g.status)
	}
	if g := evDo(t, evReq{method: "GET", url: bobItem, key: evKeys.bob}); g.status != http.StatusOK || g.body != bobGet.body || g.hdr.Get("ETag") != bobGet.hdr.Get("ETag") {
		t.Errorf("bob's copy after alice's delete: %d %s", g.status, g.body)
	}
	if n := bodyRefs(t, s, stored); n != refs-1 {
		t.Fatalf("%d references after one copy's delete, want %d", n, refs-1)
	}
	if d := evDo(t, evReq{method: "DELETE", url: bobItem, key: evKeys.bob}); d.status != http.StatusNoContent {
		t.Fatalf("DELETE bob's copy: %d %s", d.status, d.body)
	}
	// The last copy takes the body with it.
	for _, h := range holders(t, s, event) {
		if n := bodyRefs(t, s, stored); n == 0 {
			t.Fatalf("no reference left before %s is deleted", h.Item)
		}
		err := s.Store().Update(context.Background(), func(tx store.Txn) error {
			return ldp.Delete(tx, h.Item, ldp.Preconditions{})
		})
		if err != nil && !errors.Is(err, ldp.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n := bodyRefs(t, s, stored); n != 0 {
		t.Fatalf("%d references after the last copy's delete", n)
	}
	err := s.Store().View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixBody), nil, false, func(k, v []byte) error {
			if bytes.Equal(v, stored) {
				t.Errorf("the body is still stored under %q", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An item in the layout before shared bodies (its body inline in its
// record) answers GET and the listing byte for byte as the same item does
// once converted to a shared body.
func TestOldLayoutItemReadsAsConverted(t *testing.T) {
	s, _ := evServer(t, "")
	body := []byte(`{"id":"` + s.PodRoot("producer") + `publish/old1","topic":"realestate/contact#add","recipient":"` + s.WebID("alice") +
		`","agent":"` + s.WebID("producer") + `","data":{"type":"AddAction","object":{"type":"Contact","name":"Old Layout"}}}`)
	var item string
	err := s.Store().Update(context.Background(), func(tx store.Txn) error {
		var err error
		item, _, err = ldp.AppendSeqMember(tx, inbox.Path("alice"), tx.NextSeq(), ldp.MediaJSONLD, body, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	url := s.PodRoot("alice") + "inbox/" + path.Base(item)
	read := func() (evResp, evResp) {
		g := evDo(t, evReq{method: "GET", url: url, key: evKeys.alice})
		_, l := readInbox(t, s, "alice", evKeys.alice, "limit=1000")
		if g.status != http.StatusOK || l.status != http.StatusOK {
			t.Fatalf("GET item %d, listing %d", g.status, l.status)
		}
		return g, l
	}
	oldItem, oldList := read()
	if !bytes.Contains([]byte(oldList.body), []byte("Old Layout")) {
		t.Fatalf("the old item is not listed: %s", oldList.body)
	}
	if n := bodyRefs(t, s, body); n != 0 {
		t.Fatalf("old item shared already (%d)", n)
	}
	err = s.Store().Update(context.Background(), func(tx store.Txn) error {
		ok, err := ldp.ShareBody(tx, item)
		if !ok && err == nil {
			t.Error("not converted")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := bodyRefs(t, s, body); n != 1 {
		t.Fatalf("converted item: %d references", n)
	}
	newItem, newList := read()
	if newItem.body != oldItem.body || newItem.hdr.Get("ETag") != oldItem.hdr.Get("ETag") || newItem.hdr.Get("Content-Type") != oldItem.hdr.Get("Content-Type") {
		t.Errorf("GET differs:\n%v %s\n%v %s", oldItem.hdr, oldItem.body, newItem.hdr, newItem.body)
	}
	if newList.body != oldList.body {
		t.Errorf("listing differs:\n%s\n%s", oldList.body, newList.body)
	}
}

// holders returns the inboxes that received a copy of event.
func holders(t *testing.T, s *pod.Server, event string) []inbox.Holder {
	t.Helper()
	var hs []inbox.Holder
	err := s.Store().View(context.Background(), func(rd store.Reader) error {
		var err error
		hs, err = inbox.Holders(rd, event)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// storedBody returns the stored body of the inbox item at url of pod.
func storedBody(t *testing.T, s *pod.Server, podName, url string) []byte {
	t.Helper()
	var body []byte
	err := s.Store().View(context.Background(), func(rd store.Reader) error {
		res, err := ldp.Get(rd, ldp.StoragePath(podName, "inbox/"+path.Base(url)))
		if err == nil {
			body = res.Body
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func bodyRefs(t *testing.T, s *pod.Server, body []byte) uint64 {
	t.Helper()
	var n uint64
	err := s.Store().View(context.Background(), func(rd store.Reader) error {
		var err error
		n, err = ldp.BodyRefs(rd, body)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
