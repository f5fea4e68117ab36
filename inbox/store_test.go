package inbox

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
)

func newStore(t *testing.T) store.Store {
	t.Helper()
	st, _ := newWatchedStore(t)
	return st
}

// newWatchedStore returns newStore's store and the Inboxes that its change
// feed wakes, as the server wires them.
func newWatchedStore(t *testing.T) (store.Store, *Inboxes) {
	t.Helper()
	ib := New()
	st, err := store.Open(store.Options{InMemory: true, OnChange: ib.Observe, ChangePrefixes: []string{store.PrefixResource}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	err = st.Update(context.Background(), func(tx store.Txn) error {
		if err := ldp.CreatePod(tx, "alice", now); err != nil {
			return err
		}
		_, _, err := ldp.Put(tx, Path("alice"), "", nil, now, ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, ib
}

func TestItemName(t *testing.T) {
	for _, seq := range []uint64{0, 1, 255, 1 << 40, 1<<64 - 1} {
		name := ItemName(seq)
		got, ok := ParseItemName(name)
		if len(name) != 16 || !ok || got != seq {
			t.Errorf("%d -> %q -> %d %v", seq, name, got, ok)
		}
	}
	for _, bad := range []string{"", "123", "000000000000000G", "00000000000000000", "ABCDEF0000000000"} {
		if _, ok := ParseItemName(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if ItemName(9) >= ItemName(10) || ItemName(255) >= ItemName(256) {
		t.Error("names do not sort in sequence order")
	}
}

func appendOne(t *testing.T, st store.Store, ib *Inboxes, c Copy) (string, bool) {
	t.Helper()
	var item string
	var added bool
	err := st.Update(context.Background(), func(tx store.Txn) error {
		var err error
		item, added, err = ib.Append(tx, c, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return item, added
}

func TestAppendOncePerEvent(t *testing.T) {
	st := newStore(t)
	ib := New()
	c := Copy{Inbox: Path("alice"), EventID: "http://x/publish/1", Body: []byte(`{"id":"http://x/publish/1"}`)}
	first, added := appendOne(t, st, ib, c)
	if !added {
		t.Fatal("first copy not added")
	}
	again, added := appendOne(t, st, ib, c)
	if added || again != first {
		t.Fatalf("second copy: %s %v", again, added)
	}
	// Without an id, every notification is new.
	c.EventID = ""
	if _, added := appendOne(t, st, ib, c); !added {
		t.Fatal("copy without id not added")
	}
	// A pod that does not exist has no inbox.
	err := st.Update(context.Background(), func(tx store.Txn) error {
		_, _, err := ib.Append(tx, Copy{Inbox: Path("nobody"), EventID: "e", Body: []byte(`{}`)}, time.Now())
		return err
	})
	if err != ErrNoInbox {
		t.Fatalf("missing pod: %v", err)
	}
}

// One publish's copies share one entry: a later arrival of the same event
// finds the inbox that has it (through the new entry or the per-inbox key
// of older data) and adds only the inboxes that lack it.
func TestAppendAllOneEntry(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now()
	if err := st.Update(ctx, func(tx store.Txn) error {
		for _, p := range []string{"bob", "carol", "dave"} {
			if err := ldp.CreatePod(tx, p, now); err != nil {
				return err
			}
			if _, _, err := ldp.Put(tx, Path(p), "", nil, now, ldp.Preconditions{}); err != nil {
				return err
			}
		}
		// dave got the event before copies shared one entry.
		return tx.Set(legacyDedupKey(Path("dave"), "http://x/publish/2"), []byte(Path("dave")+ItemName(1)))
	}); err != nil {
		t.Fatal(err)
	}
	ib := New()
	const id = "http://x/publish/2"
	body := []byte(`{"id":"` + id + `"}`)
	appendAll := func(new bool, inboxes ...string) []Appended {
		t.Helper()
		cs := make([]Copy, len(inboxes))
		for i, in := range inboxes {
			cs[i] = Copy{Inbox: Path(in), EventID: id, Body: body, NewEvent: new, InboxExists: true}
		}
		var res []Appended
		if err := st.Update(ctx, func(tx store.Txn) error {
			var err error
			res, err = ib.AppendAll(tx, cs, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := appendAll(true, "alice", "bob")
	if !first[0].Added || !first[1].Added {
		t.Fatalf("new event: %+v", first)
	}
	var keys int
	if err := st.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixEventCopies), nil, false, func(_, _ []byte) error { keys++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if keys != 1 {
		t.Fatalf("%d copies entries for one event, want 1", keys)
	}
	again := appendAll(false, "bob", "carol", "dave", "alice", "carol")
	want := []Appended{{first[1].Item, false}, {again[1].Item, true}, {Path("dave") + ItemName(1), false}, {first[0].Item, false}, {again[1].Item, false}}
	for i := range want {
		if again[i] != want[i] {
			t.Fatalf("copy %d: %+v, want %+v (all: %+v)", i, again[i], want[i], again)
		}
	}
	if err := st.View(ctx, func(rd store.Reader) error {
		for _, in := range []string{"alice", "bob", "carol", "dave"} {
			if _, ok, err := Holds(rd, Path(in), id); err != nil || !ok {
				t.Errorf("Holds(%s) = %v, %v", in, ok, err)
			}
		}
		if _, ok, err := Holds(rd, Path("erin"), id); err != nil || ok {
			t.Errorf("Holds(erin) = %v, %v", ok, err)
		}
		// The entry lists the copies in arrival order (dave's, from the
		// per-inbox key of older data, is not in it).
		hs, err := Holders(rd, id)
		want := []Holder{{Path("alice"), first[0].Item}, {Path("bob"), first[1].Item}, {Path("carol"), again[1].Item}}
		if err != nil || !slices.Equal(hs, want) {
			t.Errorf("Holders = %+v, %v; want %+v", hs, err, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestListCursorsAndTime(t *testing.T) {
	st := newStore(t)
	ib := New()
	var items []string
	var times []time.Time
	for i := range 10 {
		times = append(times, time.Now())
		it, _ := appendOne(t, st, ib, Copy{Inbox: Path("alice"), EventID: "e" + strconv.Itoa(i), Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)})
		items = append(items, it)
		time.Sleep(2 * time.Millisecond)
	}
	list := func(from uint64, limit int) Page {
		var pg Page
		err := st.View(context.Background(), func(rd store.Reader) error {
			var err error
			pg, err = List(rd, Path("alice"), from, limit)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return pg
	}
	pg := list(0, 4)
	if len(pg.Items) != 4 || !pg.More || pg.Items[0].Path != items[0] || string(pg.Items[3].Body) != `{"n":3}` {
		t.Fatalf("page 1: %+v", pg)
	}
	// Delete the item the cursor points at and the one before it.
	next, _ := ParseItemName(ItemName(pg.Next))
	err := st.Update(context.Background(), func(tx store.Txn) error {
		if err := ldp.Delete(tx, items[3], ldp.Preconditions{}); err != nil {
			return err
		}
		return ldp.Delete(tx, items[4], ldp.Preconditions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	pg = list(next, 4)
	if len(pg.Items) != 4 || pg.Items[0].Path != items[5] || !pg.More {
		t.Fatalf("page 2 after deletes: %+v", pg)
	}
	if pg = list(pg.Next, 4); len(pg.Items) != 1 || pg.Items[0].Path != items[9] || pg.More {
		t.Fatalf("page 3: %+v", pg)
	}
	tail := pg.Next
	if pg = list(tail, 4); len(pg.Items) != 0 || pg.Next != tail {
		t.Fatalf("tail: %+v", pg)
	}
	var cur uint64
	_ = st.View(context.Background(), func(rd store.Reader) error {
		var err error
		cur, err = CursorAt(rd, Path("alice"), times[6])
		return err
	})
	if pg = list(cur, 100); len(pg.Items) != 4 || pg.Items[0].Path != items[6] {
		t.Fatalf("from time 6: cursor %d, %+v", cur, pg)
	}
	_ = st.View(context.Background(), func(rd store.Reader) error {
		var err error
		cur, err = CursorAt(rd, Path("alice"), time.Now().Add(time.Hour))
		return err
	})
	if pg = list(cur, 100); len(pg.Items) != 0 {
		t.Fatalf("from the future: %+v", pg)
	}
}

func TestNotifier(t *testing.T) {
	n := NewNotifier()
	a, b := n.Watch("a"), n.Watch("b")
	n.Notify("a")
	select {
	case <-a:
	default:
		t.Fatal("a not woken")
	}
	select {
	case <-b:
		t.Fatal("b woken")
	default:
	}
	if n.Watch("a") == a {
		t.Fatal("a closed channel is handed out again")
	}
}

func TestCheckNotification(t *testing.T) {
	id, object, err := checkNotification([]byte(` {"url":"x","agent":"spoof","id":"http://e/1","b":[1, 2],"a":{"k": "v"}}`))
	if err != nil || id != "http://e/1" || !object {
		t.Fatalf("id %q, object %v, err %v", id, object, err)
	}
	for _, good := range []string{` [{"@id":"","@type":"http://ex.org/T"}]`, `{"@graph":[{"@id":"#a"}]}`} {
		if _, _, err := checkNotification([]byte(good)); err != nil {
			t.Errorf("%s refused: %v", good, err)
		}
	}
	for _, bad := range []string{`[]`, `[1]`, `{"id":1}`, `{"id":""}`, `{`, `"x"`} {
		if _, _, err := checkNotification([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// Readers are woken by the change feed, not by the Inboxes that appended:
// an arrival appended through another Inboxes (another node's, on a shared
// store) wakes this one's readers of that inbox, and only them.
func TestObserveWakesFromFeed(t *testing.T) {
	st, ib := newWatchedStore(t)
	other := New() // not fed: stands for the Inboxes of another node
	inboxCh := ib.Notifier().Watch(Path("alice"))
	elsewhere := ib.Notifier().Watch(ldp.StoragePath("alice", "other/"))
	err := st.Update(context.Background(), func(tx store.Txn) error {
		_, _, err := other.Append(tx, Copy{Inbox: Path("alice"), EventID: "urn:e1", Body: []byte(`{"id":"urn:e1"}`)}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-inboxCh:
	default:
		t.Fatal("the arrival committed through another Inboxes did not wake the inbox's reader")
	}
	select {
	case <-elsewhere:
		t.Fatal("a reader of another container was woken")
	default:
	}
}
