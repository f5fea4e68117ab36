package store

import (
	"context"
	"testing"
)

// TestLastSeqEnsureSeqAbove: LastSeq follows NextSeq; EnsureSeqAbove
// raises the sequence, never lowers it, and the raise survives a reopen.
func TestLastSeqEnsureSeqAbove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	next := func(s *Badger) uint64 {
		t.Helper()
		var n uint64
		if err := s.Update(ctx, func(tx Txn) error { n = tx.NextSeq(); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	last := func(s *Badger) uint64 {
		t.Helper()
		n, err := s.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := last(s); n != 0 {
		t.Fatalf("LastSeq of a new store = %d; want 0", n)
	}
	next(s)
	next(s)
	if n := last(s); n != 2 {
		t.Fatalf("LastSeq after two NextSeq = %d; want 2", n)
	}
	if err := s.EnsureSeqAbove(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if n := last(s); n != 1000 {
		t.Fatalf("LastSeq after EnsureSeqAbove(1000) = %d; want 1000", n)
	}
	if err := s.EnsureSeqAbove(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if n := next(s); n != 1001 {
		t.Fatalf("NextSeq after EnsureSeqAbove(1000) then (10) = %d; want 1001", n)
	}
	// A raise with no NextSeq after it is durable on its own.
	if err := s.EnsureSeqAbove(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := last(s); n != 5000 {
		t.Fatalf("LastSeq after reopen = %d; want 5000", n)
	}
	if n := next(s); n != 5001 {
		t.Fatalf("NextSeq after reopen = %d; want 5001", n)
	}
}
