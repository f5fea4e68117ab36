package acl

import (
	"context"
	"testing"

	"podserver/store"
)

// newMemStore opens the real store in Badger's in-memory mode.
func newMemStore(t testing.TB) *store.Badger {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// dumpStore returns every key and value in st.
func dumpStore(t testing.TB, st store.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := st.View(context.Background(), func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
