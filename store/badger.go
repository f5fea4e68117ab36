package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrTxnTooBig is returned by Update when one function writes more than fits
// in a single Badger transaction: about 4.8 MB (15% of the memtable) of keys
// and values, where values of 64 KB or more count only a few bytes as they
// go to the value log.
var ErrTxnTooBig = errors.New("store: transaction too large")

// Options configures Open.
type Options struct {
	// Dir is the data directory, created if missing. Required unless
	// InMemory.
	Dir string
	// InMemory keeps everything in memory, for tests; Dir is ignored.
	// Values are then limited to 1 MB.
	InMemory bool
	// NoGroupCommit commits and syncs every Update on its own instead of
	// batching concurrent ones. Only for benchmarks.
	NoGroupCommit bool
	// CommitInterval is the least time between the starts of two group
	// commits. Under load a batch then waits up to this long for more
	// Updates to join it, so each sync (and its fixed CPU cost in the
	// kernel) covers more of them; an Update on an idle store is committed
	// at once. 0 (the default) commits each batch as soon as the previous
	// one is durable.
	CommitInterval time.Duration
	// Logger receives Badger's warnings and errors and the store's own.
	// nil discards them.
	Logger *slog.Logger
	// OnBatch, if set, is called on the writer goroutine after each batch
	// is durable and its OnCommit callbacks ran, before its Update calls
	// return, with the number of successful Update calls in the batch
	// (batches in which every call failed are not reported). It must be
	// fast, e.g. observe a histogram.
	OnBatch func(txns int)
	// OnChange, if set, is called on the writer goroutine after each batch
	// is durable (after the OnCommit callbacks), with the writes of the
	// batch whose keys start with one of ChangePrefixes, in commit order.
	// It must be fast and must not call Update; the slice and its bytes
	// are the callee's to keep. It is the change feed: every cache
	// follows it, through a Watch (see watch.go).
	OnChange func(changes []Change)
	// ChangePrefixes selects the keys OnChange reports.
	ChangePrefixes []string

	// MemTableSize is the size of Badger's memtables (default 32 MiB).
	// A transaction holds up to 15% of it (see ErrTxnTooBig), and the
	// default free-space reserve grows with it (see MinFreeBytes).
	// Smaller tables suit small disks; tests use them to make Badger
	// rotate memtables and split transactions early.
	MemTableSize int64
	// MinFreeBytes is the free space, in bytes, that the store keeps on
	// the data directory's filesystem for the database's own background
	// work: Update fails with ErrNoSpace rather than eat into it (see
	// space.go). 0 derives it from MemTableSize: 9 memtables + 4 MiB,
	// 292 MiB by default. Ignored when InMemory.
	MinFreeBytes int64

	// statfs measures free space; tests replace it.
	statfs statfsFunc
}

// Tuning for a small server. A Badger transaction holds up to 15% of a
// memtable; values of at least valueThreshold bytes go to the value log and
// count only a few bytes towards that.
const (
	memTableSize = 32 << 20
	numMemtables = 3
	// numLevelZeroTables is Badger's default, set explicitly because
	// defaultReserve depends on it.
	numLevelZeroTables = 5
	valueThreshold     = 64 << 10
	blockCacheSize     = 32 << 20
	valueLogSize       = 256 << 20
	maxBatch           = 256 // Update calls per batch
	gcInterval         = 10 * time.Minute
	gcDiscardRatio     = 0.5
)

// Badger is the Store backed by an embedded Badger database. The writer
// type documents how updates are batched and made durable.
type Badger struct {
	db  *badger.DB
	log *slog.Logger
	w   *writer
	// space applies the free-space reserve; nil in memory.
	space *spaceGuard

	gcStop chan struct{}
	gcDone chan struct{}

	mu        sync.Mutex
	closed    bool
	views     int        // running View calls
	viewsDone *sync.Cond // signalled when views drops to 0

	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Badger)(nil)

// Open opens (creating if needed) the store described by opts. If another
// process holds the data directory, the error wraps ErrLocked.
func Open(opts Options) (*Badger, error) {
	if !opts.InMemory && opts.Dir == "" {
		return nil, errors.New("store: Options.Dir is required unless InMemory is set")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var space *spaceGuard
	if !opts.InMemory {
		if err := removeEmptyLogs(opts.Dir, log); err != nil {
			return nil, err
		}
		// Badger would create it; the free space is measured first.
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", opts.Dir, err)
		}
		fs := opts.statfs
		if fs == nil {
			fs = statfs
		}
		space = newSpaceGuard(opts.Dir, reserve(opts), flushNeed(cmp.Or(opts.MemTableSize, memTableSize)), fs, log)
		// Opening writes Badger's headers through sparse mappings too.
		if sp := space.measure(); sp.Err == nil && sp.Free < minOpenFree {
			return nil, fmt.Errorf("%w to open %s: %d bytes free, %d needed", ErrNoSpace, opts.Dir, sp.Free, minOpenFree)
		}
	}
	db, err := badger.Open(badgerOptions(opts, log))
	if err != nil {
		if isLockError(err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrLocked, opts.Dir, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", opts.Dir, err)
	}
	seq, err := loadSeq(db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	batch := maxBatch
	interval := max(opts.CommitInterval, 0)
	if opts.NoGroupCommit {
		batch, interval = 1, 0
	}
	s := &Badger{
		db:     db,
		log:    log,
		w:      newWriter(db, log, opts.OnBatch, newChangeFeed(opts.OnChange, opts.ChangePrefixes), batch, seq, interval, space),
		space:  space,
		gcStop: make(chan struct{}),
		gcDone: make(chan struct{}),
	}
	s.viewsDone = sync.NewCond(&s.mu)
	if opts.InMemory {
		close(s.gcDone)
	} else {
		go s.gcLoop()
	}
	return s, nil
}

// reserve is the free space the store described by opts keeps.
func reserve(opts Options) uint64 {
	if opts.MinFreeBytes > 0 {
		return uint64(opts.MinFreeBytes)
	}
	return defaultReserve(cmp.Or(opts.MemTableSize, memTableSize))
}

func badgerOptions(opts Options, log *slog.Logger) badger.Options {
	dir := opts.Dir
	if opts.InMemory {
		dir = "" // Badger refuses a directory in memory mode
	}
	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithLogger(slogAdapter{log}).
		WithSyncWrites(true).       // see the writer type
		WithDetectConflicts(false). // one writer: nothing to conflict with
		WithNumVersionsToKeep(1).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithNumLevelZeroTables(numLevelZeroTables).
		WithBlockCacheSize(blockCacheSize).
		WithValueLogFileSize(valueLogSize).
		WithValueThreshold(valueThreshold).
		WithNumCompactors(2).
		WithMetricsEnabled(false)
	if opts.MemTableSize > 0 {
		bo = bo.WithMemTableSize(opts.MemTableSize)
	}
	if opts.InMemory {
		// Nothing goes to a value log in memory; Badger rejects values
		// above the threshold instead, so raise it to the maximum.
		bo = bo.WithValueThreshold(min(1<<20, 15*bo.MemTableSize/100))
	}
	return bo
}

// removeEmptyLogs deletes the zero-length memtable WALs (.mem) and value log
// files (.vlog) in dir. Badger creates such a file and then sizes it, so a
// crash between the two leaves it empty; Badger then refuses to open the
// directory ("Create a new file"), although the file holds nothing. Removing
// it loses nothing: Badger creates it again. A directory that does not exist
// yet has nothing to remove.
func removeEmptyLogs(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".mem") || strings.HasSuffix(name, ".vlog")) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("store: stat %s: %w", name, err)
		}
		if info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("store: remove the empty %s left by a crash: %w", name, err)
		}
		log.Warn("store: removed an empty log file left by a crash", "file", name)
	}
	return nil
}

// isLockError reports whether Badger's Open failed because another process
// holds the directory lock. Badger flattens the flock error into its
// message, so the message is matched; errors.Is covers a future Badger that
// wraps it.
func isLockError(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(err.Error(), "Another process is using this Badger database")
}

// loadSeq reads the sequence's high-water mark.
func loadSeq(db *badger.DB) (uint64, error) {
	var seq uint64
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(seqKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			seq = Uint64(v)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store: load sequence: %w", err)
	}
	return seq, nil
}

// Space implements SpaceReporter: it measures the data directory's free
// space now. A store in memory has no disk: it is always writable.
func (s *Badger) Space() Space {
	if s.space == nil {
		return Space{Writable: true}
	}
	return s.space.measure()
}

// View implements Store. r is valid only until fn returns. ctx is checked
// before fn runs and periodically during scans; a scan stopped by it
// returns ctx.Err().
func (s *Badger) View(ctx context.Context, fn func(r Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.views++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.views--; s.views == 0 {
			s.viewsDone.Broadcast()
		}
		s.mu.Unlock()
	}()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	return fn(&snapshot{txn: txn, ctx: ctx})
}

// Update implements Store; the writer type documents the guarantees. If ctx is done
// before fn starts, Update returns ctx.Err() and fn never runs; once fn has
// started it runs to completion and Update waits for the commit, whatever
// ctx does. fn and its OnCommit callbacks run on the store's writer
// goroutine: they must not call Update or Close (that deadlocks) and should
// be quick (they delay every other write); fn must not use tx after
// returning. View inside fn reads the committed state, without fn's or its
// batch's writes. A panic in fn is re-raised in the caller's goroutine,
// with nothing written; a panic in an OnCommit callback is logged.
func (s *Badger) Update(ctx context.Context, fn func(tx Txn) error) error {
	return s.w.update(ctx, fn)
}

// Close implements Store. It stops admitting updates (they fail with
// ErrClosed), finishes the admitted ones, waits for running View calls and
// closes the database. Later calls return the first call's result.
//
// Closing Badger flushes its memtable to a table, through a sparse
// mapping: on a full disk that faults. So when the free space does not
// cover the flush, Close leaves the database open, logs why and returns an
// error wrapping ErrNoSpace: every acknowledged write is in the synced
// WAL, and the next Open replays it. The directory stays locked until the
// process exits, which it should do next.
func (s *Badger) Close() error {
	s.closeOnce.Do(func() {
		s.w.close()
		close(s.gcStop)
		<-s.gcDone
		s.mu.Lock()
		s.closed = true
		for s.views > 0 {
			s.viewsDone.Wait()
		}
		s.mu.Unlock()
		if err := s.space.closable(); err != nil {
			s.closeErr = err
			return
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// gcLoop reclaims value log space held by overwritten and deleted values.
func (s *Badger) gcLoop() {
	defer close(s.gcDone)
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-s.gcStop:
			return
		case <-t.C:
		}
		for {
			select {
			case <-s.gcStop:
				return
			default:
			}
			// GC writes a file's live values again before it deletes
			// the file: only with room for that beyond the reserve.
			if sp := s.space.measure(); sp.Err == nil && sp.Free < sp.Reserve+valueLogSize {
				s.log.Warn("store: value log GC skipped: not enough free disk space", "free_bytes", sp.Free, "needed_bytes", sp.Reserve+valueLogSize)
				break
			}
			err := s.db.RunValueLogGC(gcDiscardRatio)
			if err == nil {
				continue // a file was rewritten; there may be more
			}
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.log.Warn("store: value log GC", "err", err)
			}
			break
		}
	}
}
