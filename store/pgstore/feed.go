package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"podserver/store"
)

// FeedApplicationName is the application_name of the change feed's
// listening connections (pg_stat_activity).
const FeedApplicationName = "podserver-feed"

// feedPage is how many changes one read of the changes table returns.
const feedPage = 1000

// feed is a node's view of the cluster-wide change feed (see the package
// doc): it reports every change of the changes table to OnChange, in id
// order, once.
type feed struct {
	s         *Store
	onChange  func([]store.Change)
	onReset   func()
	cfg       *pgx.ConnConfig // the listener's connection
	retention time.Duration
	poll      time.Duration // the longest wait between two reads

	// mu is held while changes are reported: reports are in id order,
	// one at a time.
	mu        sync.Mutex
	delivered atomic.Int64 // the id up to which changes were reported; written under mu
	seen      atomic.Int64 // the highest id known to be committed
	resets    atomic.Uint64

	// ownLo and ownHi are the change ids of this node's latest batch,
	// set by the writer before it commits: the feed goroutine may read
	// that batch's changes before own reports them, and must not report
	// them as another node's (store.Change.Remote). One range is enough:
	// the node's one writer commits and reports a batch before it records
	// the next one's changes, and the ids of a batch that failed to commit
	// are never used again.
	ownMu        sync.Mutex
	ownLo, ownHi int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// smu guards the reads of Sync: running is the read in progress,
	// next the one that starts after it (shared by every Sync call made
	// meanwhile, since running may have started before their calls).
	smu     sync.Mutex
	running *flight
	next    *flight

	// marks are the ids reached at past times, oldest first, for
	// pruning; the feed goroutine's only.
	marks []mark
}

type mark struct {
	at time.Time
	id int64
}

// idChange is a change read from the changes table.
type idChange struct {
	id int64
	c  store.Change
}

// channelName is the NOTIFY channel of the feed of schema: channels are
// database-wide and a database may hold several stores, one per schema.
func channelName(schema string) string {
	name := "podserver_changes_" + schema
	if len(name) > 63 { // NAMEDATALEN-1
		h := fnv.New64a()
		h.Write([]byte(schema))
		name = fmt.Sprintf("podserver_changes_%x", h.Sum64())
	}
	return name
}

// newFeed starts the feed goroutine, from the newest change.
func newFeed(ctx context.Context, s *Store, opts Options) (*feed, error) {
	f := &feed{
		s:         s,
		onChange:  opts.OnChange,
		onReset:   opts.OnReset,
		cfg:       s.pool.Config().ConnConfig.Copy(),
		retention: opts.ChangeRetention,
		done:      make(chan struct{}),
	}
	// Named, so that an operator (or a test) can find the listeners.
	f.cfg.RuntimeParams["application_name"] = FeedApplicationName
	if f.retention <= 0 {
		f.retention = 10 * time.Minute
	}
	f.poll = min(5*time.Second, f.retention/10)
	var start int64
	err := s.pool.QueryRow(ctx, `SELECT greatest((SELECT coalesce(max(id), 0) FROM podserver_changes), (SELECT pruned FROM podserver_feed))`).Scan(&start)
	if err != nil {
		return nil, wrap("read the change feed's position", err, false)
	}
	f.delivered.Store(start)
	f.seen.Store(start)
	f.ctx, f.cancel = context.WithCancel(context.Background())
	go f.run()
	return f, nil
}

func (f *feed) close() {
	f.cancel()
	<-f.done
}

// own reports a batch of this node's that committed, on the writer
// goroutine, before its Update calls return: first any other node's
// changes with lower ids not reported yet, then the batch's.
func (f *feed) own(ctx context.Context, conn *pgx.Conn, b *batch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saw(b.maxID)
	d := f.delivered.Load()
	if b.maxID <= d {
		return // the feed goroutine reported them already
	}
	var out []store.Change
	for after := d; after+1 < b.minID; {
		pruned, rows, err := f.read(ctx, conn, after, b.minID)
		if err != nil {
			// The batch is committed; what came before it cannot be
			// read now: drop every cache rather than report out of order.
			f.s.log.Warn("pgstore: cannot read other nodes' changes before this node's; resetting", "err", err)
			f.resetLocked()
			out = out[:0]
			break
		}
		if pruned > f.delivered.Load() {
			f.resetLocked()
			out = out[:0]
		}
		for _, r := range rows {
			out = append(out, r.c)
			after = r.id
		}
		if len(rows) < feedPage {
			break
		}
	}
	out = append(out, b.changes...)
	f.delivered.Store(b.maxID)
	f.onChange(out)
}

// report reports what a read of the changes table returned, leaving out
// what was reported already, under mu. pruned says which ids are gone.
func (f *feed) report(pruned int64, rows []idChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.delivered.Load()
	if pruned > d {
		f.resetLocked()
		d = pruned
	}
	var out []store.Change
	for _, r := range rows {
		if r.id > d {
			out = append(out, r.c)
			d = r.id
		}
	}
	f.delivered.Store(d)
	f.saw(d)
	if len(out) > 0 {
		f.onChange(out)
	}
}

// resetLocked tells the node that it may have missed changes; it goes on
// from the last pruned id. Called under mu.
func (f *feed) resetLocked() {
	f.resets.Add(1)
	f.s.log.Warn("pgstore: the change feed may have missed changes; resetting caches")
	if f.onReset != nil {
		f.onReset()
	}
}

// ownBatch records the change ids of this node's batch about to commit.
func (f *feed) ownBatch(lo, hi int64) {
	f.ownMu.Lock()
	f.ownLo, f.ownHi = lo, hi
	f.ownMu.Unlock()
}

// isOwn reports whether change id is one of this node's latest batch.
func (f *feed) isOwn(id int64) bool {
	f.ownMu.Lock()
	defer f.ownMu.Unlock()
	return f.ownLo != 0 && f.ownLo <= id && id <= f.ownHi
}

// saw records that id is committed.
func (f *feed) saw(id int64) {
	for {
		cur := f.seen.Load()
		if id <= cur || f.seen.CompareAndSwap(cur, id) {
			return
		}
	}
}

// readChanges reads the changes after an id and before another, and the
// highest pruned id, in one snapshot.
const readChanges = `SELECT f.pruned, c.id, c.k, c.v, c.v IS NULL
FROM podserver_feed AS f
LEFT JOIN LATERAL (SELECT id, k, v FROM podserver_changes WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3) AS c ON true`

// read returns up to feedPage changes with after < id < before, in id
// order, and the highest pruned id.
func (f *feed) read(ctx context.Context, conn *pgx.Conn, after, before int64) (int64, []idChange, error) {
	rows, err := conn.Query(ctx, readChanges, after, before, feedPage)
	if err != nil {
		return 0, nil, wrap("read changes", err, conn.IsClosed())
	}
	defer rows.Close()
	var pruned int64
	var out []idChange
	for rows.Next() {
		var id *int64
		var k, v []byte
		var del *bool
		if err := rows.Scan(&pruned, &id, &k, &v, &del); err != nil {
			return 0, nil, wrap("read changes", err, conn.IsClosed())
		}
		if id == nil {
			continue // no change: the left join's one row
		}
		c := store.Change{Key: k, Value: v, Deleted: *del, Remote: !f.isOwn(*id)}
		if c.Deleted {
			c.Value = nil
		} else if c.Value == nil {
			c.Value = []byte{}
		}
		out = append(out, idChange{id: *id, c: c})
	}
	if err := rows.Err(); err != nil {
		return 0, nil, wrap("read changes", err, conn.IsClosed())
	}
	return pruned, out, nil
}

// run is the feed goroutine: it listens for other nodes' commits and
// reports them, reconnecting when its connection fails, until close.
func (f *feed) run() {
	defer close(f.done)
	wait := 50 * time.Millisecond
	for {
		err := f.session(func() { wait = 50 * time.Millisecond })
		if f.ctx.Err() != nil {
			return
		}
		f.s.log.Warn("pgstore: the change feed's connection failed; reconnecting", "err", err, "in", wait)
		select {
		case <-f.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// session connects, listens, catches up and then reports changes as they
// are notified (or every poll interval), until the connection fails.
func (f *feed) session(connected func()) error {
	cctx, cancel := context.WithTimeout(f.ctx, f.s.unavail)
	conn, err := pgx.ConnectConfig(cctx, f.cfg)
	cancel()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(f.ctx, "LISTEN "+pgx.Identifier{f.s.channel}.Sanitize()); err != nil {
		return err
	}
	connected()
	for {
		if err := f.catchUp(conn); err != nil {
			return err
		}
		if err := f.prune(conn); err != nil {
			return err
		}
		if err := f.wait(conn); err != nil {
			return err
		}
	}
}

// wait waits for a notification of a change not reported yet, or the
// poll interval.
func (f *feed) wait(conn *pgx.Conn) error {
	deadline := time.Now().Add(f.poll)
	for {
		wctx, cancel := context.WithDeadline(f.ctx, deadline)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case f.ctx.Err() != nil:
			return f.ctx.Err()
		case err != nil && pgconn.Timeout(err) && !conn.IsClosed():
			return nil
		case err != nil:
			return err
		}
		id, perr := strconv.ParseInt(n.Payload, 10, 64)
		if perr != nil {
			return nil
		}
		f.saw(id)
		if id > f.delivered.Load() {
			return nil
		}
	}
}

// catchUp reports every change after the last reported one.
func (f *feed) catchUp(conn *pgx.Conn) error {
	for {
		pruned, rows, err := f.read(f.ctx, conn, f.delivered.Load(), math.MaxInt64)
		if err != nil {
			return err
		}
		f.report(pruned, rows)
		if len(rows) < feedPage {
			return nil
		}
	}
}

// prune notes the id reached now and deletes the changes older than the
// retention, by the ids noted then.
func (f *feed) prune(conn *pgx.Conn) error {
	now := time.Now()
	every := f.retention / 10
	if n := len(f.marks); n == 0 || now.Sub(f.marks[n-1].at) >= every {
		f.marks = append(f.marks, mark{at: now, id: f.delivered.Load()})
	}
	var upTo int64
	i := 0
	for ; i < len(f.marks) && now.Sub(f.marks[i].at) >= f.retention; i++ {
		upTo = f.marks[i].id
	}
	if i == 0 {
		return nil
	}
	f.marks = f.marks[i:]
	_, err := conn.Exec(f.ctx, `WITH d AS (DELETE FROM podserver_changes WHERE id <= $1)
UPDATE podserver_feed SET pruned = $1 WHERE pruned < $1`, upTo)
	if err != nil {
		return wrap("prune changes", err, conn.IsClosed())
	}
	return nil
}

// flight is one read of the changes table on behalf of Sync callers.
type flight struct {
	done chan struct{}
	err  error
}

// sync returns after a read of the changes table that started after it
// was called has reported what it found.
func (f *feed) sync(ctx context.Context) error {
	f.smu.Lock()
	fl := f.running
	if fl == nil {
		fl = &flight{done: make(chan struct{})}
		f.running = fl
		f.smu.Unlock()
		go f.fly(fl)
	} else {
		if f.next == nil {
			f.next = &flight{done: make(chan struct{})}
		}
		fl = f.next
		f.smu.Unlock()
	}
	select {
	case <-fl.done:
		return fl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fly runs a Sync read, then the one queued behind it, if any.
func (f *feed) fly(fl *flight) {
	for fl != nil {
		fl.err = f.syncRead()
		close(fl.done)
		f.smu.Lock()
		fl, f.next = f.next, nil
		f.running = fl
		f.smu.Unlock()
	}
}

// syncRead reads and reports the changes after the last reported one.
func (f *feed) syncRead() error {
	ctx, cancel := context.WithTimeout(f.ctx, f.s.unavail)
	defer cancel()
	conn, err := f.s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for {
		pruned, rows, err := f.read(ctx, conn.Conn(), f.delivered.Load(), math.MaxInt64)
		if err != nil {
			return err
		}
		f.report(pruned, rows)
		if len(rows) < feedPage {
			return nil
		}
	}
}
