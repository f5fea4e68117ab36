package replay

import (
	"context"
	"fmt"
	"testing"
	"time"

	"podserver/httpsig"
	"podserver/store"
)

var _ httpsig.NonceCache = (*Nonces)(nil)

var t0 = time.Unix(1_700_000_000, 0)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func open(t *testing.T, opts store.Options) *store.Badger {
	t.Helper()
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestAdd(t *testing.T) {
	st := open(t, store.Options{InMemory: true})
	defer st.Close()
	n := New(st)
	ctx := context.Background()
	steps := []struct {
		key      string
		now, exp int
		want     bool
		the      string
	}{
		{"a", 0, 10, true, "new"},
		{"a", 5, 10, false, "replay"},
		{"a", 9, 10, false, "replay just before expiry"},
		{"b", 5, 20, true, "another key"},
		{"a", 10, 30, true, "a expired at 10, accepted again"},
		{"a", 29, 40, false, "and refused again within its new window"},
		{"e", 11, 11, true, "already expired: not stored"},
		{"e", 11, 50, true, "so e is new"},
	}
	for _, s := range steps {
		got, err := n.Add(ctx, s.key, at(s.now), at(s.exp))
		if err != nil || got != s.want {
			t.Fatalf("%s: Add(%s) = %v, %v; want %v", s.the, s.key, got, err, s.want)
		}
	}
}

func TestPrune(t *testing.T) {
	st := open(t, store.Options{InMemory: true})
	defer st.Close()
	n := New(st)
	ctx := context.Background()
	for i := range 100 {
		if ok, err := n.Add(ctx, fmt.Sprint(i), t0, at(i+1)); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	// Each Add prunes a few expired nonces as it goes.
	if ok, err := n.Add(ctx, "late", at(50), at(500)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	l, _ := n.Len(ctx)
	if l != 101-prunePerAdd {
		t.Fatalf("after one Add at 50s: %d nonces, want %d", l, 101-prunePerAdd)
	}
	removed, err := n.Prune(ctx, at(50))
	if err != nil || removed != 50-prunePerAdd {
		t.Fatalf("Prune = %d, %v; want %d", removed, err, 50-prunePerAdd)
	}
	if l, _ := n.Len(ctx); l != 51 {
		t.Fatalf("%d nonces left, want 51", l)
	}
	// Pruned nonces are gone, the rest are still refused.
	if ok, _ := n.Add(ctx, "3", at(50), at(60)); !ok {
		t.Fatal("an expired, pruned nonce was refused")
	}
	if ok, _ := n.Add(ctx, "70", at(50), at(60)); ok {
		t.Fatal("a live nonce was accepted twice")
	}
	if removed, _ := n.Prune(ctx, at(10_000)); removed != 52 {
		t.Fatalf("final Prune removed %d, want 52", removed)
	}
	if l, _ := n.Len(ctx); l != 0 {
		t.Fatalf("%d nonces left after everything expired", l)
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st := open(t, store.Options{Dir: dir})
	if ok, err := New(st).Add(ctx, "key nonce", t0, at(300)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, store.Options{Dir: dir})
	defer st.Close()
	n := New(st)
	if ok, err := n.Add(ctx, "key nonce", at(60), at(360)); ok || err != nil {
		t.Fatalf("replay after restart: Add = %v, %v; want false", ok, err)
	}
	if ok, _ := n.Add(ctx, "key nonce", at(300), at(600)); !ok {
		t.Fatal("refused after its window ended")
	}
}

func TestClosedStore(t *testing.T) {
	st := open(t, store.Options{InMemory: true})
	st.Close()
	if ok, err := New(st).Add(context.Background(), "k", t0, at(1)); ok || err == nil {
		t.Fatalf("Add on a closed store = %v, %v; want an error", ok, err)
	}
}
