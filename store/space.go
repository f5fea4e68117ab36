package store

import (
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
	// Writable is false while the store refuses every update with
	// ErrNoSpace: from the moment Free was seen below Reserve or an update
	// did not fit above it, until Free is back above Reserve by a margin
	// (an eighth of Reserve, at least 1 MiB).
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
//
// It is short (refusing every update) from the moment the free space is
// seen below the reserve, or an update is refused because its writes do
// not fit above it, until the free space is at least the reserve plus
// resumeMargin. Without the margin, small updates would still pass while
// large ones fail, and the state would flap with every write.
type spaceGuard struct {
	dir     string
	reserve uint64
	flush   uint64 // free space Close needs (flushNeed)
	statfs  statfsFunc
	log     *slog.Logger

	short   atomic.Bool   // refusing updates
	failing atomic.Bool   // statfs was last seen failing
	refused atomic.Uint64 // updates refused
}

func newSpaceGuard(dir string, reserve, flush uint64, statfs statfsFunc, log *slog.Logger) *spaceGuard {
	return &spaceGuard{dir: dir, reserve: reserve, flush: flush, statfs: statfs, log: log}
}

// resumeMargin is the free space above the reserve at which a short store
// accepts updates again: an eighth of the reserve, at least 1 MiB.
func (g *spaceGuard) resumeMargin() uint64 {
	return max(g.reserve/8, 1<<20)
}

// measure reads the free space, updates the short state and logs its
// changes.
func (g *spaceGuard) measure() Space {
	free, err := g.statfs(g.dir)
	sp := Space{Free: free, Reserve: g.reserve, Err: err}
	switch {
	case err != nil:
		if !g.failing.Swap(true) {
			g.log.Error("store: cannot measure free disk space; writes are admitted unchecked", "dir", g.dir, "err", err)
		}
	case free < g.reserve:
		g.failing.Store(false)
		g.enterShort(free, 0)
	case free >= g.reserve+g.resumeMargin():
		if g.failing.Swap(false) {
			g.log.Info("store: free disk space can be measured again", "dir", g.dir)
		}
		if g.short.Swap(false) {
			g.log.Warn("store: disk space freed: accepting writes again",
				"dir", g.dir, "free_bytes", free, "reserve_bytes", g.reserve)
		}
	default:
		g.failing.Store(false)
	}
	sp.Writable = err != nil || !g.short.Load()
	sp.Refused = g.refused.Load()
	return sp
}

// enterShort makes the guard short, logging the change; need is the size
// of the update that did not fit (0: the free space is below the reserve).
func (g *spaceGuard) enterShort(free, need uint64) {
	if g.short.Swap(true) {
		return
	}
	attrs := []any{"dir", g.dir, "free_bytes", free, "reserve_bytes", g.reserve, "resume_at_free_bytes", g.reserve + g.resumeMargin()}
	if need > 0 {
		attrs = append(attrs, "refused_update_bytes", need)
	}
	g.log.Error("store: disk nearly full: refusing writes until space is freed", attrs...)
}

// flushNeed is the free space closing Badger may need: flushing the
// memtables to level-0 tables, and the metadata files.
func flushNeed(memTable int64) uint64 {
	return uint64((numMemtables+1)*memTable) + metaReserve
}

// closable returns nil when the free space covers closing the database,
// and an error wrapping ErrNoSpace otherwise (see Badger.Close). A nil
// guard (in memory) or an unmeasurable disk is closable.
func (g *spaceGuard) closable() error {
	if g == nil {
		return nil
	}
	sp := g.measure()
	if sp.Err != nil || sp.Free >= g.flush {
		return nil
	}
	g.log.Error("store: not closing the database: too little free disk space to flush its memtable; every acknowledged write is in its synced WAL and is replayed at the next start",
		"dir", g.dir, "free_bytes", sp.Free, "needed_bytes", g.flush)
	return fmt.Errorf("%w to close %s cleanly (%d bytes free, %d needed): left open; the next start replays its log", ErrNoSpace, g.dir, sp.Free, g.flush)
}

// budget returns the bytes a batch starting now may write: the free space
// above the reserve, nothing while short. When statfs fails the budget is
// unlimited: the guard exists to keep the server up, and an unreadable
// statfs is no evidence of a full disk.
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
	cost := ws.diskCost()
	if cost <= b.left {
		b.left -= cost
		return nil
	}
	return b.refuse(cost)
}

// refuse makes the guard short, counts a refused update of need bytes (0:
// not measured) and returns its error.
func (b *spaceBudget) refuse(need uint64) error {
	b.g.enterShort(b.free, need)
	b.left = 0
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
