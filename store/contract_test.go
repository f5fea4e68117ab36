package store_test

import (
	"testing"

	"podserver/store"
	"podserver/store/storetest"
)

// badgerBackend opens Badger stores for the contract suite: in memory, or
// in a test directory that outlives a Close.
func badgerBackend(inMemory bool) storetest.Backend {
	return storetest.Backend{
		Persistent: !inMemory,
		New: func(t *testing.T) storetest.Opener {
			dir := t.TempDir()
			return func(t *testing.T, feed storetest.Feed) store.Store {
				t.Helper()
				s, err := store.Open(store.Options{Dir: dir, InMemory: inMemory, OnChange: feed.OnChange, ChangePrefixes: feed.Prefixes})
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
		},
	}
}

// TestContract runs the store contract against Badger in memory and on
// disk.
func TestContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) { storetest.Run(t, badgerBackend(true)) })
	t.Run("disk", func(t *testing.T) { storetest.Run(t, badgerBackend(false)) })
}
