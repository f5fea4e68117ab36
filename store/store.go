// Package store is podserver's durable, ordered key-value store.
//
// Every other package reaches persistent state only through the Store
// interface defined here; no Badger type leaks out of this package, so a
// second backend (Postgres is planned) can be added without touching callers.
//
// # Guarantees
//
//   - Update is serializable: update functions run one at a time, in the order
//     they are admitted, each seeing every write committed before it.
//   - When Update returns nil, the writes are durable: they were fsynced to
//     disk (group commit: one fsync covers every transaction of a batch).
//   - NextSeq values are unique and strictly increasing in commit order, across
//     restarts, so keys built from them list in creation order with one
//     prefix scan.
//
// The keyspace (which prefixes belong to which package) is documented in
// keyspace.go. This package must not import any other podserver package.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("store: key not found")

// ErrStop may be returned by a Scan callback to end the scan early without
// an error being reported to the caller.
var ErrStop = errors.New("store: stop scan")

// ErrLocked is returned by Open when another process holds the data directory.
var ErrLocked = errors.New("store: data directory is in use by another process")

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("store: closed")

// ErrUnavailable is wrapped by the errors of a backend that cannot reach its
// database (a server down, a lost connection, a primary that became read-only
// after a failover): the operation did not happen, or for an Update whose
// commit was cut off, may or may not have happened. Retry later.
var ErrUnavailable = errors.New("store: unavailable")

// Reader reads a consistent snapshot.
type Reader interface {
	// Get returns a copy of the value stored under key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for each key with the given prefix, in ascending key
	// order (descending when reverse is true). When start is non-nil the scan
	// begins at start (inclusive; for a reverse scan, at the greatest key <=
	// start). key and value are valid only during the call; copy to retain.
	// Returning ErrStop from fn ends the scan and Scan returns nil; any other
	// error ends the scan and is returned.
	Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) error) error
}

// MultiGetter is a Reader that reads many keys at once: PostgreSQL in one
// round trip instead of one per key. Callers use GetMany, which falls back
// to Get for other Readers.
type MultiGetter interface {
	// GetMany returns a copy of the value stored under each key, nil for
	// a key that holds none (a stored empty value is non-nil).
	GetMany(keys [][]byte) ([][]byte, error)
}

// GetMany reads keys through rd: at once when rd is a MultiGetter, else
// with a Get each. A key that holds no value gives nil.
func GetMany(rd Reader, keys [][]byte) ([][]byte, error) {
	if m, ok := rd.(MultiGetter); ok {
		return m.GetMany(keys)
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := rd.Get(k)
		switch {
		case err == nil:
			if v == nil {
				v = []byte{}
			}
			out[i] = v
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

// Txn is a read-write transaction. Reads see the transaction's own writes.
type Txn interface {
	Reader
	// Set stores value under key. The store keeps its own copy.
	Set(key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key []byte) error
	// NextSeq returns the next value of the store-wide sequence (starting at 1).
	NextSeq() uint64
	// OnCommit registers fn to run after the transaction is durable. It is
	// not run if the transaction fails. fn must not block for long.
	OnCommit(fn func())
}

// Store is the durable ordered key-value store.
type Store interface {
	// View runs fn against a read-only snapshot.
	View(ctx context.Context, fn func(r Reader) error) error
	// Update runs fn in a serializable read-write transaction. If fn returns
	// an error nothing it wrote is kept and the error is returned unchanged
	// (so callers can match it with errors.Is/As). When Update returns nil
	// every write is durable.
	Update(ctx context.Context, fn func(tx Txn) error) error
	// Close waits for pending updates and closes the store.
	Close() error
}

// Syncer is a Store shared with other processes (pgstore), whose change
// feed reports their writes in the background. Sync returns once every
// change committed before it was called, by any process, has been
// reported to the feed, so that caches following it answer the next
// request as the store would.
type Syncer interface {
	Sync(ctx context.Context) error
}
