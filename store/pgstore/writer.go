package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"podserver/store"
)

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
	fn    func(store.Txn) error
	state atomic.Int32
	done  chan struct{} // closed by the writer once the outcome is final

	// Set on the writer goroutine before done is closed.
	err      error
	panicked bool
	panicVal any
	own      bool // err or the panic is the function's own outcome
	t        *txn // the run of fn that is kept, if it succeeded
}

// batch is a committed attempt of a batch.
type batch struct {
	conn    *pgxpool.Conn // still held, for the feed's read; nil when nothing committed
	ok      []*request    // the requests whose writes committed, in commit order
	changes []store.Change
	// minID and maxID are the ids of changes in podserver_changes.
	minID, maxID int64
}

// run is the writer goroutine: it takes the queued requests as one batch,
// runs it and answers its callers, until Close. Background requests
// (store.WithBackground) wait in deferred for their turn (see take).
func (s *Store) run() {
	defer close(s.wdone)
	var deferred []*request
	for {
		var first *request
		if len(deferred) == 0 {
			select {
			case first = <-s.reqs:
			case <-s.stop:
				return
			}
		}
		var b []*request
		b, deferred = s.take(first, deferred)
		if len(b) == 0 {
			continue
		}
		s.runBatch(b)
		for _, r := range b {
			close(r.done)
		}
	}
}

// take returns the next batch: first (if not nil) and the requests queued
// behind it, up to maxBatch, scheduled with the background requests
// waiting in deferred by store.ScheduleBatch, leaving out those whose
// callers gave up. It returns the batch and the background requests left
// waiting.
func (s *Store) take(first *request, deferred []*request) (b, left []*request) {
	taken := make([]*request, 0, s.maxBatch)
	if first != nil {
		taken = append(taken, first)
	}
collect:
	for len(taken) < s.maxBatch {
		select {
		case r := <-s.reqs:
			taken = append(taken, r)
		default:
			break collect
		}
	}
	return store.ScheduleBatch(taken, deferred, isBackground, admit)
}

func isBackground(r *request) bool { return store.IsBackground(r.ctx) }

// admit marks r running, unless its caller gave up (r is then abandoned
// with its context's error) or it is no longer queued.
func admit(r *request) bool {
	if r.ctx.Err() != nil {
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			r.err = r.ctx.Err()
			close(r.done)
		}
		return false
	}
	return r.state.CompareAndSwap(stateQueued, stateRunning)
}

// runBatch runs the requests in one transaction, again after a
// serialization failure or deadlock, and sets their outcomes.
func (s *Store) runBatch(reqs []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		b, err := s.attemptBatch(ctx, reqs)
		s.result(err)
		if err == nil {
			s.committed(ctx, b)
			return
		}
		if retryable(err) && attempt < s.attempts && ctx.Err() == nil {
			s.retries.Add(1)
			// A little jitter lets the transaction that won go first.
			time.Sleep(time.Duration(rand.IntN(attempt*500)+100) * time.Microsecond)
			continue
		}
		for _, r := range reqs {
			if !r.own {
				r.err = err
			}
		}
		return
	}
}

// Statements of a batch.
const (
	savepoint  = `SAVEPOINT f`
	rollbackTo = `ROLLBACK TO SAVEPOINT f`
	// insertChanges records a batch's watched writes, in order, and
	// notifies the listening nodes at COMMIT with the last id.
	insertChanges = `WITH ins AS (
	INSERT INTO podserver_changes (k, v)
	SELECT k, v FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS c(k, v, n) ORDER BY n
	RETURNING id
), m AS (SELECT min(id) AS lo, max(id) AS hi FROM ins)
SELECT lo, hi FROM m, LATERAL (SELECT pg_notify($3, hi::text)) AS n`
)

// attemptBatch runs every request's function once, in one transaction
// begun under the writers' turn, each after the first kept one under a
// savepoint, and commits. A function's own failure is its request's
// outcome; an error returned fails the whole attempt.
func (s *Store) attemptBatch(ctx context.Context, reqs []*request) (_ *batch, err error) {
	pc, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := pc.Conn()
	inTx := false
	defer func() {
		if err == nil {
			return
		}
		if inTx && !conn.IsClosed() {
			// Closing the connection ends the transaction and the turn
			// without another round trip to a database that may be gone.
			_ = conn.Close(context.Background())
		}
		if errors.Is(err, store.ErrUnavailable) {
			// Idle connections may lead to a server that is gone or
			// read-only now: make new ones.
			s.pool.Reset()
		}
		pc.Release()
	}()
	exec := func(what, sql string) error {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return wrap(what, err, conn.IsClosed())
		}
		return nil
	}
	var kept []*request
	for i, r := range reqs {
		r.err, r.panicked, r.panicVal, r.own, r.t = nil, false, nil, false, nil
		if !inTx {
			if _, err := conn.PgConn().Exec(ctx, s.begin).ReadAll(); err != nil {
				return nil, wrap("begin", err, conn.IsClosed())
			}
			inTx = true
		}
		// After a kept function, savepoint f follows its writes: the
		// kept function's flush set it, or, after a function rolled
		// back to it, it is still there.
		sp := len(kept) > 0
		t := &txn{reader: reader{ctx: ctx, tx: connQ{conn}}, s: s, writes: map[string]store.Change{}}
		ferr := s.call(r, t)
		if r.panicked || ferr != nil {
			t.pending = nil // rolled back below; the sequence still moves on
		} else {
			t.savepoint = i < len(reqs)-1 // for the next function
		}
		_ = t.flush() // an error is t.err
		if t.err != nil && (retryable(t.err) || errors.Is(t.err, store.ErrUnavailable)) {
			return nil, t.err // the whole transaction is lost
		}
		if !r.panicked && ferr == nil && t.err == nil {
			r.t = t
			kept = append(kept, r)
			continue
		}
		r.own = true
		if r.err = ferr; ferr == nil {
			r.err = t.err
		}
		if sp {
			err = exec("rollback to savepoint", rollbackTo)
		} else {
			err = exec("rollback", "ROLLBACK")
			inTx = false
		}
		if err != nil {
			return nil, err
		}
	}
	if !inTx {
		pc.Release()
		return &batch{}, nil // every function failed
	}
	b := &batch{conn: pc, ok: kept}
	if err := s.recordChanges(ctx, conn, b); err != nil {
		return nil, err
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	switch {
	case err != nil && (conn.IsClosed() || unreachable(err)):
		inTx = false
		return nil, fmt.Errorf("pgstore: commit: %w: %w: %w", ErrCommitUnknown, store.ErrUnavailable, err)
	case err != nil:
		return nil, wrap("commit", err, false)
	case tag.String() != "COMMIT":
		return nil, fmt.Errorf("pgstore: commit: the transaction was rolled back (%s)", tag)
	}
	return b, nil
}

// recordChanges inserts the kept functions' watched writes into the
// changes table: each function's in key order, in commit order.
func (s *Store) recordChanges(ctx context.Context, conn *pgx.Conn, b *batch) error {
	for _, r := range b.ok {
		keys := make([]string, 0, len(r.t.writes))
		for k := range r.t.writes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b.changes = append(b.changes, r.t.writes[k])
		}
	}
	if len(b.changes) == 0 {
		return nil
	}
	ks := make([][]byte, len(b.changes))
	vs := make([][]byte, len(b.changes))
	for i, c := range b.changes {
		ks[i] = c.Key
		if !c.Deleted {
			vs[i] = c.Value
		}
	}
	if err := conn.QueryRow(ctx, insertChanges, ks, vs, s.channel).Scan(&b.minID, &b.maxID); err != nil {
		return wrap("record changes", err, conn.IsClosed())
	}
	if s.feed != nil {
		s.feed.ownBatch(b.minID, b.maxID)
	}
	return nil
}

// call runs fn, turning a panic into the request's outcome.
func (s *Store) call(r *request, t *txn) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked, r.panicVal = true, v
		}
	}()
	return r.fn(t)
}

// committed runs a committed batch's OnCommit callbacks, in commit order,
// then reports its changes to the feed.
func (s *Store) committed(ctx context.Context, b *batch) {
	if b.conn == nil {
		return
	}
	defer b.conn.Release()
	s.batches.Add(1)
	s.updates.Add(uint64(len(b.ok)))
	for _, r := range b.ok {
		for _, fn := range r.t.onCommit {
			s.callback(fn)
		}
	}
	if s.feed != nil && len(b.changes) > 0 {
		s.feed.own(ctx, b.conn.Conn(), b)
	}
}

func (s *Store) callback(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("pgstore: OnCommit callback panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// txn is the store.Txn of one run of an update function in a batch.
//
// Its writes are kept in the txn and sent in one round trip (flush): before
// the function scans, and when it returns. Get answers a key the function
// wrote from that buffer. NextSeq takes one value from the sequence and
// hands out the next ones itself, which only the batch's holding the
// writers' turn allows, and flush moves the sequence past the last one.
// The flush after a function that another follows in the batch also sets
// savepoint f for it. An update so costs the writer's connection its reads,
// one nextval and one flush, instead of a round trip per statement.
type txn struct {
	reader
	s        *Store
	writes   map[string]store.Change // watched writes, for the change feed
	onCommit []func()

	// pending holds the writes not yet sent: the last one per key (a
	// deletion is a nil value).
	pending map[string][]byte
	// seqFirst is the value NextSeq took from the sequence (0: none yet
	// in this run) and seqLast the last one it returned; flush sets the
	// sequence to seqLast when it is ahead of seqSent.
	seqFirst, seqLast, seqSent int64
	// savepoint makes the next flush end with SAVEPOINT f: set when the
	// function returned, for the one after it in the batch.
	savepoint bool
}

// Set implements store.Txn.
func (t *txn) Set(key, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{} // NULL is not a value, and nil is a deletion here
	}
	t.buffer(key, v)
	if t.s.watched(key) {
		t.writes[string(key)] = store.Change{Key: bytes.Clone(key), Value: v}
	}
	return nil
}

// Delete implements store.Txn.
func (t *txn) Delete(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	t.buffer(key, nil)
	if t.s.watched(key) {
		t.writes[string(key)] = store.Change{Key: bytes.Clone(key), Deleted: true}
	}
	return nil
}

func (t *txn) buffer(key, value []byte) {
	if t.pending == nil {
		t.pending = map[string][]byte{}
	}
	t.pending[string(key)] = value
}

// Get implements store.Reader: a key written in this run is answered from
// the buffer.
func (t *txn) Get(key []byte) ([]byte, error) {
	if v, ok := t.pending[string(key)]; ok {
		if v == nil {
			return nil, store.ErrNotFound
		}
		return bytes.Clone(v), nil
	}
	return t.reader.Get(key)
}

// GetMany implements store.MultiGetter: the keys written in this run from
// the buffer, the others in one query.
func (t *txn) GetMany(keys [][]byte) ([][]byte, error) {
	out := make([][]byte, len(keys))
	var ask [][]byte
	var idx []int
	for i, k := range keys {
		if v, ok := t.pending[string(k)]; ok {
			if v != nil {
				out[i] = bytes.Clone(v)
			}
			continue
		}
		ask, idx = append(ask, k), append(idx, i)
	}
	if len(ask) == 0 {
		return out, nil
	}
	got, err := t.reader.GetMany(ask)
	if err != nil {
		return nil, err
	}
	for j, i := range idx {
		out[i] = got[j]
	}
	return out, nil
}

// Scan implements store.Reader, after sending the buffered writes.
func (t *txn) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	if err := t.flush(); err != nil {
		return err
	}
	return t.reader.Scan(prefix, start, reverse, fn)
}

// NextSeq implements store.Txn. If the database fails, it returns 0 and
// the Update fails with that error, whatever the function returns.
func (t *txn) NextSeq() uint64 {
	if t.err != nil {
		return 0
	}
	if t.seqFirst == 0 {
		var n int64
		if err := t.tx.QueryRow(t.ctx, `SELECT nextval('podserver_seq')`).Scan(&n); err != nil {
			t.fail("next sequence number", err)
			return 0
		}
		t.seqFirst, t.seqLast, t.seqSent = n, n, n
		return uint64(n)
	}
	t.seqLast++
	return uint64(t.seqLast)
}

// Statements of a flush.
const (
	upsertKV = `INSERT INTO podserver_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`
	deleteKV = `DELETE FROM podserver_kv WHERE k = ANY($1::bytea[])`
	setSeq   = `SELECT setval('podserver_seq', $1::bigint)`
)

// flush sends the buffered writes, moves the sequence past the values
// NextSeq handed out and sets the savepoint asked for, in one round trip.
// Its error is also the run's.
func (t *txn) flush() error {
	if t.err != nil {
		return t.err
	}
	var b pgx.Batch
	if len(t.pending) > 0 {
		keys := make([]string, 0, len(t.pending))
		for k := range t.pending {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var ks, vs, dels [][]byte
		for _, k := range keys {
			if v := t.pending[k]; v != nil {
				ks, vs = append(ks, []byte(k)), append(vs, v)
			} else {
				dels = append(dels, []byte(k))
			}
		}
		if len(dels) > 0 {
			b.Queue(deleteKV, dels)
		}
		if len(ks) > 0 {
			b.Queue(upsertKV, ks, vs)
		}
		t.pending = nil
	}
	if t.seqLast > t.seqSent {
		// setval is not transactional: the values count as used even if
		// this run is rolled back, as nextval's would.
		b.Queue(setSeq, t.seqLast)
		t.seqSent = t.seqLast
	}
	if t.savepoint {
		b.Queue(savepoint)
		t.savepoint = false
	}
	if b.Len() == 0 {
		return nil
	}
	if err := t.tx.Conn().SendBatch(t.ctx, &b).Close(); err != nil {
		return t.fail("write", err)
	}
	return nil
}
