package inbox

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
	"podserver/store/storecopy"
)

// oldStore is a Badger store holding inbox items in the layout before
// shared bodies, as the server wrote them then.
type oldStore struct {
	st *store.Badger
	// items are the item paths of each event id, in the order written.
	items map[string][]string
	// bodies are the event bodies by id.
	bodies map[string][]byte
	// sent is an item stored as sent (with a Sender); shared one stored
	// by AppendAll as today.
	sent, shared string
}

// newOldStore writes, into a fresh Badger store, events events each copied
// into fanout of the pods p0... (body size about size bytes): the copies
// of the even events listed by the event's copies entry, those of the odd
// ones by the per-inbox dedup keys of older data. Besides: an item stored
// as sent, an item stored as today, and a copies entry naming an item
// deleted since.
func newOldStore(t *testing.T, events, fanout, size int) *oldStore {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pods := make([]string, fanout)
	for i := range pods {
		pods[i] = fmt.Sprintf("p%d", i)
	}
	addPods(t, st, pods...)
	o := &oldStore{st: st, items: map[string][]string{}, bodies: map[string][]byte{}}
	now := time.Now().Add(-time.Hour)
	pad := strings.Repeat("x", size)
	for e := range events {
		id := fmt.Sprintf("http://x/producer/publish/old%d", e)
		body := []byte(`{"id":"` + id + `","agent":"http://x/producer/profile/card#me","data":{"n":` + fmt.Sprint(e) + `,"pad":"` + pad + `"}}`)
		o.bodies[id] = body
		update(t, st, func(tx store.Txn) error {
			var entry []byte
			for _, pod := range pods {
				seq := tx.NextSeq()
				item, _, err := ldp.AppendSeqMember(tx, Path(pod), seq, ldp.MediaJSONLD, body, now)
				if err != nil {
					return err
				}
				o.items[id] = append(o.items[id], item)
				if e%2 == 0 {
					entry = appendHolder(entry, holder{inbox: Path(pod), seq: seq})
				} else if err := tx.Set(legacyDedupKey(Path(pod), id), []byte(item)); err != nil {
					return err
				}
			}
			if entry == nil {
				return nil
			}
			return tx.Set(copiesKey(id), entry)
		})
	}
	ib := New()
	sentBody := []byte(`{"id":"http://remote/e1","data":{"pad":"` + pad + `"}}`)
	update(t, st, func(tx store.Txn) error {
		var err error
		o.sent, _, err = ib.Append(tx, Copy{Inbox: Path("p0"), EventID: "http://remote/e1", Body: sentBody,
			Sender: &Sender{Agent: "http://remote/profile/card#me"}}, now)
		if err != nil {
			return err
		}
		o.shared, _, err = ib.Append(tx, Copy{Inbox: Path("p0"), EventID: "http://x/producer/publish/new", Body: []byte(`{"id":"http://x/producer/publish/new"}`)}, now)
		if err != nil {
			return err
		}
		// A copy deleted since: its entry stays.
		gone, _, err := ib.Append(tx, Copy{Inbox: Path("p0"), EventID: "http://x/producer/publish/gone", Body: []byte(`{"id":"http://x/producer/publish/gone"}`)}, now)
		if err != nil {
			return err
		}
		return ldp.Delete(tx, gone, ldp.Preconditions{})
	})
	return o
}

// itemView is what a reader sees of an item.
type itemView struct {
	body []byte
	etag string
	ct   string
}

func viewItems(t testing.TB, st store.Store, paths []string) map[string]itemView {
	t.Helper()
	out := map[string]itemView{}
	err := st.View(context.Background(), func(rd store.Reader) error {
		for _, p := range paths {
			res, err := ldp.Get(rd, p)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out[p] = itemView{body: bytes.Clone(res.Body), etag: res.Meta.ETag(), ct: res.Meta.ContentType}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bodiesStored counts the stored shared bodies holding body.
func bodiesStored(t testing.TB, st store.Store, body []byte) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixBody+"d"), nil, false, func(_, v []byte) error {
			if bytes.Equal(v, body) {
				n++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A copy (storecopy with ShareStoredCopies as its Convert) of a store in
// the old layout has one body per event, referenced by each of its
// copies; every item reads byte for byte as before, with the same ETag,
// and so do the listings; items stored as sent stay inline; the source is
// untouched; converting again converts nothing.
func TestCopyConvertsOldLayout(t *testing.T) {
	const events, fanout = 6, 5
	src := newOldStore(t, events, fanout, 1000)
	var all []string
	for _, items := range src.items {
		all = append(all, items...)
	}
	all = append(all, src.sent, src.shared)
	before := viewItems(t, src.st, all)
	listings := map[string]Page{}
	for i := range fanout {
		in := Path(fmt.Sprintf("p%d", i))
		listings[in] = listAll(t, src.st, in)
	}
	srcKeys := countKeys(t, src.st, "")

	dst, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dst.Close() })
	stats, err := storecopy.Copy(context.Background(), dst, src.st, storecopy.Options{Convert: ShareStoredCopies})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(events * fanout); stats.Converted != want {
		t.Fatalf("converted %d items, want %d", stats.Converted, want)
	}
	if stats.ConvertedBytes >= stats.Bytes {
		t.Errorf("%d bytes after the conversion, %d before", stats.ConvertedBytes, stats.Bytes)
	}
	for id, items := range src.items {
		body := src.bodies[id]
		if n := bodiesStored(t, dst, body); n != 1 {
			t.Errorf("%s: %d bodies stored, want 1", id, n)
		}
		if refs, _ := bodyState(t, dst, body); refs != uint64(len(items)) {
			t.Errorf("%s: %d references, want %d", id, refs, len(items))
		}
		if refs, stored := bodyState(t, src.st, body); refs != 0 || stored {
			t.Errorf("%s: the source changed: %d references", id, refs)
		}
	}
	after := viewItems(t, dst, all)
	for _, p := range all {
		b, a := before[p], after[p]
		if !bytes.Equal(a.body, b.body) || a.etag != b.etag || a.ct != b.ct {
			t.Errorf("%s reads differently after the copy:\n%s %s %s\n%s %s %s", p, b.etag, b.ct, b.body, a.etag, a.ct, a.body)
		}
	}
	for in, want := range listings {
		if got := listAll(t, dst, in); !samePage(got, want) {
			t.Errorf("listing of %s differs after the copy", in)
		}
	}
	if refs, _ := bodyState(t, dst, before[src.sent].body); refs != 0 {
		t.Errorf("the item stored as sent was shared: %d references", refs)
	}
	if n := countKeys(t, src.st, ""); n != srcKeys {
		t.Errorf("the source holds %d keys, %d before", n, srcKeys)
	}
	if n, err := ShareStoredCopies(context.Background(), dst); n != 0 || err != nil {
		t.Errorf("converting again: %d %v", n, err)
	}
	// The bodies took sequence numbers above the copied ones (the
	// conversion ran after the sequence was carried over).
	copied := sharedBodyKey(t, src.st)
	err = dst.View(context.Background(), func(rd store.Reader) error {
		prefix := []byte(store.PrefixBody + "d")
		return rd.Scan(prefix, nil, false, func(k, _ []byte) error {
			if seq := store.Uint64(k[len(prefix):]); seq <= stats.Seq && !bytes.Equal(k, copied) {
				t.Errorf("a converted body took sequence %d, not above the source's %d", seq, stats.Seq)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sharedBodyKey returns the key of the one shared body st holds.
func sharedBodyKey(t *testing.T, st store.Store) []byte {
	t.Helper()
	var key []byte
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixBody+"d"), nil, false, func(k, _ []byte) error {
			if key != nil {
				t.Fatal("more than one shared body")
			}
			key = bytes.Clone(k)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// The bytes a store holds before and after the conversion, for samples
// of 1 KB events each copied into 3 and into 100 inboxes (go test ./inbox
// -run ConvertBytes -v).
func TestConvertBytes(t *testing.T) {
	for _, tc := range []struct{ events, fanout int }{{100, 3}, {20, 100}} {
		src := newOldStore(t, tc.events, tc.fanout, 1000)
		dst, err := store.Open(store.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dst.Close() })
		stats, err := storecopy.Copy(context.Background(), dst, src.st, storecopy.Options{Convert: ShareStoredCopies})
		if err != nil {
			t.Fatal(err)
		}
		if stats.Converted != int64(tc.events*tc.fanout) || stats.ConvertedBytes >= stats.Bytes {
			t.Fatalf("converted %d items: %d bytes, %d before", stats.Converted, stats.ConvertedBytes, stats.Bytes)
		}
		t.Logf("%d events x %d copies of ~1 KB: %d keys, %d bytes before, %d after (%.1f%%)", tc.events, tc.fanout,
			stats.Keys, stats.Bytes, stats.ConvertedBytes, 100*float64(stats.ConvertedBytes)/float64(stats.Bytes))
	}
}

// samePage reports whether two listing pages hold the same.
func samePage(a, b Page) bool {
	if a.Next != b.Next || a.More != b.More || len(a.Items) != len(b.Items) {
		return false
	}
	for i, x := range a.Items {
		y := b.Items[i]
		if x.Path != y.Path || x.Seq != y.Seq || !x.Arrived.Equal(y.Arrived) || !bytes.Equal(x.Body, y.Body) ||
			(x.Sender == nil) != (y.Sender == nil) || (x.Sender != nil && *x.Sender != *y.Sender) {
			return false
		}
	}
	return true
}
