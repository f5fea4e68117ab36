package store

import (
	"bytes"
	"context"
	"testing"
)

// TestWatch checks the protocol caches follow with a Watch fed by the real
// change feed: the generation advances before Update returns, only for
// relevant changes, once per batch; and what a snapshot taken before a
// relevant write showed is stale even when kept after the write.
func TestWatch(t *testing.T) {
	ctx := context.Background()
	w := NewWatch(func(c Change) bool { return bytes.HasPrefix(c.Key, []byte("ra")) })
	st, err := Open(Options{InMemory: true, ChangePrefixes: []string{"r"}, OnChange: w.Observe})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set := func(keys ...string) {
		t.Helper()
		err := st.Update(ctx, func(tx Txn) error {
			for _, k := range keys {
				if err := tx.Set([]byte(k), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	gen := w.Generation()
	set("rb/x", "p/x") // irrelevant, and not reported
	if !w.Current(gen) {
		t.Fatal("an irrelevant write advanced the watch")
	}
	set("ra/1", "ra/2") // two relevant writes in one Update: one advance
	if w.Current(gen) || w.Generation() != gen+1 {
		t.Fatalf("after a relevant write: generation %d, want %d", w.Generation(), gen+1)
	}

	// A read that loaded its generation before the write it did not see.
	gen = w.Generation()
	var old []byte
	err = st.View(ctx, func(r Reader) error {
		set("ra/1") // commits after the snapshot was taken
		old, err = r.Get([]byte("ra/1"))
		return err
	})
	if err != nil || old == nil {
		t.Fatal(old, err)
	}
	if w.Current(gen) {
		t.Fatal("an entry read before a relevant write is still current after the write returned")
	}
	// A read that starts after the write returned is current.
	gen = w.Generation()
	if !w.Current(gen) {
		t.Fatal("nothing changed, yet not current")
	}
	// Deletes are changes too.
	if err := st.Update(ctx, func(tx Txn) error { return tx.Delete([]byte("ra/2")) }); err != nil {
		t.Fatal(err)
	}
	if w.Current(gen) {
		t.Fatal("a relevant delete did not advance the watch")
	}
}

// Reset makes an entry read before it stale, and one read after it current.
func TestWatchReset(t *testing.T) {
	w := NewWatch(func(Change) bool { return false })
	before := w.Generation()
	w.Observe([]Change{{Key: []byte("x")}}) // irrelevant: stays current
	if !w.Current(before) {
		t.Fatal("an irrelevant change made the entry stale")
	}
	w.Reset()
	if w.Current(before) {
		t.Error("an entry read before Reset is still current")
	}
	if after := w.Generation(); !w.Current(after) {
		t.Error("an entry read after Reset is stale")
	}
}
