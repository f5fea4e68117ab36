// Package storecopy copies a whole store.Store into another, Badger to
// PostgreSQL and back, from one consistent snapshot of the source; and it
// writes and reads backup files (file.go) that hold such a snapshot, so
// that the same code is the backup and restore tool. `podserver copy`
// runs it.
//
// A copy reads every key of the source in one View, which is a snapshot
// (Badger's View, pgstore's REPEATABLE READ View), so a source may keep
// serving while it is copied. It writes into the destination in bounded
// Updates (Options.BatchKeys, Options.BatchBytes), so a copy is not one
// transaction: a copy that fails leaves the destination partly written,
// to be replaced by running the copy again with Options.Overwrite.
//
// The store-internal keys (store.PrefixMeta) are not copied: each backend
// keeps its sequence its own way. The sequence is carried over instead:
// after the data, the destination's sequence is raised above the
// source's (Sequenced), read after the snapshot so that it covers every
// sequence number in the copied keys.
//
// A copy or restore into a store may convert data of an older layout on
// the way (Options.Convert): the destination is rewritten after the copy,
// by a function its caller passes in, since only the packages owning a
// layout know it. A backup file holds the keys as they are.
//
// This package imports only package store; its caller opens the stores.
package storecopy

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"podserver/store"
)

// ErrNotEmpty is returned when the destination holds data and
// Options.Overwrite is not set.
var ErrNotEmpty = errors.New("storecopy: the destination is not empty")

// Sequenced is what a store needs besides store.Store to be copied: its
// sequence can be read and raised. *store.Badger implements it; so does
// *pgstore.Store once it has these methods (checked at run time).
type Sequenced interface {
	// LastSeq returns the highest number NextSeq has handed out (0 if
	// none): every sequence number in committed data is at most LastSeq.
	LastSeq(ctx context.Context) (uint64, error)
	// EnsureSeqAbove makes every later NextSeq return more than n,
	// durably once it returns nil. It never lowers the sequence.
	EnsureSeqAbove(ctx context.Context, n uint64) error
}

// Default batch bounds: one Update of the destination writes at most this
// many keys, or about this many bytes of keys and values (a single larger
// pair goes alone). 4 MiB stays below Badger's transaction limit (about
// 4.8 MB with the default memtable); an Update that still exceeds it is
// split in two and retried.
const (
	DefaultBatchKeys  = 1000
	DefaultBatchBytes = 4 << 20
)

// Options configures a copy, a backup or a restore.
type Options struct {
	// Overwrite lets a copy or restore replace a destination that holds
	// data: its keys are deleted first (before any is written, and for a
	// restore only after the file has been verified), so that it ends up
	// holding exactly the source's. For a backup it lets the new file
	// replace an existing one. Without it a non-empty destination or an
	// existing file is refused.
	Overwrite bool
	// BatchKeys and BatchBytes bound one Update of the destination (0:
	// DefaultBatchKeys, DefaultBatchBytes).
	BatchKeys, BatchBytes int
	// Convert, when set, rewrites data of an older layout in the
	// destination store of a copy or restore (not of a backup), once the
	// data is written and the sequence carried over, so it may take
	// sequence numbers. It returns how many records it converted.
	Convert func(ctx context.Context, dst store.Store) (int64, error)
}

// Stats says what a copy, backup, restore or verification handled.
type Stats struct {
	// Keys and Bytes count the copied pairs and the bytes of their keys
	// and values.
	Keys, Bytes int64
	// Seq is the source's LastSeq, which the destination's sequence is now
	// at least.
	Seq uint64
	// Cleared counts the keys of the destination deleted first
	// (Options.Overwrite).
	Cleared int64
	// Converted counts the records Options.Convert converted; when it
	// converted any, ConvertedBytes is the key and value bytes the
	// destination's data holds after it (Bytes before).
	Converted, ConvertedBytes int64
}

// Copy copies every key of src into dst and carries the sequence over;
// the package doc says how. Both stores must implement Sequenced; this is
// checked before anything is written.
func Copy(ctx context.Context, dst, src store.Store, opts Options) (Stats, error) {
	var st Stats
	srcSeq, err := sequenced(src, "source")
	if err != nil {
		return st, err
	}
	dstSeq, err := sequenced(dst, "destination")
	if err != nil {
		return st, err
	}
	if st.Cleared, err = prepare(ctx, dst, opts); err != nil {
		return st, err
	}
	w := newBatcher(ctx, dst, opts)
	err = src.View(ctx, func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, v []byte) error {
			if isMeta(k) {
				return store.ErrStop // the meta keys sort last
			}
			return w.set(k, v)
		})
	})
	if err == nil {
		err = w.flush()
	}
	st.Keys, st.Bytes = w.keys, w.bytes
	if err != nil {
		return st, fmt.Errorf("storecopy: copy: %w", err)
	}
	if st.Seq, err = srcSeq.LastSeq(ctx); err != nil {
		return st, fmt.Errorf("storecopy: read the source's sequence: %w", err)
	}
	if err := dstSeq.EnsureSeqAbove(ctx, st.Seq); err != nil {
		return st, fmt.Errorf("storecopy: carry the sequence over: %w", err)
	}
	return st, convert(ctx, dst, opts, &st)
}

// convert runs opts.Convert on dst, if set, and records what it did in
// st.
func convert(ctx context.Context, dst store.Store, opts Options, st *Stats) error {
	if opts.Convert == nil {
		return nil
	}
	n, err := opts.Convert(ctx, dst)
	st.Converted = n
	if err != nil {
		return fmt.Errorf("storecopy: convert the destination: %w", err)
	}
	if n == 0 {
		return nil
	}
	err = dst.View(ctx, func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, v []byte) error {
			if isMeta(k) {
				return store.ErrStop
			}
			st.ConvertedBytes += int64(len(k) + len(v))
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("storecopy: measure the converted destination: %w", err)
	}
	return nil
}

// sequenced returns s as Sequenced, or an error naming its type.
func sequenced(s store.Store, role string) (Sequenced, error) {
	q, ok := s.(Sequenced)
	if !ok {
		return nil, fmt.Errorf("storecopy: the %s store (%T) cannot carry the sequence over: it has no LastSeq and EnsureSeqAbove methods", role, s)
	}
	return q, nil
}

// isMeta reports whether k is a store-internal key.
func isMeta(k []byte) bool {
	return bytes.HasPrefix(k, []byte(store.PrefixMeta))
}

// checkEmpty returns an error wrapping ErrNotEmpty if dst holds a data
// key.
func checkEmpty(ctx context.Context, dst store.Store) error {
	var first []byte
	err := dst.View(ctx, func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, _ []byte) error {
			if !isMeta(k) {
				first = bytes.Clone(k)
			}
			return store.ErrStop
		})
	})
	if err != nil {
		return fmt.Errorf("storecopy: read the destination: %w", err)
	}
	if first != nil {
		return fmt.Errorf("%w: it holds keys (the first is %q)", ErrNotEmpty, first)
	}
	return nil
}

// prepare refuses a non-empty dst, or with opts.Overwrite deletes its
// data keys, and returns how many it deleted.
func prepare(ctx context.Context, dst store.Store, opts Options) (int64, error) {
	if !opts.Overwrite {
		return 0, checkEmpty(ctx, dst)
	}
	return clearStore(ctx, dst, opts)
}

// clearStore deletes every data key of dst, in batches, and returns how
// many it deleted. Its sequence stays.
func clearStore(ctx context.Context, dst store.Store, opts Options) (int64, error) {
	w := newBatcher(ctx, dst, opts)
	err := dst.View(ctx, func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, _ []byte) error {
			if isMeta(k) {
				return store.ErrStop
			}
			return w.delete(k)
		})
	})
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return w.keys, fmt.Errorf("storecopy: clear the destination: %w", err)
	}
	return w.keys, nil
}

// entry is one buffered write.
type entry struct {
	k, v []byte
	del  bool
}

// batcher buffers writes to a store and writes them in bounded Updates.
type batcher struct {
	ctx               context.Context
	dst               store.Store
	maxKeys, maxBytes int
	buf               []entry
	arena             []byte // holds the bytes of buf's keys and values
	keys, bytes       int64  // written so far
	pendingBytes      int
}

func newBatcher(ctx context.Context, dst store.Store, opts Options) *batcher {
	b := &batcher{ctx: ctx, dst: dst, maxKeys: opts.BatchKeys, maxBytes: opts.BatchBytes}
	if b.maxKeys <= 0 {
		b.maxKeys = DefaultBatchKeys
	}
	if b.maxBytes <= 0 {
		b.maxBytes = DefaultBatchBytes
	}
	return b
}

// set buffers a write of v under k; both are copied.
func (b *batcher) set(k, v []byte) error { return b.add(k, v, false) }

// delete buffers a deletion of k, which is copied.
func (b *batcher) delete(k []byte) error { return b.add(k, nil, true) }

func (b *batcher) add(k, v []byte, del bool) error {
	n := len(k) + len(v)
	if len(b.buf) > 0 && b.pendingBytes+n > b.maxBytes {
		if err := b.flush(); err != nil {
			return err
		}
	}
	start := len(b.arena)
	b.arena = append(b.arena, k...)
	b.arena = append(b.arena, v...)
	mid, end := start+len(k), start+n
	b.buf = append(b.buf, entry{k: b.arena[start:mid:mid], v: b.arena[mid:end:end], del: del})
	b.pendingBytes += n
	if len(b.buf) >= b.maxKeys {
		return b.flush()
	}
	return nil
}

// flush writes the buffered entries.
func (b *batcher) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	if err := b.write(b.buf); err != nil {
		return err
	}
	b.keys += int64(len(b.buf))
	b.bytes += int64(b.pendingBytes)
	clear(b.buf)
	b.buf, b.arena, b.pendingBytes = b.buf[:0], b.arena[:0], 0
	return nil
}

// write writes es in one Update, or in two halves if that is too large
// for one transaction.
func (b *batcher) write(es []entry) error {
	err := b.dst.Update(b.ctx, func(tx store.Txn) error {
		for _, e := range es {
			var err error
			if e.del {
				err = tx.Delete(e.k)
			} else {
				err = tx.Set(e.k, e.v)
			}
			if err != nil {
				return fmt.Errorf("key %q: %w", e.k, err)
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrTxnTooBig) && len(es) > 1 {
		h := len(es) / 2
		if err := b.write(es[:h]); err != nil {
			return err
		}
		return b.write(es[h:])
	}
	if err != nil {
		return fmt.Errorf("write %d keys to the destination: %w", len(es), err)
	}
	return nil
}
