// Package replay keeps the nonces of accepted HTTP message signatures in
// the store (store.PrefixNonce), so a signed request replayed after a
// restart on the same data is still refused. Nonces implements
// httpsig.NonceCache.
//
// # Keys
//
//	"N" + "h" + sha256(key)                 -> until (unix ms, 8 bytes)
//	"N" + "x" + until (unix ms, 8) + sha256(key) -> ""
//
// The first finds a nonce, the second orders them by expiry for pruning.
// Every Add also prunes a few expired nonces, so the keyspace holds about
// the nonces of one acceptance window and needs no background task.
//
// This package imports podserver/store and no other podserver package.
package replay

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"podserver/store"
)

// prunePerAdd is how many expired nonces each Add removes at most: more
// than one, so a backlog (after a pause in traffic) drains.
const prunePerAdd = 8

var (
	prefixHash   = []byte(store.PrefixNonce + "h")
	prefixExpiry = []byte(store.PrefixNonce + "x")
)

// Nonces is a durable httpsig.NonceCache over a store.Store. It is safe for
// concurrent use (the store serializes updates).
type Nonces struct {
	st store.Store
}

// New returns the nonce cache kept in st.
func New(st store.Store) *Nonces { return &Nonces{st: st} }

// Add records key until the time until and reports true, or reports false
// when key is recorded and has not expired at now. It returns only once
// the record is durable, so an accepted signature is refused after a
// crash too.
func (n *Nonces) Add(ctx context.Context, key string, now, until time.Time) (bool, error) {
	h := sha256.Sum256([]byte(key))
	hk := append(append([]byte{}, prefixHash...), h[:]...)
	fresh := false
	err := n.st.Update(ctx, func(tx store.Txn) error {
		fresh = false
		if err := prune(tx, now, prunePerAdd); err != nil {
			return err
		}
		old, err := tx.Get(hk)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case len(old) == 8 && time.UnixMilli(int64(store.Uint64(old))).After(now):
			return nil // seen, and still within its window
		default:
			// Expired but not pruned yet: replace it.
			if err := tx.Delete(expiryKey(store.Uint64(old), h)); err != nil {
				return err
			}
		}
		if !until.After(now) {
			fresh = true
			return nil // already expired: nothing to remember
		}
		ms := uint64(until.UnixMilli())
		if err := tx.Set(hk, store.AppendUint64(nil, ms)); err != nil {
			return err
		}
		if err := tx.Set(expiryKey(ms, h), nil); err != nil {
			return err
		}
		fresh = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("replay: %w", err)
	}
	return fresh, nil
}

// Prune removes every nonce expired at now and returns how many it
// removed. Add prunes as it goes; Prune is for tests and maintenance.
func (n *Nonces) Prune(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		removed := 0
		err := n.st.Update(ctx, func(tx store.Txn) error {
			var err error
			removed, err = pruneCount(tx, now, 256)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("replay: %w", err)
		}
		total += removed
		if removed < 256 {
			return total, nil
		}
	}
}

// Len returns the number of nonces held, expired or not.
func (n *Nonces) Len(ctx context.Context) (int, error) {
	count := 0
	err := n.st.View(ctx, func(r store.Reader) error {
		return r.Scan(prefixHash, nil, false, func(_, _ []byte) error {
			count++
			return nil
		})
	})
	return count, err
}

func prune(tx store.Txn, now time.Time, limit int) error {
	_, err := pruneCount(tx, now, limit)
	return err
}

// pruneCount deletes up to limit nonces that expired at now, oldest first.
func pruneCount(tx store.Txn, now time.Time, limit int) (int, error) {
	nowMS := uint64(now.UnixMilli())
	var expired [][]byte
	err := tx.Scan(prefixExpiry, nil, false, func(k, _ []byte) error {
		rest := k[len(prefixExpiry):]
		if len(expired) >= limit || len(rest) != 8+sha256.Size || store.Uint64(rest) > nowMS {
			return store.ErrStop
		}
		expired = append(expired, append([]byte(nil), k...))
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range expired {
		rest := k[len(prefixExpiry):]
		hk := append(append([]byte{}, prefixHash...), rest[8:]...)
		// Delete the nonce itself only when this index entry is its
		// current one.
		if v, err := tx.Get(hk); err == nil && store.Uint64(v) == store.Uint64(rest) {
			if err := tx.Delete(hk); err != nil {
				return 0, err
			}
		}
		if err := tx.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// expiryKey is the index key of a nonce with hash h expiring at ms.
func expiryKey(ms uint64, h [sha256.Size]byte) []byte {
	k := store.AppendUint64(append([]byte{}, prefixExpiry...), ms)
	return append(k, h[:]...)
}
