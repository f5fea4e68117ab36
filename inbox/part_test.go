package inbox

import (
	"context"
	"slices"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// The batches of a fan-out job record their copies under parts of the
// event's copies entry: a batch writes its own key, and every reader (and
// every later append of the event) sees the copies of all the parts, so an
// inbox still holds one copy of the event.
func TestAppendPart(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now()
	pods := []string{"bob", "carol", "dave", "erin", "frank"} // newStore made alice
	if err := st.Update(ctx, func(tx store.Txn) error {
		for _, p := range pods {
			if err := ldp.CreatePod(tx, p, now); err != nil {
				return err
			}
			if _, _, err := ldp.Put(tx, Path(p), "", nil, now, ldp.Preconditions{}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ib := New()
	const id = "http://x/publish/3"
	body := []byte(`{"id":"` + id + `"}`)
	copies := func(new bool, inboxes ...string) []Copy {
		cs := make([]Copy, len(inboxes))
		for i, in := range inboxes {
			cs[i] = Copy{Inbox: Path(in), EventID: id, Body: body, NewEvent: new, InboxExists: true}
		}
		return cs
	}
	run := func(fn func(tx store.Txn) ([]Appended, error)) []Appended {
		t.Helper()
		var res []Appended
		if err := st.Update(ctx, func(tx store.Txn) error {
			var err error
			res, err = fn(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return res
	}
	added := func(res []Appended) []bool {
		out := make([]bool, len(res))
		for i, r := range res {
			out[i] = r.Added
		}
		return out
	}
	partValue := func(part uint32) []byte {
		t.Helper()
		var v []byte
		if err := st.View(ctx, func(rd store.Reader) error {
			var err error
			v, err = rd.Get(copiesPartKey(id, part))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}

	pub := run(func(tx store.Txn) ([]Appended, error) { return ib.AppendAll(tx, copies(true, "alice"), now) })
	p0 := run(func(tx store.Txn) ([]Appended, error) {
		return ib.AppendPart(tx, copies(false, "bob", "carol"), 0, now)
	})
	part0 := partValue(0)
	p1 := run(func(tx store.Txn) ([]Appended, error) {
		return ib.AppendPart(tx, copies(false, "dave", "erin", "alice"), 1, now)
	})
	if got := added(p1); !slices.Equal(got, []bool{true, true, false}) {
		t.Fatalf("part 1 (alice got the event with the publish): added %v", got)
	}
	if !slices.Equal(partValue(0), part0) {
		t.Fatal("part 1 rewrote part 0")
	}
	// The event comes again by another way (a replay): the copies of the
	// parts are found, and a new inbox's goes to the entry.
	again := run(func(tx store.Txn) ([]Appended, error) {
		return ib.AppendAll(tx, copies(false, "carol", "frank", "erin"), now)
	})
	if got := added(again); !slices.Equal(got, []bool{false, true, false}) || again[0].Item != p0[1].Item || again[2].Item != p1[1].Item {
		t.Fatalf("the event again: %+v", again)
	}
	// A batch written again finds its own part's copies.
	retry := run(func(tx store.Txn) ([]Appended, error) { return ib.AppendPart(tx, copies(false, "bob"), 0, now) })
	if retry[0].Added || retry[0].Item != p0[0].Item {
		t.Fatalf("part 0 again: %+v", retry)
	}
	if err := st.View(ctx, func(rd store.Reader) error {
		hs, err := Holders(rd, id)
		want := []Holder{
			{Path("alice"), pub[0].Item}, {Path("frank"), again[1].Item},
			{Path("bob"), p0[0].Item}, {Path("carol"), p0[1].Item},
			{Path("dave"), p1[0].Item}, {Path("erin"), p1[1].Item},
		}
		if err != nil || !slices.Equal(hs, want) {
			t.Errorf("Holders = %+v, %v; want %+v", hs, err, want)
		}
		for _, h := range want {
			if item, ok, err := Holds(rd, h.Inbox, id); err != nil || !ok || item != h.Item {
				t.Errorf("Holds(%s) = %s, %v, %v; want %s", h.Inbox, item, ok, err, h.Item)
			}
			// One item per inbox.
			n := 0
			if err := ldp.ScanChildrenMeta(rd, h.Inbox, "", func(string, ldp.Meta) error { n++; return nil }); err != nil {
				return err
			}
			if n != 1 {
				t.Errorf("%s holds %d items, want 1", h.Inbox, n)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A new event has no parts yet: AppendPart is for the batches of an
	// event stored before.
	if err := st.Update(ctx, func(tx store.Txn) error {
		_, err := ib.AppendPart(tx, copies(true, "bob"), 2, now)
		return err
	}); err == nil {
		t.Fatal("AppendPart of a new event's copies succeeded")
	}
}
