package inbox

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// Copies the server writes are stored by reference: one body for every
// copy, counted, gone with the last copy.

// bodyState returns how many records reference body and whether the body
// itself is stored.
func bodyState(t *testing.T, st store.Store, body []byte) (refs uint64, stored bool) {
	t.Helper()
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		if refs, err = ldp.BodyRefs(rd, body); err != nil {
			return err
		}
		return rd.Scan([]byte(store.PrefixBody+"d"), nil, false, func(_, v []byte) error {
			if bytes.Equal(v, body) {
				stored = true
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs, stored
}

// countKeys counts the keys under prefix.
func countKeys(t *testing.T, st store.Store, prefix string) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(prefix), nil, false, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func getBody(t *testing.T, st store.Store, p string) ([]byte, error) {
	t.Helper()
	var body []byte
	err := st.View(context.Background(), func(rd store.Reader) error {
		res, err := ldp.Get(rd, p)
		if err == nil {
			body = res.Body
		}
		return err
	})
	return body, err
}

func update(t *testing.T, st store.Store, fn func(tx store.Txn) error) {
	t.Helper()
	if err := st.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestSharedBodyLastReference(t *testing.T) {
	st := newStore(t)
	addPods(t, st, "bob", "carol", "dave")
	ib := New()
	id := "http://x/producer/publish/e1"
	body := []byte(`{"id":"` + id + `","topic":"t","data":{"n":1}}`)
	inboxes := []string{Path("alice"), Path("bob"), Path("carol"), Path("dave")}
	var items []string
	// A fan-out written in two batches, as the fan-out job writes it.
	for _, batch := range [][]string{inboxes[:1], inboxes[1:]} {
		update(t, st, func(tx store.Txn) error {
			var cs []Copy
			for _, in := range batch {
				cs = append(cs, Copy{Inbox: in, EventID: id, Body: body, InboxExists: true})
			}
			res, err := ib.AppendAll(tx, cs, time.Now())
			for _, r := range res {
				items = append(items, r.Item)
			}
			return err
		})
	}
	if refs, stored := bodyState(t, st, body); refs != 4 || !stored {
		t.Fatalf("after 4 copies: %d references, stored %v", refs, stored)
	}
	if n := countKeys(t, st, store.PrefixBody+"d"); n != 1 {
		t.Errorf("%d bodies stored for one event", n)
	}
	// The same event again adds no copy and no reference.
	update(t, st, func(tx store.Txn) error {
		_, added, err := ib.Append(tx, Copy{Inbox: Path("bob"), EventID: id, Body: body}, time.Now())
		if added {
			t.Error("duplicate added")
		}
		return err
	})
	// Deleting one copy keeps the body for the others.
	update(t, st, func(tx store.Txn) error { return ldp.Delete(tx, items[0], ldp.Preconditions{}) })
	if refs, stored := bodyState(t, st, body); refs != 3 || !stored {
		t.Fatalf("after a delete: %d references, stored %v", refs, stored)
	}
	if _, err := getBody(t, st, items[0]); !errors.Is(err, ldp.ErrNotFound) {
		t.Errorf("deleted item: %v", err)
	}
	// Replacing a copy releases its reference; it reads its new body.
	other := []byte(`{"replaced":true}`)
	update(t, st, func(tx store.Txn) error {
		_, _, err := ldp.Put(tx, items[1], ldp.MediaJSONLD, other, time.Now(), ldp.Preconditions{})
		return err
	})
	if b, err := getBody(t, st, items[1]); err != nil || !bytes.Equal(b, other) {
		t.Errorf("replaced item: %s %v", b, err)
	}
	if refs, _ := bodyState(t, st, body); refs != 2 {
		t.Fatalf("after a replace: %d references", refs)
	}
	for _, it := range items[2:] {
		if b, err := getBody(t, st, it); err != nil || !bytes.Equal(b, body) {
			t.Errorf("%s: %s %v", it, b, err)
		}
	}
	pg := listAll(t, st, Path("carol"))
	if len(pg.Items) != 1 || !bytes.Equal(pg.Items[0].Body, body) {
		t.Errorf("listing: %+v", pg.Items)
	}
	update(t, st, func(tx store.Txn) error { return ldp.Delete(tx, items[2], ldp.Preconditions{}) })
	if refs, stored := bodyState(t, st, body); refs != 1 || !stored {
		t.Fatalf("one copy left: %d references, stored %v", refs, stored)
	}
	update(t, st, func(tx store.Txn) error { return ldp.Delete(tx, items[3], ldp.Preconditions{}) })
	if refs, stored := bodyState(t, st, body); refs != 0 || stored {
		t.Fatalf("no copy left: %d references, stored %v", refs, stored)
	}
	if n := countKeys(t, st, store.PrefixBody); n != 0 {
		t.Errorf("%d shared body keys left", n)
	}
}

func listAll(t *testing.T, st store.Store, in string) Page {
	t.Helper()
	var pg Page
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		pg, err = List(rd, in, 0, 1000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

// Copies of different events with the same bytes share one body; items
// stored as sent keep theirs inline.
func TestSharedBodyAcrossEventsAndInline(t *testing.T) {
	st := newStore(t)
	ib := New()
	body := []byte(`{"same":"bytes"}`)
	for i := range 3 {
		appendOne(t, st, ib, Copy{Inbox: Path("alice"), EventID: "http://x/e" + strconv.Itoa(i), Body: body})
	}
	if refs, _ := bodyState(t, st, body); refs != 3 {
		t.Errorf("%d references", refs)
	}
	sent := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce"}`)
	item, _ := appendOne(t, st, ib, Copy{Inbox: Path("alice"), EventID: "http://y/n1", Body: sent, Sender: &Sender{Agent: "http://y/me"}})
	if refs, stored := bodyState(t, st, sent); refs != 0 || stored {
		t.Errorf("an item stored as sent is shared: %d %v", refs, stored)
	}
	if b, err := getBody(t, st, item); err != nil || !bytes.Equal(b, sent) {
		t.Errorf("%s: %s %v", item, b, err)
	}
	if n := len(listAll(t, st, Path("alice")).Items); n != 4 {
		t.Errorf("%d items listed", n)
	}
}

// Items in the layout before shared bodies (the body inline in the item's
// record, written as AppendAll wrote them then) are read and listed as
// before, and converted when the event comes again, without changing what
// a reader sees.
func TestOldLayoutItems(t *testing.T) {
	st := newStore(t)
	ib := New()
	id := "http://x/producer/publish/old"
	body := []byte(`{"id":"` + id + `","agent":"http://x/producer/profile/card#me","data":{"n":1}}`)
	var item string
	now := time.Now()
	update(t, st, func(tx store.Txn) error {
		seq := tx.NextSeq()
		var err error
		item, _, err = ldp.AppendSeqMember(tx, Path("alice"), seq, ldp.MediaJSONLD, body, now)
		if err != nil {
			return err
		}
		return tx.Set(copiesKey(id), appendHolder(nil, holder{inbox: Path("alice"), seq: seq}))
	})
	before := readRes(t, st, item)
	pgBefore := listAll(t, st, Path("alice"))
	if !bytes.Equal(before.Body, body) || len(pgBefore.Items) != 1 || !bytes.Equal(pgBefore.Items[0].Body, body) {
		t.Fatalf("old item: %s %+v", before.Body, pgBefore.Items)
	}
	if refs, stored := bodyState(t, st, body); refs != 0 || stored {
		t.Fatalf("old item shared already: %d %v", refs, stored)
	}
	// The event comes again: the item is touched, and converted.
	if it, added := appendOne(t, st, ib, Copy{Inbox: Path("alice"), EventID: id, Body: body}); added || it != item {
		t.Fatalf("duplicate: %s %v", it, added)
	}
	if refs, stored := bodyState(t, st, body); refs != 1 || !stored {
		t.Fatalf("not converted: %d %v", refs, stored)
	}
	after := readRes(t, st, item)
	if !bytes.Equal(after.Body, before.Body) || after.Meta != before.Meta {
		t.Errorf("converted item reads differently:\n%+v %s\n%+v %s", before.Meta, before.Body, after.Meta, after.Body)
	}
	pgAfter := listAll(t, st, Path("alice"))
	if len(pgAfter.Items) != 1 || !bytes.Equal(pgAfter.Items[0].Body, body) || !pgAfter.Items[0].Arrived.Equal(pgBefore.Items[0].Arrived) {
		t.Errorf("converted listing: %+v", pgAfter.Items)
	}
	// Converting again does nothing; a new copy elsewhere shares the body.
	update(t, st, func(tx store.Txn) error {
		ok, err := ldp.ShareBody(tx, item)
		if ok {
			t.Error("converted twice")
		}
		return err
	})
	addPods(t, st, "bob")
	appendOne(t, st, ib, Copy{Inbox: Path("bob"), EventID: id, Body: body})
	if refs, _ := bodyState(t, st, body); refs != 2 {
		t.Errorf("%d references", refs)
	}
	update(t, st, func(tx store.Txn) error { return ldp.Delete(tx, item, ldp.Preconditions{}) })
	if refs, stored := bodyState(t, st, body); refs != 1 || !stored {
		t.Errorf("after deleting the converted item: %d %v", refs, stored)
	}
}

func readRes(t *testing.T, st store.Store, p string) *ldp.Resource {
	t.Helper()
	var res *ldp.Resource
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		res, err = ldp.Get(rd, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
