package pgstore_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"podserver/store"
	"podserver/store/pgstore"
	"podserver/store/pgstore/pgtest"
	"podserver/store/storetest"
)

var cluster = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// open opens a store on url, closed at the end of t.
func open(t *testing.T, url string, feed storetest.Feed) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, OnChange: feed.OnChange, ChangePrefixes: feed.Prefixes})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestContract runs the store contract on PostgreSQL, a fresh schema per
// test.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Persistent: true,
		New: func(t *testing.T) storetest.Opener {
			url := cluster.URL(t)
			return func(t *testing.T, feed storetest.Feed) store.Store { return open(t, url, feed) }
		},
	})
}

// TestTwoNodesSerializable runs increments through two stores on one
// database, as two nodes would: PostgreSQL aborts conflicting
// transactions, and the retries lose none.
func TestTwoNodesSerializable(t *testing.T) {
	url := cluster.URL(t)
	a, b := open(t, url, storetest.Feed{}), open(t, url, storetest.Feed{})
	storetest.Increments(t, []store.Store{a, b}, "counter", 8, 40)
	t.Logf("retries after serialization failures: %d + %d", a.Retries(), b.Retries())
}

// TestMigrate checks that migrations run once: a second run applies
// nothing, and a store opens on the migrated schema.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := cluster.URL(t)
	applied, err := pgstore.Migrate(ctx, url)
	if err != nil || !slices.Equal(applied, []int{1, 2}) {
		t.Fatalf("first Migrate = %v, %v; want [1 2]", applied, err)
	}
	applied, err = pgstore.Migrate(ctx, url)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
	}
	s := open(t, url, storetest.Feed{})
	if err := s.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
}
