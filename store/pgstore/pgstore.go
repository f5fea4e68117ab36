// Package pgstore is store.Store on PostgreSQL, so that several podserver
// nodes can share one database. It lives apart from package store so that
// a build using only Badger does not link the PostgreSQL driver (pgx).
//
// # Layout
//
// The whole keyspace (store/keyspace.go) is one table, podserver_kv, of
// bytea keys and values with the key as primary key: bytea orders like
// bytes.Compare, so a scan is an ordered range query on the primary key's
// index (backwards for a reverse scan), read in pages so that the scan's
// callback may use the transaction. NextSeq draws from the sequence
// podserver_seq. The schema is created and migrated by Open (and by
// Migrate alone), with numbered migrations recorded in
// podserver_migrations (migrate.go).
//
// # Guarantees, against store.Store's
//
//   - Update runs in a SERIALIZABLE transaction. A serialization failure
//     or deadlock (SQLSTATE 40001, 40P01), whether fn saw it or COMMIT
//     did, re-runs fn in a new transaction, up to Options.MaxAttempts
//     times; the caller sees only the last outcome. fn may so run more than
//     once: it must not have effects outside the transaction (OnCommit is
//     the place for those; callbacks of a failed attempt are dropped).
//   - Durable on a nil return: COMMIT returned, under the server's
//     synchronous_commit setting (on by default).
//   - One node's updates run one at a time (a mutex held from BEGIN to
//     the end of the callbacks): on one node, commit order is run order,
//     NextSeq increases in commit order, and OnCommit and the change feed
//     (Options.OnChange) run after COMMIT returned, in commit order, before
//     Update returns, as on Badger. Across nodes, sequence numbers are
//     unique but two nodes' transactions may commit out of sequence order,
//     and a node's feed reports only its own commits: the cross-node
//     feed and ordered listings are later work (issue #13).
//   - Once fn has started, the transaction is not bound to the caller's
//     ctx (as on Badger, a started update runs to its end); it is bounded
//     by Options.UpdateTimeout instead.
//   - Keys are at most MaxKeySize bytes, smaller than Badger's limit: a
//     btree index entry must fit a third of a page.
package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"podserver/store"
)

// MaxKeySize is the longest key the store accepts.
const MaxKeySize = 2000

// scanPage is how many rows one query of a scan reads.
const scanPage = 256

// Options configures Open.
type Options struct {
	// URL is the PostgreSQL connection URL (postgres://...), as pgx
	// parses it (pool settings such as pool_max_conns included).
	URL string
	// Logger receives the store's warnings; nil discards them.
	Logger *slog.Logger
	// OnChange and ChangePrefixes are the change feed, as in
	// store.Options: OnChange gets this node's committed writes under
	// ChangePrefixes, after COMMIT, in commit order, before Update
	// returns. It must be fast and must not call Update.
	OnChange       func([]store.Change)
	ChangePrefixes []string
	// MaxAttempts bounds the runs of one update's function when
	// PostgreSQL aborts it for a serialization failure or a deadlock
	// (default 20).
	MaxAttempts int
	// UpdateTimeout bounds one Update once its function started,
	// retries included (default 60s).
	UpdateTimeout time.Duration
}

// Store is store.Store on PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	onChange func([]store.Change)
	prefixes []string
	attempts int
	timeout  time.Duration

	// wmu serializes this node's updates (see the package doc).
	wmu sync.Mutex

	mu      sync.Mutex
	closed  bool
	ops     sync.WaitGroup // running View and Update calls
	closeMu sync.Once

	retries atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// Open connects to the database, creates or migrates the schema and
// returns the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	pool, err := connect(ctx, opts.URL)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{
		pool:     pool,
		log:      opts.Logger,
		onChange: opts.OnChange,
		prefixes: opts.ChangePrefixes,
		attempts: opts.MaxAttempts,
		timeout:  opts.UpdateTimeout,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.attempts <= 0 {
		s.attempts = 20
	}
	if s.timeout <= 0 {
		s.timeout = 60 * time.Second
	}
	if s.onChange == nil || len(s.prefixes) == 0 {
		s.onChange = nil
	}
	return s, nil
}

func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	return pool, nil
}

// Retries returns how many times an update function was re-run after a
// serialization failure or deadlock.
func (s *Store) Retries() uint64 { return s.retries.Load() }

// enter admits one operation, unless the store is closed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.ops.Add(1)
	return nil
}

// Close implements store.Store: it stops admitting operations, waits for
// the running ones and closes the connections. Later calls return nil.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.ops.Wait()
		s.pool.Close()
	})
	return nil
}

// View implements store.Store: fn reads a REPEATABLE READ, read-only
// transaction's snapshot. Its error is returned unchanged.
func (s *Store) View(ctx context.Context, fn func(r store.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.ops.Done()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return fn(&reader{ctx: ctx, tx: tx})
}

// Update implements store.Store; the package doc says how it differs from
// Badger's. A panic in fn rolls the transaction back and reaches the
// caller; a panic in an OnCommit callback is logged.
func (s *Store) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.ops.Done()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return err // ended while waiting for the node's turn: fn never ran
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		t, err := s.attempt(tctx, fn)
		if err == nil {
			s.committed(t)
			return nil
		}
		if !retryable(err) || attempt >= s.attempts {
			return err
		}
		s.retries.Add(1)
		// A little jitter lets the transaction that won go first.
		time.Sleep(time.Duration(rand.IntN(attempt*500)+100) * time.Microsecond)
	}
}

// attempt runs fn once in a new transaction and commits it.
func (s *Store) attempt(ctx context.Context, fn func(tx store.Txn) error) (*txn, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, fmt.Errorf("pgstore: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	t := &txn{reader: reader{ctx: ctx, tx: tx}, s: s, writes: map[string]store.Change{}}
	ferr := fn(t)
	switch {
	case t.err != nil && (ferr == nil || retryable(t.err)):
		// The transaction is aborted, whatever fn made of the error.
		return nil, t.err
	case ferr != nil:
		return nil, ferr
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: commit: %w", err)
	}
	done = true
	return t, nil
}

// committed runs a committed transaction's callbacks and reports its
// watched writes, in key order.
func (s *Store) committed(t *txn) {
	for _, fn := range t.onCommit {
		s.callback(fn)
	}
	if s.onChange == nil || len(t.writes) == 0 {
		return
	}
	keys := make([]string, 0, len(t.writes))
	for k := range t.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]store.Change, 0, len(keys))
	for _, k := range keys {
		out = append(out, t.writes[k])
	}
	s.onChange(out)
}

func (s *Store) callback(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("pgstore: OnCommit callback panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which the transaction can be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (s *Store) watched(k []byte) bool {
	if s.onChange == nil {
		return false
	}
	for _, p := range s.prefixes {
		if bytes.HasPrefix(k, []byte(p)) {
			return true
		}
	}
	return false
}

// reader is a store.Reader over a transaction.
type reader struct {
	ctx context.Context
	tx  pgx.Tx
	// err is the first database error: after it the transaction is
	// aborted (txn only; a View reports errors to fn only).
	err error
}

func (r *reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return err
}

// Get implements store.Reader.
func (r *reader) Get(key []byte) ([]byte, error) {
	var v []byte
	err := r.tx.QueryRow(r.ctx, `SELECT v FROM podserver_kv WHERE k = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, r.fail(fmt.Errorf("pgstore: get: %w", err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Scan queries used by reader.Scan, by direction and upper bound.
const (
	scanAsc      = `SELECT k, v FROM podserver_kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3`
	scanAscOpen  = `SELECT k, v FROM podserver_kv WHERE k >= $1 ORDER BY k LIMIT $2`
	scanDesc     = `SELECT k, v FROM podserver_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3`
	scanDescOpen = `SELECT k, v FROM podserver_kv WHERE k >= $1 ORDER BY k DESC LIMIT $2`
)

type row struct{ k, v []byte }

// Scan implements store.Reader. It reads pages of scanPage rows and calls
// fn between queries, so fn may use the transaction.
func (r *reader) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	lo, hi, ok := bounds(prefix, start, reverse)
	if !ok {
		return nil
	}
	for {
		page, err := r.page(lo, hi, reverse)
		if err != nil {
			return r.fail(fmt.Errorf("pgstore: scan: %w", err))
		}
		for _, p := range page {
			if err := fn(p.k, p.v); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		last := page[len(page)-1].k
		if reverse {
			hi = last // exclusive
		} else {
			lo = append(last, 0) // the least key after last
		}
	}
}

func (r *reader) page(lo, hi []byte, reverse bool) ([]row, error) {
	var rows pgx.Rows
	var err error
	switch {
	case !reverse && hi != nil:
		rows, err = r.tx.Query(r.ctx, scanAsc, lo, hi, scanPage)
	case !reverse:
		rows, err = r.tx.Query(r.ctx, scanAscOpen, lo, scanPage)
	case hi != nil:
		rows, err = r.tx.Query(r.ctx, scanDesc, lo, hi, scanPage)
	default:
		rows, err = r.tx.Query(r.ctx, scanDescOpen, lo, scanPage)
	}
	if err != nil {
		return nil, err
	}
	out := make([]row, 0, scanPage)
	for rows.Next() {
		var p row
		if err := rows.Scan(&p.k, &p.v); err != nil {
			rows.Close()
			return nil, err
		}
		if p.v == nil {
			p.v = []byte{}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// bounds turns Scan's arguments into the half-open key range [lo, hi), hi
// nil for no upper bound; ok is false when the range is empty. It is
// store's scanBounds, which is not exported.
func bounds(prefix, start []byte, reverse bool) (lo, hi []byte, ok bool) {
	lo, hi = bytes.Clone(prefix), store.PrefixEnd(prefix)
	if lo == nil {
		lo = []byte{}
	}
	if start != nil {
		if !reverse {
			if bytes.Compare(start, lo) > 0 {
				lo = bytes.Clone(start)
			}
		} else {
			s := append(bytes.Clone(start), 0) // keys <= start
			if hi == nil || bytes.Compare(s, hi) < 0 {
				hi = s
			}
		}
	}
	return lo, hi, hi == nil || bytes.Compare(lo, hi) < 0
}

// txn is the store.Txn of one attempt of an Update.
type txn struct {
	reader
	s        *Store
	writes   map[string]store.Change // watched writes, for the change feed
	onCommit []func()
}

// Set implements store.Txn.
func (t *txn) Set(key, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // NULL is not a value
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO podserver_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, key, value)
	if err != nil {
		return t.fail(fmt.Errorf("pgstore: set: %w", err))
	}
	if t.s.watched(key) {
		t.writes[string(key)] = store.Change{Key: bytes.Clone(key), Value: bytes.Clone(value)}
	}
	return nil
}

// Delete implements store.Txn.
func (t *txn) Delete(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM podserver_kv WHERE k = $1`, key); err != nil {
		return t.fail(fmt.Errorf("pgstore: delete: %w", err))
	}
	if t.s.watched(key) {
		t.writes[string(key)] = store.Change{Key: bytes.Clone(key), Deleted: true}
	}
	return nil
}

// NextSeq implements store.Txn. If the database fails, it returns 0 and
// the Update fails with that error, whatever the function returns.
func (t *txn) NextSeq() uint64 {
	var n int64
	if err := t.tx.QueryRow(t.ctx, `SELECT nextval('podserver_seq')`).Scan(&n); err != nil {
		t.fail(fmt.Errorf("pgstore: next sequence number: %w", err))
		return 0
	}
	return uint64(n)
}

// OnCommit implements store.Txn.
func (t *txn) OnCommit(fn func()) { t.onCommit = append(t.onCommit, fn) }

func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return errors.New("pgstore: empty key")
	case len(key) > MaxKeySize:
		return fmt.Errorf("pgstore: key of %d bytes exceeds %d", len(key), MaxKeySize)
	}
	return nil
}
