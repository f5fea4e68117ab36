package store

import (
	"context"
	"errors"
	"testing"
)

// TestWriterCachePodRecords: update functions read pod records (cached by
// the writer) as committed: a write, a rewrite, a failed update's write
// (not committed), a deletion, and a caller changing the bytes it got.
func TestWriterCachePodRecords(t *testing.T) {
	st, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	key := []byte(PrefixPod + "alice")
	read := func() string {
		t.Helper()
		var got string
		err := st.Update(ctx, func(tx Txn) error {
			v, err := tx.Get(key)
			if errors.Is(err, ErrNotFound) {
				got = "<none>"
				return nil
			}
			got = string(v)
			v[0] = 'X' // the caller's copy: the cache must not change
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	set := func(v string) {
		t.Helper()
		if err := st.Update(ctx, func(tx Txn) error { return tx.Set(key, []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(); got != "<none>" {
		t.Fatalf("before any write: %q", got)
	}
	set("active")
	for range 2 {
		if got := read(); got != "active" {
			t.Fatalf("after the write: %q, want active", got)
		}
	}
	set("deleting")
	if got := read(); got != "deleting" {
		t.Fatalf("after the rewrite: %q, want deleting", got)
	}
	failed := errors.New("refused")
	err = st.Update(ctx, func(tx Txn) error {
		if err := tx.Set(key, []byte("uncommitted")); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("failing update: %v", err)
	}
	if got := read(); got != "deleting" {
		t.Fatalf("after a failed update: %q, want deleting", got)
	}
	if err := st.Update(ctx, func(tx Txn) error { return tx.Delete(key) }); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "<none>" {
		t.Fatalf("after the deletion: %q", got)
	}
	// A View reads Badger directly and agrees.
	set("active")
	err = st.View(ctx, func(rd Reader) error {
		v, err := rd.Get(key)
		if err != nil || string(v) != "active" {
			t.Errorf("View: %q, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriterCacheWithinBatch: updates that run in one commit batch see
// the pod record an earlier one of them wrote (the batch's writes come
// before the cache), and the cache has it after the commit.
func TestWriterCacheWithinBatch(t *testing.T) {
	st, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	key := []byte(PrefixPod + "bob")
	if err := st.Update(ctx, func(tx Txn) error { _, err := tx.Get(key); return ignoreNotFound(err) }); err != nil {
		t.Fatal(err) // caches the absence
	}
	const n = 64
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- st.Update(ctx, func(tx Txn) error {
				if i == 0 {
					return tx.Set(key, []byte("v"))
				}
				_, err := tx.Get(key)
				return ignoreNotFound(err)
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	err = st.Update(ctx, func(tx Txn) error {
		v, err := tx.Get(key)
		if err != nil || string(v) != "v" {
			t.Errorf("after the batch: %q, %v; want v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
