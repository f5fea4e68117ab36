package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// seqKey holds the sequence's high-water mark (8 bytes, big-endian).
var seqKey = prefixMeta + "seq"

// Request states. The writer moves a request from queued to running; its
// Update call moves it from queued to abandoned when ctx ends first.
const (
	stateQueued int32 = iota
	stateRunning
	stateAbandoned
)

// request is one Update call.
type request struct {
	ctx   context.Context
	fn    func(Txn) error
	state atomic.Int32
	// background: made with a WithBackground context.
	background bool
	done       chan struct{} // closed by the writer once err is final

	// Set on the writer goroutine before done is closed.
	err      error
	ws       *writeSet
	onCommit []func()
	panicked bool
	panicMsg string
}

// writer owns all writes to the DB: group commit.
//
// Every write goes through one goroutine, the writer (writer.run). Update
// enqueues a request and waits. The writer takes all queued requests, up to
// maxBatch, as one batch and:
//
//  1. Runs the requests' functions one at a time, in admission order. Each
//     runs against a txn: its own writes, buffered in an overlay, over the
//     writes of the batch's earlier successful functions, over a Badger
//     snapshot taken when the batch (or its current Badger transaction)
//     began. So every function sees every write that commits before it, in
//     its batch or an earlier one: updates are serializable.
//  2. When a function returns nil, adds its writes to the batch's Badger
//     write transaction; when it returns an error or panics, drops them and
//     hands the error (or the panic) back to its caller unchanged. Badger
//     replays a transaction after a crash only if all of it reached the WAL,
//     so one function's writes never span two Badger transactions: if
//     adding them hits badger.ErrTxnTooBig, the writer commits the
//     transaction without them and adds them to a fresh one. A function
//     whose writes do not fit even an empty transaction fails with
//     ErrTxnTooBig.
//  3. Commits the Badger transaction(s), runs the OnCommit callbacks of the
//     successful functions in commit order, calls Options.OnBatch, and only
//     then wakes the waiting Update calls.
//
// Durability: the DB is opened with SyncWrites, so Badger's Commit returns
// only after the write is msync'ed to the memtable WAL (and to the value
// log, for values above the value threshold). With one Badger transaction
// per batch, that is one sync for the whole batch, which is the point of
// group commit: throughput grows with the number of concurrent writers
// while each Update still returns only once it is durable. This is chosen
// over committing with SyncWrites off and calling DB.Sync once per batch,
// which costs the same syncs but (a) syncs only the active memtable WAL and
// value log file: when a commit makes Badger rotate to a new memtable or
// value log file, the tail of the previous one stays in the page cache
// until Badger flushes it to an SST, so a power loss (not a process crash)
// in that window loses acknowledged writes; with SyncWrites Badger syncs
// each write into the WAL it went to and syncs a value log file before
// rotating it; (b) would let View see data before it is durable, since
// Badger publishes a commit to readers when Commit finishes; with
// SyncWrites a reader never sees a write that a crash can take back.
// Known gaps, in Badger: under SyncWrites a failed msync of the value log
// (values above the threshold) is only logged, not returned; and new WAL and
// value log files are not followed by an fsync of the directory, which
// journaling filesystems (ext4, xfs) make unnecessary in practice (the
// file's first sync commits its creation) but POSIX does not promise.
//
// Ordering: requests run in the order the writer dequeues them (FIFO),
// except background requests (WithBackground), which run after the
// ordinary requests dequeued with them and at most a few per batch (see
// ScheduleBatch); a batch commits before the next batch starts, and within a
// batch the Badger transactions commit in order, so commit order equals
// run order.
//
// Sequence: NextSeq hands out w.seq+1 on the writer goroutine, so numbers
// are strictly increasing in run order, which is commit order. A function
// that called NextSeq also writes the sequence's high-water mark under
// seqKey in the same Badger transaction as its other writes, so the mark
// covers every number in committed data; Open resumes after it. Numbers
// taken by a function that fails are skipped (gaps are normal) and, if no
// later function commits before a crash, may be handed out again after the
// restart: they never reached the store.
//
// Context: an Update whose ctx is done before its function starts returns
// ctx.Err() and the function never runs. Once started, a function runs to
// completion and its result is committed, whatever happens to ctx.
type writer struct {
	db       *badger.DB
	log      *slog.Logger
	onBatch  func(txns int)
	maxBatch int
	// changes reports durable writes under watched prefixes (may be nil).
	changes *changeFeed

	reqs chan *request
	stop chan struct{} // closed once every admitted request is answered
	done chan struct{} // closed when run returns

	mu       sync.Mutex
	closed   bool
	admitted sync.WaitGroup // requests admitted and not yet answered

	seq uint64 // last sequence number handed out; writer goroutine only

	// minInterval is the least time between the starts of two batches
	// (see fill); 0 commits each batch as soon as the previous one is done.
	minInterval time.Duration

	// space refuses updates that would eat into the free-space reserve
	// (nil: no check).
	space *spaceGuard

	// cache holds committed pod records for update functions.
	cache *writerCache
}

func newWriter(db *badger.DB, log *slog.Logger, onBatch func(int), changes *changeFeed, maxBatch int, seq uint64, minInterval time.Duration, space *spaceGuard) *writer {
	w := &writer{
		db:       db,
		log:      log,
		onBatch:  onBatch,
		changes:  changes,
		maxBatch: maxBatch,
		reqs:     make(chan *request, maxBatch),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		seq:      seq,

		minInterval: minInterval,
		space:       space,
		cache:       newWriterCache(),
	}
	go w.run()
	return w
}

// update runs fn through the writer and waits for its result.
func (w *writer) update(ctx context.Context, fn func(Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.admitted.Add(1)
	w.mu.Unlock()

	r := &request{ctx: ctx, fn: fn, done: make(chan struct{}), background: IsBackground(ctx)}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.admitted.Done()
		return ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return ctx.Err()
		}
		<-r.done // fn has started: wait for the outcome
	}
	if r.panicked {
		panic(r.panicMsg)
	}
	return r.err
}

// close stops admitting requests, waits until the admitted ones are
// answered and stops the writer goroutine. Call it once.
func (w *writer) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.admitted.Wait()
	close(w.stop)
	<-w.done
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*request, 0, w.maxBatch)
	var deferred []*request // background requests taken and not yet run, in order
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	var last time.Time // when the previous batch started
	lastSize := 0      // and how many requests it held
	for {
		batch = batch[:0]
		if len(deferred) == 0 {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			case <-w.stop:
				return
			}
		}
		batch = w.fill(batch, pace, last, lastSize)
		batch, deferred = ScheduleBatch(batch, deferred, isBackground, admitAll)
		last, lastSize = time.Now(), len(batch)
		w.runBatch(batch)
		clear(batch)
	}
}

func isBackground(r *request) bool { return r.background }

// admitAll admits every request: runBatch drops those whose callers gave
// up.
func admitAll(*request) bool { return true }

// fill adds the queued requests to batch, up to maxBatch. When the previous
// batch held concurrent requests and started less than minInterval ago, it
// first waits for the rest of the interval (or a full batch), so that
// under load the batches grow instead of the syncs multiplying. A store
// that is idle, or serves one writer at a time, commits at once.
func (w *writer) fill(batch []*request, pace *time.Timer, last time.Time, lastSize int) []*request {
	if w.minInterval > 0 && lastSize > 1 {
		if wait := w.minInterval - time.Since(last); wait > 0 {
			pace.Reset(wait)
		collect:
			for len(batch) < w.maxBatch {
				select {
				case r := <-w.reqs:
					batch = append(batch, r)
				case <-pace.C:
					break collect
				}
			}
			pace.Stop()
		}
	}
	for len(batch) < w.maxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// runBatch runs, commits and answers one batch of requests.
func (w *writer) runBatch(reqs []*request) {
	b := w.newBatch()
	var fatal error // a commit failed: fail the rest of the batch
	for _, r := range reqs {
		switch {
		case fatal != nil:
			r.err = fatal
		case !r.state.CompareAndSwap(stateQueued, stateRunning):
			// Abandoned: its caller returned ctx.Err() already.
		case r.ctx.Err() != nil:
			r.err = r.ctx.Err()
		default:
			fatal = b.run(r)
		}
	}
	if fatal == nil {
		_ = b.commit() // the error is recorded on the requests
	}
	b.discard()

	for _, r := range b.durable {
		for _, fn := range r.onCommit {
			w.callback(fn)
		}
	}
	if w.changes != nil {
		w.changes.report(b.durable)
	}
	if w.onBatch != nil && len(b.durable) > 0 {
		w.onBatch(len(b.durable))
	}
	for _, r := range reqs {
		close(r.done)
		w.admitted.Done()
	}
}

// callback runs an OnCommit function. A panic there must not take the
// writer down: the update is already durable, so it is logged.
func (w *writer) callback(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			w.log.Error("store: OnCommit callback panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// batch is the writer's state while it runs one batch.
type batch struct {
	w *writer
	// space is what the batch may still write (nil: unlimited).
	space *spaceBudget
	snap  *badger.Txn // read-only snapshot
	view  overlay     // writes pending in wtxn over snap; base of each fn's txn
	wtxn  *badger.Txn // write transaction

	pending []*request // successful requests whose writes are in wtxn
	durable []*request // successful requests whose writes are committed
}

func (w *writer) newBatch() *batch {
	b := &batch{w: w, space: w.space.budget()}
	b.begin()
	return b
}

// begin starts a new snapshot and write transaction.
func (b *batch) begin() {
	b.snap = b.w.db.NewTransaction(false)
	b.view = overlay{base: cachedSnapshot{&snapshot{txn: b.snap}, b.w.cache}, ws: newWriteSet()}
	b.wtxn = b.w.db.NewTransaction(true)
}

func (b *batch) discard() {
	b.snap.Discard()
	b.wtxn.Discard()
}

// run runs r's function and adds its writes to the batch. It returns an
// error only when a commit failed, which fails the rest of the batch.
func (b *batch) run(r *request) error {
	if b.space.exhausted() {
		r.err = b.space.refuse(0)
		return nil
	}
	t := &txn{overlay: overlay{base: &b.view, ws: newWriteSet()}, w: b.w}
	if err := call(r, t); err != nil {
		r.err = err
		return nil
	}
	if t.usedSeq {
		t.ws.put(seqKey, write{val: AppendUint64(nil, b.w.seq)})
	}
	if err := b.space.charge(t.ws); err != nil {
		r.err = err
		return nil
	}
	r.ws, r.onCommit = t.ws, t.onCommit
	return b.add(r)
}

// call runs r's function, turning a panic into an error for the writer and
// a panic message for r's caller.
func call(r *request, t *txn) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked = true
			r.panicMsg = fmt.Sprintf("store: Update function panicked: %v\n\ngoroutine stack:\n%s", v, debug.Stack())
			err = errors.New("store: Update function panicked")
		}
	}()
	return r.fn(t)
}

// add adds r's writes to the write transaction. If they do not fit, it
// commits the transaction without them and retries in a fresh one.
func (b *batch) add(r *request) error {
	for {
		err := apply(b.wtxn, r.ws)
		if err == nil {
			b.pending = append(b.pending, r)
			b.view.ws.merge(r.ws)
			return nil
		}
		// wtxn now holds part of r's writes: rebuild it without them.
		if rerr := b.rebuild(); rerr != nil {
			r.err = rerr
			return rerr
		}
		switch {
		case !errors.Is(err, badger.ErrTxnTooBig):
			r.err = fmt.Errorf("store: write: %w", err)
			return nil
		case len(b.pending) == 0:
			r.err = fmt.Errorf("%w: %d writes", ErrTxnTooBig, len(r.ws.m))
			return nil
		}
		if err := b.commit(); err != nil {
			r.err = err
			return err
		}
		b.discard()
		b.begin()
	}
}

// rebuild replaces the write transaction with one holding only the writes
// of the pending requests. They fitted before, so they fit again.
func (b *batch) rebuild() error {
	b.wtxn.Discard()
	b.wtxn = b.w.db.NewTransaction(true)
	for _, p := range b.pending {
		if err := apply(b.wtxn, p.ws); err != nil {
			err = fmt.Errorf("store: rebuild write transaction: %w", err)
			b.failPending(err)
			return err
		}
	}
	return nil
}

// commit commits the write transaction, which makes the pending requests
// durable. On failure it fails them.
func (b *batch) commit() error {
	if err := b.wtxn.Commit(); err != nil {
		b.w.cache.reset()
		err = fmt.Errorf("store: commit: %w", err)
		b.failPending(err)
		return err
	}
	for _, r := range b.pending {
		b.w.cache.committed(r.ws)
	}
	b.durable = append(b.durable, b.pending...)
	b.pending = nil
	return nil
}

func (b *batch) failPending(err error) {
	for _, p := range b.pending {
		p.err = err
	}
	b.pending = nil
}

// apply adds ws to a Badger write transaction.
func apply(t *badger.Txn, ws *writeSet) error {
	for k, w := range ws.m {
		var err error
		if w.del {
			err = t.Delete([]byte(k))
		} else {
			err = t.Set([]byte(k), w.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
