// Package storetest is the contract of store.Store as a test suite. Every
// backend runs it (store's Badger in memory and on disk, pgstore on a real
// PostgreSQL), so a property that holds on one backend and not on another
// shows up as a failing test, not as a bug after a switch of backend.
//
// The properties, each a subtest of Run:
//   - Get, Set and Delete, and reads of a transaction's own writes;
//   - store.GetMany, in a View and in an update (its own writes first);
//   - ordered and reverse scans, with prefixes, start keys and ErrStop,
//     over keys with 0x00 and 0xff bytes, and scans nested in scans;
//   - serializable updates: concurrent read-modify-write increments lose
//     nothing;
//   - an error from an update function comes back unchanged and nothing
//     the function wrote is kept; a panic reaches the caller, nothing kept;
//   - OnCommit callbacks run after a successful commit, before Update
//     returns, and never for a failed one;
//   - the change feed (Options.OnChange with ChangePrefixes): only watched
//     keys, values and deletions, every update reported before it
//     returns, in commit order, sorted by key within one update;
//   - NextSeq unique and increasing in commit order, across a reopen;
//   - durability on a nil return: after Close and reopen the writes are
//     there (for backends that persist);
//   - a context done before Update starts its function: ctx.Err(), the
//     function never runs; a closed store answers store.ErrClosed.
//
// This package imports only store; it is imported only by tests.
package storetest

import (
	"testing"

	"podserver/store"
)

// Feed is the change feed a test asks of the store it opens: the
// backend passes both to its own options (store.Options.OnChange and
// ChangePrefixes for Badger).
type Feed struct {
	// OnChange receives the durable writes under Prefixes, as
	// store.Options.OnChange does. nil: no feed.
	OnChange func([]store.Change)
	// Prefixes selects the keys OnChange reports.
	Prefixes []string
}

// Opener opens the one store location a Backend.New made, with the given
// change feed. After the previous store of that location was closed,
// opening it again gives back its data, if the backend persists.
type Opener func(t *testing.T, feed Feed) store.Store

// Backend is what Run needs of a store implementation.
type Backend struct {
	// New makes a new, empty store location for t (a directory, a
	// database schema) and returns how to open it. The location, and
	// every store opened on it and not closed by the test, are cleaned up
	// with t.
	New func(t *testing.T) Opener
	// Persistent is true when a closed store's data is there again on
	// reopen (false for a store in memory): the durability and
	// sequence-across-reopen tests need it.
	Persistent bool
}

// Run runs the whole contract against b, one subtest per property.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"ValuesAreCopied", testValuesAreCopied},
		{"GetMany", testGetMany},
		{"Scan", testScan},
		{"ScanStopAndErrors", testScanStopAndErrors},
		{"ScanNested", testScanNested},
		{"SerializableIncrements", testSerializableIncrements},
		{"ErrorKeepsNothing", testErrorKeepsNothing},
		{"PanicKeepsNothing", testPanicKeepsNothing},
		{"OnCommit", testOnCommit},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedCommitOrder", testChangeFeedCommitOrder},
		{"NextSeq", testNextSeq},
		{"Durability", testDurability},
		{"NextSeqAcrossReopen", testNextSeqAcrossReopen},
		{"ContextAndClose", testContextAndClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}
