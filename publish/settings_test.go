package publish

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/podurl"
	"podserver/store"
)

// testURLs returns the pod URL scheme of a test server at base.
func testURLs(base string) podurl.Scheme {
	u, err := podurl.New(base, podurl.ModePath)
	if err != nil {
		panic(err)
	}
	return u
}

// The cache serves a settings document without reading it while the watch
// reports no change, and never keeps what an older snapshot showed once a
// newer write is reported.
func TestSettingsWatch(t *testing.T) {
	ctx := context.Background()
	w := NewSettingsWatch()
	st, err := store.Open(store.Options{InMemory: true, ChangePrefixes: []string{store.PrefixResource},
		OnChange: func(ch []store.Change) { w.Observe(ch) }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := newSettingsCache(testURLs("http://x"), slog.New(slog.DiscardHandler), w)
	doc := func(agent string) []byte {
		return []byte(`{"version":"1","items":[{"type":"Subscription","agent":"` + agent + `","publishes":["d/t"]}]}`)
	}
	put := func(body []byte) {
		t.Helper()
		err := st.Update(ctx, func(tx store.Txn) error {
			_, _, err := ldp.Put(tx, ldp.StoragePath("alice", subscriptionsRel), ldp.MediaJSONLD, body, time.Now(), ldp.Preconditions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Update(ctx, func(tx store.Txn) error { return ldp.CreatePod(tx, "alice", time.Now()) }); err != nil {
		t.Fatal(err)
	}
	put(doc("http://a/"))
	read := func(v snap) *subsEntry {
		t.Helper()
		e, ok, err := c.subscriptions(v, "alice")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		return e
	}
	view := func(fn func(v snap)) {
		gen := c.generation()
		if err := st.View(ctx, func(rd store.Reader) error { fn(snap{rd, gen}); return nil }); err != nil {
			t.Fatal(err)
		}
	}

	var first *subsEntry
	view(func(v snap) { first = read(v) })
	if !first.subs.CanPublish("http://a/", "d/t") {
		t.Fatal("first read: a may not publish")
	}
	// Unchanged: the same entry, even from a reader that has nothing.
	if e := read(snap{emptyReader{}, c.generation()}); e != first {
		t.Fatal("unchanged settings were read again")
	}
	// A snapshot taken before a write, read after it: what it shows must
	// not outlive the write.
	view(func(old snap) {
		put(doc("http://b/"))
		if e := read(old); !e.subs.CanPublish("http://a/", "d/t") {
			t.Fatal("old snapshot: want the old document")
		}
	})
	view(func(v snap) {
		if e := read(v); !e.subs.CanPublish("http://b/", "d/t") || e.subs.CanPublish("http://a/", "d/t") {
			t.Fatal("after the write: the old document was still served")
		}
	})
}

// emptyReader fails every read: it proves a cached answer read nothing.
type emptyReader struct{}

func (emptyReader) Get([]byte) ([]byte, error) { return nil, store.ErrNotFound }
func (emptyReader) Scan(_, _ []byte, _ bool, _ func(k, v []byte) error) error {
	return nil
}
