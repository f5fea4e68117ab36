package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
)

// # Free space
//
// Badger writes its memtable WALs (.mem), value logs (.vlog), tables (.sst)
// and discard statistics through memory-mapped files that it creates with
// ftruncate: the files are sparse, so the kernel allocates a block only
// when a write lands in a hole, and when the filesystem has no block left
// it raises SIGBUS, which kills the process. Nothing in Badger reports
// ENOSPC first. The store therefore never lets Badger run out of blocks
// from its own writes: it keeps a reserve of free space (Options.MinFreeBytes),
// checks the free space with statfs at the start of every group-commit
// batch, and admits an Update only if its writes, on top of the batch's
// earlier ones, leave the reserve untouched. Refused Updates fail with
// ErrNoSpace before anything reaches Badger; reads are not affected. Space
// freed by anyone (a deleted file, a grown volume) is seen by the next
// batch, so writes resume without a restart.
//
// The reserve covers what Badger may still allocate after the last
// admitted write, work that it starts on its own (see defaultReserve):
// flushing the memtables to level-0 tables, compacting those tables, and
// its small metadata files. Value log GC, which rewrites live values into
// new files before deleting old ones, runs only while the free space also
// covers one value log file (see Badger.gcLoop).
//
// Preallocating the files instead (fallocate) is not possible from outside
// Badger without a race: it creates a file and writes into it in one call,
// and tables are created and filled by its compaction goroutines. A
// process other than this one that fills the disk can still take the
// space the reserve stands for; the check then refuses every write, so
// Badger has no new work, but a flush or compaction already running may
// still fault.

// ErrNoSpace is returned by Update when the data directory's filesystem
// has less free space than the store's reserve plus the update's writes.
// Nothing was written. It wraps syscall.ENOSPC, so callers that do not
// know the store can still recognise it.
var ErrNoSpace = fmt.Errorf("store: not enough free disk space: %w", syscall.ENOSPC)

// Space describes the free space of the store's filesystem.
type Space struct {
	// Free is the space available to unprivileged writers, in bytes.
	Free uint64
	// Reserve is the free space the store keeps for Badger's own work, in
	// bytes; updates that would eat into it are refused.
	Reserve uint64
	// Writable is false while Free is below Reserve: every update fails
	// with ErrNoSpace.
	Writable bool
	// Refused counts the updates refused with ErrNoSpace since Open.
	Refused uint64
	// Err is set when the free space could not be measured; the store then
	// admits writes (Writable is true) and logs the failure.
	Err error
}

// SpaceReporter is implemented by stores that watch their disk space.
type SpaceReporter interface {
	// Space measures the free space now.
	Space() Space
}

// statfsFunc returns the bytes available to unprivileged writers on the
// filesystem holding dir.
type statfsFunc func(dir string) (uint64, error)

// Per-write disk cost beyond key and value: Badger's entry header, the
// version it appends to the key, the checksum, and a value pointer for
// values in the value log. Generous, so that the estimate is an upper
// bound.
const (
	entryOverhead = 64
	// batchOverhead is the transaction's commit marker and the sequence
	// key each Badger transaction may carry.
	batchOverhead = 256
)

// defaultReserve is the free space kept for Badger's background work when
// Options.MinFreeBytes is 0, from the store's Badger options:
//
//   - flushing every memtable to a level-0 table: numMemtables × memtable;
//   - the level-0 compaction those flushes trigger, which writes its output
//     before it deletes its input: up to numLevelZeroTables level-0 tables
//     (compaction starts at that many) plus the level-1 tables they
//     overlap, about one more memtable;
//   - the manifest, the key registry and the discard statistics (1 MiB,
//     doubled when full): metaReserve.
//
// The memtable WAL a write goes to, and the value log for values above the
// value threshold, are charged to each update as it is admitted (its
// keys, values and entryOverhead).
func defaultReserve(memTable int64) uint64 {
	return uint64((numMemtables+numLevelZeroTables+1)*memTable) + metaReserve
}

// metaReserve is the part of the reserve for Badger's metadata files.
const metaReserve = 4 << 20

// minOpenFree is the least free space Open needs: opening creates a
// memtable WAL, a value log file and the discard statistics, and writes
// their headers, all through sparse mappings. Open refuses with ErrNoSpace
// below it instead of faulting.
const minOpenFree = metaReserve

// spaceGuard applies the reserve. Its methods are safe for concurrent use.
type spaceGuard struct {
	dir     string
	reserve uint64
	statfs  statfsFunc
	log     *slog.Logger

	short   atomic.Bool   // free space was last seen below the reserve
	failing atomic.Bool   // statfs was last seen failing
	refused atomic.Uint64 // updates refused
}

func newSpaceGuard(dir string, reserve uint64, statfs statfsFunc, log *slog.Logger) *spaceGuard {
	return &spaceGuard{dir: dir, reserve: reserve, statfs: statfs, log: log}
}

// measure reads the free space and logs a change between short and not.
func (g *spaceGuard) measure() Space {
	free, err := g.statfs(g.dir)
	sp := Space{Free: free, Reserve: g.reserve, Writable: true, Err: err}
	if err != nil {
		if !g.failing.Swap(true) {
			g.log.Error("store: cannot measure free disk space; writes are admitted unchecked", "dir", g.dir, "err", err)
		}
	} else {
		if g.failing.Swap(false) {
			g.log.Info("store: free disk space can be measured again", "dir", g.dir)
		}
		sp.Writable = free >= g.reserve
		switch short := !sp.Writable; {
		case short && !g.short.Swap(true):
			g.log.Error("store: free disk space is below the reserve: refusing writes until space is freed",
				"dir", g.dir, "free_bytes", free, "reserve_bytes", g.reserve)
		case !short && g.short.Swap(false):
			g.log.Warn("store: free disk space is above the reserve again: accepting writes",
				"dir", g.dir, "free_bytes", free, "reserve_bytes", g.reserve)
		}
	}
	sp.Refused = g.refused.Load()
	return sp
}

// budget returns the bytes a batch starting now may write: the free space
// above the reserve. When statfs fails the budget is unlimited: the guard
// exists to keep the server up, and an unreadable statfs is no evidence of
// a full disk.
func (g *spaceGuard) budget() *spaceBudget {
	if g == nil {
		return nil
	}
	sp := g.measure()
	switch {
	case sp.Err != nil:
		return &spaceBudget{g: g, unlimited: true}
	case !sp.Writable:
		return &spaceBudget{g: g, free: sp.Free}
	}
	return &spaceBudget{g: g, free: sp.Free, left: sp.Free - sp.Reserve}
}

// spaceBudget is what is left of one batch's share of the free space; nil
// when the store does not watch its space (in memory). Writer goroutine
// only.
type spaceBudget struct {
	g         *spaceGuard
	free      uint64
	left      uint64
	unlimited bool
}

// exhausted reports whether no update can be admitted any more.
func (b *spaceBudget) exhausted() bool {
	return b != nil && !b.unlimited && b.left < batchOverhead
}

// charge takes the cost of ws from the budget, or returns an error wrapping
// ErrNoSpace when it does not fit.
func (b *spaceBudget) charge(ws *writeSet) error {
	if b == nil || b.unlimited {
		return nil
	}
	if cost := ws.diskCost(); cost <= b.left {
		b.left -= cost
		return nil
	}
	return b.refuse()
}

// refuse counts a refused update and returns its error.
func (b *spaceBudget) refuse() error {
	b.g.refused.Add(1)
	return fmt.Errorf("%w: %d bytes free, %d reserved for the database's own work", ErrNoSpace, b.free, b.g.reserve)
}

// diskCost is an upper bound of the bytes writing ws adds to Badger's WAL
// and value log.
func (ws *writeSet) diskCost() uint64 {
	n := uint64(batchOverhead)
	for k, w := range ws.m {
		n += uint64(len(k)+len(w.val)) + entryOverhead
	}
	return n
}

// errNoStatfs is returned by statfs on platforms without it.
var errNoStatfs = errors.New("statfs is not supported on this platform")
