package inbox

// Bulk conversion of the items written before shared bodies (for
// `podserver copy`): the conversion itself is ldp.ShareBody's, the one
// AppendAll applies to an item whose event comes again.

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"podserver/ldp"
	"podserver/store"
)

// shareChunk bounds the items ShareStoredCopies converts in one
// transaction (each rewrites its record and counts its body).
const shareChunk = 256

// ShareStoredCopies converts, in st, every inbox item the server wrote
// whole in the layout before shared bodies (its body inline in its
// record) whose event is known, as a copy listed by the event's copies
// entry or by a per-inbox dedup key of older data, to reference its
// event's shared body: one body per event (per distinct bytes), as
// AppendAll stores copies now. Each item keeps its bytes, metadata and
// entity tag (ldp.ShareBody). Items stored as sent (with a Sender),
// items already shared and items deleted since are left alone, so
// running it again converts nothing. Each converted item is read back in
// the transaction that converts it, and must read the same bytes and
// metadata, or nothing of that transaction is written and an error is
// returned. It returns how many items it converted.
//
// It reads the keys to convert page by page and converts them in
// transactions of its own, so it may run on a store being served; it
// takes sequence numbers for new bodies, so on a copied store it runs
// after the sequence is carried over.
func ShareStoredCopies(ctx context.Context, st store.Store) (int64, error) {
	var n int64
	for _, prefix := range []string{store.PrefixEventCopies, store.PrefixInboxDedup} {
		start := []byte(prefix)
		for start != nil {
			var items []string
			var next []byte
			err := st.View(ctx, func(rd store.Reader) error {
				items, next = items[:0], nil
				return rd.Scan([]byte(prefix), start, false, func(k, v []byte) error {
					if len(items) >= shareChunk {
						next = append([]byte{}, k...)
						return store.ErrStop
					}
					if prefix == store.PrefixInboxDedup {
						items = append(items, string(v))
						return nil
					}
					for len(v) > 0 {
						h, rest, err := nextHolder(v)
						if err != nil {
							return fmt.Errorf("%w: %q", err, k)
						}
						items = append(items, h.inbox+ItemName(h.seq))
						v = rest
					}
					return nil
				})
			})
			if err != nil {
				return n, fmt.Errorf("inbox: read event copies: %w", err)
			}
			for len(items) > 0 {
				chunk := items[:min(len(items), shareChunk)]
				items = items[len(chunk):]
				c, err := shareItems(ctx, st, chunk)
				n += c
				if err != nil {
					return n, err
				}
			}
			start = next
		}
	}
	return n, nil
}

// shareItems converts the items of paths that ShareStoredCopies converts,
// in one transaction, and returns how many it converted.
func shareItems(ctx context.Context, st store.Store, paths []string) (int64, error) {
	var n int64
	err := st.Update(ctx, func(tx store.Txn) error {
		n = 0
		for _, p := range paths {
			if _, err := tx.Get(senderKey(p)); err == nil {
				continue // stored as sent
			} else if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("read sender of %s: %w", p, err)
			}
			before, err := ldp.Get(tx, p)
			if errors.Is(err, ldp.ErrNotFound) {
				continue // deleted since
			}
			if err != nil {
				return err
			}
			ok, err := ldp.ShareBody(tx, p)
			if err != nil {
				return err
			}
			if !ok {
				continue // shared already
			}
			// A self-check: the item reads as it did.
			after, err := ldp.Get(tx, p)
			if err != nil {
				return err
			}
			if !bytes.Equal(after.Body, before.Body) || after.Meta != before.Meta {
				return fmt.Errorf("%s reads differently once converted", p)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("inbox: convert items to shared bodies: %w", err)
	}
	return n, nil
}
