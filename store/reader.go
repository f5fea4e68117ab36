package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// ranger is the internal read interface that the read layers stack on: a
// Badger snapshot at the bottom, write overlays above it (see overlay.go).
type ranger interface {
	Reader
	// scanRange calls fn for each key k with lo <= k < hi (hi nil: no upper
	// bound), ascending or descending. Every key in the range has the given
	// prefix; it is passed only as an optimisation hint. fn's error,
	// including ErrStop, is returned unchanged.
	scanRange(prefix, lo, hi []byte, reverse bool, fn func(k, v []byte) error) error
}

// scanBounds turns the Reader.Scan arguments into a half-open key range
// [lo, hi). hi is nil when the range has no upper bound (empty prefix or a
// prefix of only 0xff bytes). ok is false when the range is empty.
func scanBounds(prefix, start []byte, reverse bool) (lo, hi []byte, ok bool) {
	lo, hi = prefix, PrefixEnd(prefix)
	if start != nil {
		if !reverse {
			if bytes.Compare(start, lo) > 0 {
				lo = start
			}
		} else {
			// Keys <= start are exactly the keys < start+0x00.
			s := append(start[:len(start):len(start)], 0)
			if hi == nil || bytes.Compare(s, hi) < 0 {
				hi = s
			}
		}
	}
	return lo, hi, hi == nil || bytes.Compare(lo, hi) < 0
}

// scan implements Reader.Scan on top of a ranger.
func scan(r ranger, prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	lo, hi, ok := scanBounds(prefix, start, reverse)
	if !ok {
		return nil
	}
	err := r.scanRange(prefix, lo, hi, reverse, fn)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// snapshot is a Reader over a Badger transaction. In View it is a read-only
// transaction; the writer uses one per batch as the base of its overlays.
type snapshot struct {
	txn *badger.Txn
	// ctx, if non-nil, is checked during scans so that a cancelled View
	// stops early. Update snapshots have none: a started fn runs to the end.
	ctx context.Context
}

// ctxCheckEvery is how many scanned keys pass between checks of ctx.
const ctxCheckEvery = 64

// Get implements Reader.
func (s *snapshot) Get(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, ErrNotFound
	}
	item, err := s.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	return v, nil
}

// Scan implements Reader.
func (s *snapshot) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	return scan(s, prefix, start, reverse, fn)
}

func (s *snapshot) scanRange(prefix, lo, hi []byte, reverse bool, fn func(k, v []byte) error) error {
	opts := badger.IteratorOptions{Reverse: reverse}
	if !reverse {
		// Lets Badger skip tables outside the prefix. Not for reverse
		// scans: there Valid() would stop at the seek key hi, which lies
		// outside the prefix.
		opts.Prefix = prefix
	}
	it := s.txn.NewIterator(opts)
	defer it.Close()
	switch {
	case !reverse:
		it.Seek(lo) // an empty lo rewinds to the first key
	case hi == nil:
		it.Rewind() // the last key
	default:
		it.Seek(hi) // the greatest key <= hi; hi itself is skipped below
	}
	for n := 1; it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if reverse {
			if hi != nil && bytes.Compare(k, hi) >= 0 {
				continue
			}
			if bytes.Compare(k, lo) < 0 {
				return nil
			}
		} else if hi != nil && bytes.Compare(k, hi) >= 0 {
			return nil
		}
		if s.ctx != nil && n%ctxCheckEvery == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		n++
		if err := item.Value(func(v []byte) error { return fn(k, v) }); err != nil {
			return err
		}
	}
	return nil
}
