package store

import (
	"context"
	"fmt"
)

// PrefixMeta is the prefix of the store-internal keys (prefixMeta in
// keyspace.go: the sequence's high-water mark). They are not data: a copy
// of a store skips them and carries the sequence over with LastSeq and
// EnsureSeqAbove instead, since another backend keeps its sequence
// elsewhere (PostgreSQL in a SEQUENCE).
const PrefixMeta = prefixMeta

// LastSeq returns the highest number NextSeq has handed out, 0 if none.
// Every number in committed data is at most LastSeq. It reads the
// writer's counter on the writer goroutine, through an Update that
// writes nothing.
func (s *Badger) LastSeq(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.Update(ctx, func(tx Txn) error {
		n = tx.(*txn).w.seq
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: read the sequence: %w", err)
	}
	return n, nil
}

// EnsureSeqAbove makes every later NextSeq return more than n: it raises
// the sequence to n unless it is there already, and the new high-water
// mark is durable when it returns nil. A store restored from a copy calls
// it with the source's LastSeq, so that new keys sort after copied ones.
func (s *Badger) EnsureSeqAbove(ctx context.Context, n uint64) error {
	err := s.Update(ctx, func(tx Txn) error {
		t := tx.(*txn)
		t.w.seq = max(t.w.seq, n)
		// The writer persists w.seq under seqKey in this Update's
		// transaction, as it does after NextSeq. Written even when w.seq
		// was above n already: numbers taken by failed updates are in
		// w.seq but not yet in the stored mark.
		t.usedSeq = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: raise the sequence to %d: %w", n, err)
	}
	return nil
}
