// Package pgstore is store.Store on PostgreSQL, so that several podserver
// nodes (several Store values, in one process or many) can share one
// database. It lives apart from package store so that a build using only
// Badger does not link the PostgreSQL driver (pgx).
//
// # Layout
//
// The whole keyspace (store/keyspace.go) is one table, podserver_kv, of
// bytea keys and values with the key as primary key: bytea orders like
// bytes.Compare, so a scan is an ordered range query on the primary key's
// index (backwards for a reverse scan), read in pages so that the scan's
// callback may use the transaction. NextSeq draws from the sequence
// podserver_seq. The change feed goes through podserver_changes (see
// "Change feed"). The schema is created and migrated by Open (and by
// Migrate alone), with numbered migrations recorded in
// podserver_migrations (migrate.go).
//
// # Writers take turns, cluster-wide
//
// Every batch of updates, on every node, runs in a transaction whose first
// statement, sent with BEGIN in one round trip, is pg_advisory_xact_lock
// on a key derived from the schema: the database's writers run one at a
// time, and each lock is released by COMMIT or ROLLBACK, after the
// transaction became visible (PostgreSQL releases locks after it removes
// the transaction from the running set). The transaction is READ
// COMMITTED, so each of its statements reads a snapshot taken after it got
// the lock: it sees every write committed before it, as a serial run
// would. This is the chosen technique for ordered listings: a value drawn
// from podserver_seq or the changes table's id under the lock is greater
// than every value of every transaction that committed before, so commit
// order, visibility order and sequence order are one order. A reader that
// saw seq n in a snapshot therefore sees every committed seq below n: a
// cursor by seq never skips a late commit, nor sees one twice.
//
// The cost: one writing transaction at a time across the cluster (each
// node's batch waits for the other nodes' batches), a hand-off to the
// node's writer goroutine, and one more statement per batch with watched
// writes (the changes table); the lock itself travels with BEGIN. On the
// test cluster (fsync off, shared 2-core machine) one writer's Update took
// about 1.5 times as long as before; group commit (below) buys throughput
// back: 64 writers on one node ran about twice as many updates per second
// (BenchmarkUpdate). View is not affected (snapshots of REPEATABLE READ
// read-only transactions, on the pool, in parallel).
// Everything that writes podserver_kv, the sequence or the changes table
// must take the lock: an outside writer would break the serial order.
//
// # Group commit
//
// Update queues its function to the node's writer goroutine. The writer
// takes every queued function (up to Options.MaxBatch) and runs them, in
// admission order, in one transaction: each after the first that
// succeeded under a SAVEPOINT, so that a function returning an error or
// panicking rolls back only its own writes (its OnCommit callbacks are
// dropped; its error or panic reaches its caller unchanged). One COMMIT
// covers the batch. A serialization failure or deadlock (SQLSTATE 40001,
// 40P01; with the writers serialized, hardly possible) re-runs the whole
// batch, up to Options.MaxAttempts times: a function may so run more than
// once and must have no effects outside the transaction (OnCommit is the
// place for those).
//
// # Guarantees, against store.Store's
//
//   - Update is serializable (see above); commit order is run order.
//   - Durable on a nil return: COMMIT returned, under the server's
//     synchronous_commit setting (on by default).
//   - NextSeq values are unique and increase in commit order across the
//     whole cluster. Values of failed functions are gaps.
//   - OnCommit callbacks run after COMMIT returned, in commit order,
//     before Update returns; then the change feed reports the batch.
//   - Once a function has started, its batch is not bound to the caller's
//     ctx (as on Badger, a started update runs to its end); it is bounded
//     by Options.UpdateTimeout instead. A ctx done while queued returns
//     ctx.Err() and the function never runs.
//   - Keys are at most MaxKeySize bytes, smaller than Badger's limit: a
//     btree index entry must fit a third of a page.
//
// # Change feed
//
// A batch also inserts its writes under ChangePrefixes into
// podserver_changes (id from an identity column, drawn under the lock, so
// in commit order; the key; the value, NULL for a delete) and calls
// pg_notify on a channel named after the schema, delivered at COMMIT. All
// nodes of a database must use the same ChangePrefixes. Each node keeps
// the id up to which it reported changes to OnChange, and reports in id
// order, so its feed is in commit order across all nodes:
//
//   - its own batch's changes synchronously, after COMMIT and before the
//     batch's Update calls return (caches rely on it to read their
//     writes), preceded by any other nodes' changes with lower ids that
//     it had not reported yet (read after COMMIT, by id);
//   - other nodes' changes from a background goroutine, woken by the
//     notification (LISTEN on a dedicated connection, with a periodic
//     read besides), reading WHERE id > last ORDER BY id. When that
//     connection fails (a restart or failover of PostgreSQL), it
//     reconnects by itself and catches up from the last id.
//
// Changes another node committed are reported with store.Change.Remote
// set (the node knows its own batch's ids), so that effects one node must
// have per change, such as queueing a push notification, happen once.
// Sync reads the changes table at once and reports what it finds: a
// server calls it before serving a request, so that a write another node
// acknowledged before the request applies to it, whatever the feed's
// notification latency.
//
// Nodes prune rows older than Options.ChangeRetention (each node remembers
// which id it had reached when; deletion is a range of the primary key),
// recording the highest pruned id. A node that finds it had not reported
// up to that id may have missed changes: it calls Options.OnReset (drop
// every cache; store.Watch.Reset) and goes on from there.
//
// # When the database is unreachable
//
// View and Update fail fast with an error wrapping store.ErrUnavailable
// when PostgreSQL cannot be reached or is lost (connection refused or
// lost, no pool connection within Options.UnavailableTimeout, SQLSTATE
// class 08, 57P01-57P03, or 25006 read-only after a failover); they do not
// wait for it. The same Store works again once the database is back: the
// pool makes new connections (to whichever host of a multi-host URL with
// target_session_attrs=read-write is the primary; the pool is reset when
// the writer finds the database gone), and the feed's listener
// reconnects. A batch whose connection is lost after COMMIT was sent is
// ambiguous: it may have committed. Its Update calls then fail with an
// error wrapping both store.ErrUnavailable and ErrCommitUnknown; their
// OnCommit callbacks do not run, and if the batch did commit, its changes
// reach OnChange later, through the changes table, like another node's.
package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
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
	// parses it (pool settings such as pool_max_conns included; several
	// hosts with target_session_attrs=read-write for a primary and its
	// standbys).
	URL string
	// Logger receives the store's warnings; nil discards them.
	Logger *slog.Logger
	// OnChange and ChangePrefixes are the change feed, as in
	// store.Options: OnChange gets every node's committed writes under
	// ChangePrefixes, in commit order; this node's before its Update
	// returns, other nodes' soon after (see the package doc). It is
	// called from the writer goroutine or the feed's goroutine, one call
	// at a time; it must be fast and must not call Update. Every node of
	// a database must use the same ChangePrefixes.
	OnChange       func([]store.Change)
	ChangePrefixes []string
	// OnReset is called, like OnChange, when the node may have missed
	// changes (they were pruned before it read them): every cache must be
	// dropped (store.Watch.Reset).
	OnReset func()
	// ChangeRetention is how long rows stay in the changes table: a node
	// cut off from the database for longer resets (default 10 minutes).
	ChangeRetention time.Duration
	// MaxAttempts bounds the runs of one batch when PostgreSQL aborts it
	// for a serialization failure or a deadlock (default 20).
	MaxAttempts int
	// MaxBatch bounds how many update functions run in one transaction
	// (default 64).
	MaxBatch int
	// UpdateTimeout bounds one batch once its functions started, retries
	// included (default 60s).
	UpdateTimeout time.Duration
	// UnavailableTimeout bounds the wait for a database connection, new
	// or from the pool, before View or Update fail with
	// store.ErrUnavailable (default 5s).
	UnavailableTimeout time.Duration
}

// Store is store.Store on PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	prefixes []string
	attempts int
	maxBatch int
	timeout  time.Duration
	unavail  time.Duration
	// begin starts a batch's transaction and takes the writers' turn.
	begin string
	// channel is the NOTIFY channel of the schema's change feed.
	channel string

	mu      sync.Mutex
	closed  bool
	ops     sync.WaitGroup // running View and Update calls
	closeMu sync.Once

	reqs  chan *request
	stop  chan struct{} // closed by Close once no operation runs
	wdone chan struct{} // closed when the writer goroutine returns

	feed *feed // nil without OnChange

	retries   atomic.Uint64
	batches   atomic.Uint64
	updates   atomic.Uint64
	reachable atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database, creates or migrates the schema and
// returns the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.UnavailableTimeout <= 0 {
		opts.UnavailableTimeout = 5 * time.Second
	}
	pool, err := connect(ctx, opts.URL, opts.UnavailableTimeout)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, wrap("read the schema", err, false)
	}
	s := &Store{
		pool:     pool,
		log:      opts.Logger,
		prefixes: opts.ChangePrefixes,
		attempts: opts.MaxAttempts,
		maxBatch: opts.MaxBatch,
		timeout:  opts.UpdateTimeout,
		unavail:  opts.UnavailableTimeout,
		begin:    fmt.Sprintf("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(%d)", lockKey(schema)),
		channel:  channelName(schema),
		stop:     make(chan struct{}),
		wdone:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.attempts <= 0 {
		s.attempts = 20
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 64
	}
	if s.timeout <= 0 {
		s.timeout = 60 * time.Second
	}
	s.reqs = make(chan *request, s.maxBatch)
	s.reachable.Store(true)
	if opts.OnChange != nil && len(opts.ChangePrefixes) > 0 {
		f, err := newFeed(ctx, s, opts)
		if err != nil {
			pool.Close()
			return nil, err
		}
		s.feed = f
	}
	go s.run()
	return s, nil
}

// connect opens the pool and checks that the database answers. New
// connections give up after timeout.
func connect(ctx context.Context, url string, timeout time.Duration) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > timeout {
		cfg.ConnConfig.ConnectTimeout = timeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, unavailable("connect", err)
	}
	return pool, nil
}

// lockKey is the advisory lock key of the writers' turn on schema
// (advisory locks are per database; a schema is one store).
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("podserver writers\x00" + schema))
	return int64(h.Sum64())
}

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
// the running ones, stops the writer and the feed and closes the
// connections. Later calls return nil.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.ops.Wait()
		close(s.stop)
		<-s.wdone
		if s.feed != nil {
			s.feed.close()
		}
		s.pool.Close()
	})
	return nil
}

// acquire takes a pool connection within the UnavailableTimeout. Its
// error wraps store.ErrUnavailable, or is ctx's own.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, s.unavail)
	defer cancel()
	conn, err := s.pool.Acquire(actx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.reachable.Store(false)
		return nil, unavailable("connect", err)
	}
	return conn, nil
}

// result records whether an operation found the database reachable.
func (s *Store) result(err error) {
	if err == nil {
		s.reachable.Store(true)
	} else if errors.Is(err, store.ErrUnavailable) {
		s.reachable.Store(false)
	}
}

// View implements store.Store: fn reads a REPEATABLE READ, read-only
// transaction's snapshot. Its error is returned unchanged; the reader's
// errors wrap store.ErrUnavailable when the database is unreachable.
func (s *Store) View(ctx context.Context, fn func(r store.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.ops.Done()
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	// Release destroys a connection left closed or in a transaction.
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		err = wrap("begin", err, conn.Conn().IsClosed())
		s.result(err)
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	r := &reader{ctx: ctx, tx: tx}
	err = fn(r)
	s.result(r.err)
	return err
}

// Update implements store.Store; the package doc says how it differs from
// Badger's. A panic in fn rolls its writes back and reaches the caller; a
// panic in an OnCommit callback is logged.
func (s *Store) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.ops.Done()
	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return ctx.Err() // fn never runs
		}
		<-r.done // fn has started: wait for the outcome
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

func (s *Store) watched(k []byte) bool {
	for _, p := range s.prefixes {
		if bytes.HasPrefix(k, []byte(p)) {
			return true
		}
	}
	return false
}
