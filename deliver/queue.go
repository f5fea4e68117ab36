package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"podserver/store"
)

// LocalFunc makes one attempt of a local delivery inside tx. It must write
// nothing when it fails (check first, write last): tx is committed only if
// it returns nil, together with the record's removal.
type LocalFunc func(tx store.Txn, r Record, now time.Time) error

// RemoteFunc makes one attempt of a delivery to another server or a
// webhook, outside any transaction; the queue records the outcome
// afterwards, so such deliveries are at least once. It returns what the
// target answered (zero when it did not answer; see ReadResponse) and nil
// on success, a *RetryError to ask for a retry at a given time
// (Retry-After), a Permanent error to stop retrying (a 4xx other than 408
// and 429), and any other error to retry on Config.Schedule. ctx ends when
// the attempt times out (Config.AttemptTimeout) or the queue closes.
type RemoteFunc func(ctx context.Context, r Record) (Response, error)

// RetryError asks for the next attempt after After (at least).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix: the delivery
// becomes dead at once.
func Permanent(err error) error { return permanentError{err} }

// Result is the outcome of a delivery's first attempt, for ?wait.
type Result struct {
	// Status is StatusDelivered, StatusPending (tried and failed, will
	// retry; or not yet tried when the wait ended) or StatusDead.
	Status string
	// Error is the last attempt's error, if any.
	Error string
	// Tried is false when the wait ended before the first attempt.
	Tried bool
	// ResponseStatus is the HTTP status the target answered the attempt
	// with (0 for local deliveries and when it did not answer).
	ResponseStatus int
	// ResponseBody is the start of the target's answer (at most
	// MaxResponseBody bytes); only a waiter registered before the attempt
	// gets it.
	ResponseBody []byte
	// ResponseTruncated is true when the answer was longer than
	// ResponseBody.
	ResponseTruncated bool
}

// Outcomes of an attempt, as Config.OnAttempt reports them.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead"
)

// Config configures a Queue.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Parallel bounds concurrent attempts (default 1024: an attempt that
	// waits for a slow target costs a goroutine and a connection, so it
	// takes Parallel/PerHost dead hosts at once to hold every slot).
	// Local attempts, which share the store's group commit, run at most
	// 64 at once.
	Parallel int
	// PerHost bounds concurrent attempts to one target host (default 64,
	// the outbound client's connections per host; fewer make draining
	// fall behind publishing between two servers), so a slow or dead
	// target takes at most PerHost of the Parallel slots and never delays
	// deliveries to other hosts. Local deliveries
	// are one lane of their own (see Parallel).
	PerHost int
	// AttemptTimeout bounds one remote attempt (default 0: only the
	// handler's own client timeout). A timed-out attempt is retried.
	AttemptTimeout time.Duration
	// Schedule is the wait after each failed attempt (default
	// DefaultSchedule()); a delivery is dead after len(Schedule)+1 failed
	// attempts.
	Schedule []time.Duration
	// KeepDelivered is how many delivered records each pod's outbox keeps
	// (default 1000; negative: none, a delivered record is removed).
	// Older ones are pruned in batches, so up to pruneEvery more may be
	// listed for a while.
	KeepDelivered int
	// OnAttempt, when set, is called after the outcome of each attempt is
	// recorded (before waiters learn it), with the record as recorded, the outcome (OutcomeDelivered,
	// OutcomeRetry, OutcomeDead) and, for a delivery, the time since the
	// record was created. It must not block.
	OnAttempt func(r Record, outcome string, latency time.Duration)

	// backlog is laneBacklog unless a test sets it.
	backlog int
}

// lane is the dispatch state of one target host: attempts running and
// claimed records waiting for one of its PerHost slots.
type lane struct {
	active  int
	waiting []Record
	// blocked: a due record of this lane was left in the store because
	// the lane was full; the scanner runs again when a slot frees.
	blocked bool
}

// Queue is the durable delivery queue and its worker.
//
// # Dispatch
//
// One scanner goroutine reads due records in due order and claims them:
// a claimed record is either being attempted or waiting in the in-memory
// lane of its target host. Claimed seqs are skipped by later scans
// without decoding, so a record is never attempted twice at once. Each
// lane runs at most PerHost attempts (64 for the local lane) and
// holds at most laneBacklog waiting records; every attempt also takes one
// of Parallel global slots. A record whose lane is full stays in the store
// (its lane is remembered by seq, so later scans skip it without decoding
// it) and is claimed when a slot of its lane frees. The scanner never
// waits for attempts: a target that never answers holds only its own
// lane. Claims are memory only; after a restart every pending record is
// due again from the store.
type Queue struct {
	cfg    Config
	local  map[string]LocalFunc
	remote map[string]RemoteFunc

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	// ctx ends when the queue closes: attempts in progress stop and their
	// failure is not recorded.
	ctx     context.Context
	cancel  context.CancelFunc
	slots   chan struct{} // Parallel global attempt slots
	workers sync.WaitGroup

	// fullScan is when the scanner last scanned the queue from its
	// start (see resume). Scanner goroutine only.
	fullScan time.Time

	dmu     sync.Mutex
	claimed map[uint64]string // seq -> lane of claimed records
	laneOf  map[uint64]string // seq -> lane of due records left unclaimed
	lanes   map[string]*lane
	starved bool // a scan stopped at maxClaimed
	// resume is where the next scan may start: every queue entry before
	// it was claimed when the last scan saw it, and low is the lowest key
	// written or released since that scan began: new records, retries,
	// and records whose claim ends while they stay in the queue
	// (rescheduled, or left as they were because the store failed; see
	// next). The scanner starts at the lower of the two, and from the
	// queue's start once a second.
	resume, low []byte
	pending     int64
	dead        int64
	kept        map[string]int // pod -> delivered records retained (when counted)
	// pauseUntil: the store failed to record an attempt (a full disk,
	// say), so no record is claimed or attempted before then; pauseFor is
	// the current backoff (see storeFailed).
	pauseUntil time.Time
	pauseFor   time.Duration

	mu         sync.Mutex
	waiters    map[uint64][]chan Result
	recent     map[uint64]Result // the last maxRecent answered attempts
	recentSeqs []uint64
	started    bool
	closeOnce  sync.Once
}

// New returns a Queue. Register handlers with HandleLocal, then Start.
func New(cfg Config) *Queue {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1024
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 64
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = DefaultSchedule()
	}
	if cfg.backlog <= 0 {
		cfg.backlog = laneBacklog
	}
	if cfg.KeepDelivered == 0 {
		cfg.KeepDelivered = 1000
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{
		cfg:     cfg,
		local:   map[string]LocalFunc{},
		remote:  map[string]RemoteFunc{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		slots:   make(chan struct{}, cfg.Parallel),
		claimed: map[uint64]string{},
		laneOf:  map[uint64]string{},
		lanes:   map[string]*lane{},
		kept:    map[string]int{},
		waiters: map[uint64][]chan Result{},
		recent:  map[uint64]Result{},
	}
}

// HandleLocal registers the function that attempts deliveries of kind.
// Call it before Start.
func (q *Queue) HandleLocal(kind string, fn LocalFunc) { q.local[kind] = fn }

// HandleRemote registers the function that attempts remote deliveries of
// kind. Call it before Start.
func (q *Queue) HandleRemote(kind string, fn RemoteFunc) { q.remote[kind] = fn }

// Start starts the worker, which first picks up every delivery that fell
// due while the server was down.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		q.started = true
		q.count()
		go q.run()
	}
}

// Close stops the worker and the attempts in progress (a remote attempt
// cut short is not counted: it is made again after a restart) and waits
// for them. Later calls do nothing.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		started := q.started
		q.mu.Unlock()
		close(q.stop)
		q.cancel()
		if started {
			<-q.done
		}
		q.workers.Wait()
	})
}

// Enqueue records a pending delivery in tx (Seq, Status and Created are
// set here) and returns it. The worker is woken once tx is durable.
func (q *Queue) Enqueue(tx store.Txn, r Record) (Record, error) {
	if r.Kind == "" || r.Pod == "" || r.Target == "" {
		return r, errors.New("deliver: a record needs a kind, a pod and a target")
	}
	r.Seq = tx.NextSeq()
	r.Status = StatusPending
	if r.Created.IsZero() {
		r.Created = q.cfg.Now().UTC()
	}
	if r.Due.IsZero() {
		r.Due = r.Created
	}
	if err := put(tx, r); err != nil {
		return r, err
	}
	if err := putEventIndex(tx, r); err != nil {
		return r, err
	}
	key, lane := dueKey(r.Due, r.Seq), laneName(r)
	tx.OnCommit(func() { q.enqueued(key, lane) })
	return r, nil
}

// enqueued counts a committed new record (queue key k, for lane) and wakes
// the worker, unless a scan could not take the record anyway: its lane is
// full, or the claims are at their bound. The scan that the lane's (or the
// claims') draining asks for then finds it. Without this, every record
// published to a busy host would make the worker walk the whole backlog
// in front of it again.
func (q *Queue) enqueued(k []byte, lane string) {
	q.dmu.Lock()
	q.pending++
	q.lower(k)
	l := q.lanes[lane]
	wait := q.starved || (l != nil && l.blocked)
	q.dmu.Unlock()
	if !wait {
		q.kick()
	}
}

// lower makes the next scan start at k at the latest. dmu is held.
func (q *Queue) lower(k []byte) {
	if q.low == nil || bytes.Compare(k, q.low) < 0 {
		q.low = k
	}
}

// kick wakes the worker without blocking.
func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) run() {
	defer close(q.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		next := q.runDue()
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
		select {
		case <-q.stop:
			timer.Stop()
			return
		case <-q.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Limits of one scan.
const (
	// maxScan bounds the queue entries one scan visits. Beyond it the
	// scanner looks again a little later.
	maxScan = 1 << 16
	// laneBacklog bounds the claimed records waiting in one lane.
	laneBacklog = 1024
)

// maxRecent bounds the answered attempts remembered for late waiters.
const maxRecent = 1024

// lateAnswer bounds how long a waiter that finds an answered attempt
// recorded waits for the answer itself (see Wait).
const lateAnswer = 250 * time.Millisecond

// maxLocal bounds concurrent local attempts.
const maxLocal = 64

// maxClaimed bounds the claimed records (running and waiting).
func (q *Queue) maxClaimed() int { return max(q.cfg.Parallel*16, 4096) }

// laneName returns the lane of r: "" for local deliveries, else the
// lower-cased host[:port] of its target URL (a WebID for KindLDN, whose
// profile and inbox are on that host as a rule).
func laneName(r Record) string {
	if r.Kind == KindInbox {
		return ""
	}
	u, err := url.Parse(r.Target)
	if err != nil || u.Host == "" {
		return "?" + r.Target
	}
	return strings.ToLower(u.Host)
}

// laneLimit is how many attempts lane name runs at once.
func (q *Queue) laneLimit(name string) int {
	if name == "" {
		return min(q.cfg.Parallel, maxLocal)
	}
	return q.cfg.PerHost
}

// runDue claims every due delivery its lane has room for, starts their
// attempts without waiting for them, and returns when to look again (zero
// when the queue holds nothing that is not due later or claimed).
func (q *Queue) runDue() time.Time {
	select {
	case <-q.stop:
		return time.Time{}
	default:
	}
	if until, paused := q.paused(); paused {
		return until
	}
	now := q.cfg.Now()
	var next time.Time
	visited := 0
	// Scans start after the run of claimed records the last scan began
	// with (see resume), and from the start once a second.
	q.dmu.Lock()
	start := q.resume
	if start != nil && q.low != nil && bytes.Compare(q.low, start) < 0 {
		start = q.low
	}
	q.low = nil
	q.dmu.Unlock()
	if time.Since(q.fullScan) >= time.Second {
		start, q.fullScan = nil, time.Now()
	}
	var open, last []byte
	err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixDelivery), start, false, func(k, v []byte) error {
			if visited++; visited > maxScan {
				next = now.Add(100 * time.Millisecond)
				return store.ErrStop
			}
			last = k
			at := time.UnixMilli(int64(store.Uint64(k[len(store.PrefixDelivery):])))
			if at.After(now) {
				// Not due (a claimed one was just rescheduled: its
				// claim is about to go). The next scan starts here at
				// the latest.
				if open == nil {
					open = bytes.Clone(k)
				}
				next = at
				return store.ErrStop
			}
			seq := store.Uint64(k[len(k)-8:])
			q.dmu.Lock()
			_, claimed := q.claimed[seq]
			q.dmu.Unlock()
			if !claimed && open == nil {
				open = bytes.Clone(k)
			}
			q.dmu.Lock()
			ln, known := q.laneOf[seq]
			full := known && q.laneFull(ln)
			starved := len(q.claimed) >= q.maxClaimed()
			if starved {
				q.starved = true
			}
			q.dmu.Unlock()
			switch {
			case starved:
				// Claimed records finishing wake the scanner.
				return store.ErrStop
			case claimed || full:
				return nil
			}
			r, err := decode(v)
			if err != nil {
				q.cfg.Logger.Error("deliver: skipping corrupt queue entry", "key", fmt.Sprintf("%x", k), "err", err)
				return nil
			}
			if r.Due.After(now) {
				// The key holds whole milliseconds: not due for
				// another fraction of one.
				if open == nil {
					open = bytes.Clone(k)
				}
				next = r.Due
				return store.ErrStop
			}
			q.admit(r)
			return nil
		})
	})
	if err != nil {
		q.cfg.Logger.Error("deliver: scan queue", "err", err)
		return now.Add(time.Second)
	}
	q.dmu.Lock()
	switch {
	case open != nil:
		q.resume = open
	case last != nil:
		q.resume = append(bytes.Clone(last), 0)
	}
	q.dmu.Unlock()
	return next
}

// laneFull reports whether lane name has no room for another claim. dmu
// is held.
func (q *Queue) laneFull(name string) bool {
	l := q.lanes[name]
	if l == nil {
		return false
	}
	if l.active+len(l.waiting) >= q.laneLimit(name)+q.cfg.backlog {
		l.blocked = true
		return true
	}
	return false
}

// admit claims r and starts its attempt, or queues it in its lane, or,
// when the lane is full, leaves it in the store for a later scan.
func (q *Queue) admit(r Record) {
	name := laneName(r)
	q.dmu.Lock()
	defer q.dmu.Unlock()
	if _, ok := q.claimed[r.Seq]; ok || q.ctx.Err() != nil {
		// Claimed, or the queue is closing: attempts cut short by Close
		// release their claims, and must not be made again.
		return
	}
	if q.laneFull(name) {
		q.laneOf[r.Seq] = name
		return
	}
	delete(q.laneOf, r.Seq)
	q.claimed[r.Seq] = name
	l := q.lanes[name]
	if l == nil {
		l = &lane{}
		q.lanes[name] = l
	}
	if l.active >= q.laneLimit(name) {
		l.waiting = append(l.waiting, r)
		return
	}
	l.active++
	q.workers.Add(1)
	go q.work(name, r)
}

// work attempts r and then the records waiting in its lane, one at a
// time, each in one of the global slots.
func (q *Queue) work(name string, r Record) {
	defer q.workers.Done()
	for {
		if q.ctx.Err() != nil {
			q.next(name, r.Seq, nil)
			return
		}
		select {
		case q.slots <- struct{}{}:
		case <-q.ctx.Done():
			q.next(name, r.Seq, nil)
			return
		}
		requeue := q.attempt(r)
		<-q.slots
		var ok bool
		if r, ok = q.next(name, r.Seq, requeue); !ok {
			return
		}
	}
}

// next releases the claim of seq, whose record stays in the queue at key
// requeue (nil: it left), and hands out the next record waiting in lane
// name, if any (and the queue is open). Otherwise the lane gives up the
// worker's slot.
func (q *Queue) next(name string, seq uint64, requeue []byte) (Record, bool) {
	q.dmu.Lock()
	defer q.dmu.Unlock()
	delete(q.claimed, seq)
	if requeue != nil {
		// A scan that saw the record still claimed at its new key went
		// past it: the next scan starts there at the latest.
		q.lower(requeue)
		q.kick()
	}
	l := q.lanes[name]
	// A full lane asks for a scan once half its backlog has drained, so a
	// busy lane is refilled in batches rather than a scan per attempt.
	refill := l.blocked && len(l.waiting) <= q.cfg.backlog/2
	if refill || q.starved {
		l.blocked = l.blocked && !refill
		q.starved = false
		q.kick()
	}
	if len(l.waiting) > 0 && q.ctx.Err() == nil {
		r := l.waiting[0]
		l.waiting[0] = Record{}
		l.waiting = l.waiting[1:]
		return r, true
	}
	l.active--
	if l.active == 0 && len(l.waiting) == 0 {
		delete(q.lanes, name)
	}
	return Record{}, false
}

// errGone: the record was completed or rescheduled meanwhile.
var errGone = errors.New("deliver: record no longer pending")

// attemptErr wraps a handler's failure.
type attemptErr struct{ err error }

func (e attemptErr) Error() string { return e.err.Error() }

// attempt makes one attempt of r and records its outcome. It returns the
// queue key r is left at when it stays pending (rescheduled, or unchanged
// because the store failed), nil when it left the queue or the queue is
// closing.
func (q *Queue) attempt(r Record) (requeue []byte) {
	if _, paused := q.paused(); paused {
		// Claimed before the store failed: leave it for the scan that
		// follows the pause.
		return dueKey(r.Due, r.Seq)
	}
	ctx := context.Background()
	fn := q.local[r.Kind]
	now := q.cfg.Now().UTC()
	var resp Response
	var err error
	switch remote := q.remote[r.Kind]; {
	case remote != nil:
		// A scan whose snapshot predates an earlier attempt's outcome may
		// have claimed r again: check with a fresh read before sending.
		if err := q.cfg.Store.View(ctx, func(rd store.Reader) error {
			_, err := rd.Get(dueKey(r.Due, r.Seq))
			return err
		}); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				q.cfg.Logger.Error("deliver: read record", "seq", r.Seq, "err", err)
				q.storeFailed()
				return dueKey(r.Due, r.Seq)
			}
			return nil
		}
		actx, cancel := q.ctx, context.CancelFunc(func() {})
		if q.cfg.AttemptTimeout > 0 {
			actx, cancel = context.WithTimeout(q.ctx, q.cfg.AttemptTimeout)
		}
		var rerr error
		resp, rerr = remote(actx, r)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case rerr == nil:
			err = q.cfg.Store.Update(ctx, func(tx store.Txn) error {
				return q.complete(tx, r, resp, now)
			})
		case q.ctx.Err() != nil:
			// The queue is closing: not the target's fault. The record
			// stays pending and is attempted again after a restart.
			return nil
		case timedOut:
			err = attemptErr{fmt.Errorf("no answer within %s: %w", q.cfg.AttemptTimeout, rerr)}
		default:
			err = attemptErr{rerr}
		}
	case fn == nil:
		err = attemptErr{fmt.Errorf("no handler for delivery kind %q", r.Kind)}
	default:
		err = q.cfg.Store.Update(ctx, func(tx store.Txn) error {
			if _, err := tx.Get(dueKey(r.Due, r.Seq)); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return errGone
				}
				return err
			}
			if err := fn(tx, r, now); err != nil {
				return attemptErr{err}
			}
			return q.complete(tx, r, Response{}, now)
		})
	}
	var ae attemptErr
	switch {
	case err == nil:
		q.dmu.Lock()
		q.pending--
		q.pauseFor = 0
		q.dmu.Unlock()
		if q.cfg.OnAttempt != nil {
			done := r
			done.Attempts++
			done.Status, done.LastStatus = StatusDelivered, resp.Status
			q.cfg.OnAttempt(done, OutcomeDelivered, now.Sub(r.Created))
		}
		q.finish(r.Seq, Result{Status: StatusDelivered, Tried: true, ResponseStatus: resp.Status, ResponseBody: resp.Body, ResponseTruncated: resp.Truncated})
		q.retained(r.Pod)
		return nil
	case errors.Is(err, errGone):
		return nil
	case !errors.As(err, &ae):
		// The store failed: the record stays as it was and is tried again
		// at the first scan after a pause.
		q.cfg.Logger.Error("deliver: attempt", "seq", r.Seq, "err", err)
		q.storeFailed()
		return dueKey(r.Due, r.Seq)
	}
	old := r
	r.Attempts++
	r.LastError = ae.err.Error()
	r.LastStatus = resp.Status
	var re *RetryError
	var pe permanentError
	outcome := OutcomeRetry
	switch {
	case errors.As(ae.err, &pe), r.Attempts > len(q.cfg.Schedule):
		r.Status = StatusDead
		outcome = OutcomeDead
	case errors.As(ae.err, &re):
		r.Due = now.Add(max(re.After, time.Second))
	default:
		r.Due = now.Add(jitter(q.cfg.Schedule[r.Attempts-1]))
	}
	err = q.cfg.Store.Update(ctx, func(tx store.Txn) error {
		if _, err := tx.Get(dueKey(old.Due, old.Seq)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errGone
			}
			return err
		}
		if err := tx.Delete(dueKey(old.Due, old.Seq)); err != nil {
			return err
		}
		return put(tx, r)
	})
	if err != nil {
		if errors.Is(err, errGone) {
			return nil
		}
		q.cfg.Logger.Error("deliver: record failed attempt", "seq", r.Seq, "err", err)
		q.storeFailed()
		return dueKey(old.Due, old.Seq)
	}
	if outcome == OutcomeDead {
		q.dmu.Lock()
		q.pending--
		q.dead++
		q.dmu.Unlock()
	} else {
		requeue = dueKey(r.Due, r.Seq)
	}
	q.cfg.Logger.Warn("deliver: attempt failed", "seq", r.Seq, "target", r.Target, "attempts", r.Attempts, "status", r.Status, "err", r.LastError)
	if q.cfg.OnAttempt != nil {
		q.cfg.OnAttempt(r, outcome, 0)
	}
	q.finish(r.Seq, Result{Status: r.Status, Error: r.LastError, Tried: true, ResponseStatus: resp.Status, ResponseBody: resp.Body, ResponseTruncated: resp.Truncated})
	return requeue
}

// Backoff of the queue after the store failed.
const (
	minStorePause = 100 * time.Millisecond
	maxStorePause = 30 * time.Second
)

// storeFailed pauses the queue after the store failed to read or record an
// attempt, e.g. with store.ErrNoSpace while the disk is full: the records
// stay queued, and scanning them again at once would only fail again, in
// a loop. The pause doubles with each failure up to maxStorePause, and
// ends with the first attempt recorded after it.
func (q *Queue) storeFailed() {
	q.dmu.Lock()
	defer q.dmu.Unlock()
	q.pauseFor = min(max(2*q.pauseFor, minStorePause), maxStorePause)
	q.pauseUntil = time.Now().Add(q.pauseFor)
}

// paused returns when the pause after a store failure ends, and whether
// it has not yet.
func (q *Queue) paused() (time.Time, bool) {
	q.dmu.Lock()
	defer q.dmu.Unlock()
	return q.pauseUntil, time.Now().Before(q.pauseUntil)
}

// complete records in tx that r was delivered: it leaves the queue. It
// fails with errGone when r is no longer pending.
func (q *Queue) complete(tx store.Txn, r Record, resp Response, now time.Time) error {
	if _, err := tx.Get(dueKey(r.Due, r.Seq)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errGone
		}
		return err
	}
	if err := tx.Delete(dueKey(r.Due, r.Seq)); err != nil {
		return err
	}
	return q.delivered(tx, r, resp, now)
}

// Depth returns how many deliveries are pending and how many are dead
// letters, as counted since Start (which counts the stored ones).
func (q *Queue) Depth() (pending, dead int64) {
	q.dmu.Lock()
	defer q.dmu.Unlock()
	return q.pending, q.dead
}

// count sets the depth counters from the store.
func (q *Queue) count() {
	var pending, dead int64
	err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		if err := rd.Scan([]byte(store.PrefixDelivery), nil, false, func(_, _ []byte) error {
			pending++
			return nil
		}); err != nil {
			return err
		}
		return rd.Scan([]byte(store.PrefixOutbox), nil, false, func(_, v []byte) error {
			if r, err := decode(v); err == nil && r.Status == StatusDead {
				dead++
			}
			return nil
		})
	})
	if err != nil {
		q.cfg.Logger.Error("deliver: count the queue", "err", err)
	}
	q.dmu.Lock()
	q.pending, q.dead = pending, dead
	q.dmu.Unlock()
}

// finish hands res to the waiters of seq.
func (q *Queue) finish(seq uint64, res Result) {
	q.mu.Lock()
	ws := q.waiters[seq]
	delete(q.waiters, seq)
	if res.ResponseStatus != 0 {
		// For a waiter that comes late (after the attempt): the answers
		// of the last maxRecent attempts.
		if _, ok := q.recent[seq]; !ok {
			if len(q.recentSeqs) == maxRecent {
				delete(q.recent, q.recentSeqs[0])
				q.recentSeqs = q.recentSeqs[1:]
			}
			q.recent[seq] = res
			q.recentSeqs = append(q.recentSeqs, seq)
		}
	}
	q.mu.Unlock()
	for _, w := range ws {
		w <- res
	}
}

// Wait returns the outcome of r's first attempt (r as Enqueue returned it),
// waiting for it until ctx is done; then Tried is false.
func (q *Queue) Wait(ctx context.Context, r Record) Result {
	ch := make(chan Result, 1)
	q.mu.Lock()
	q.waiters[r.Seq] = append(q.waiters[r.Seq], ch)
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		ws := q.waiters[r.Seq]
		for i, w := range ws {
			if w == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(q.waiters, r.Seq)
		} else {
			q.waiters[r.Seq] = ws
		}
		q.mu.Unlock()
	}()
	// The attempt may have happened before the waiter was registered.
	q.mu.Lock()
	res, ok := q.recent[r.Seq]
	q.mu.Unlock()
	if ok {
		return res
	}
	var cur Record
	found := false
	err := q.cfg.Store.View(ctx, func(rd store.Reader) error {
		v, err := rd.Get(outboxKey(r.Pod, r.Seq))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		cur, err = decode(v)
		return err
	})
	switch {
	case err != nil:
		return Result{Status: StatusPending, Error: err.Error()}
	case !found:
		return Result{Status: StatusDelivered, Tried: true}
	case cur.Attempts > 0:
		stored := Result{Status: cur.Status, Error: cur.LastError, Tried: true, ResponseStatus: cur.LastStatus}
		if cur.LastStatus == 0 {
			return stored
		}
		// The outcome is recorded before the attempt's waiters are
		// told: the answer's body may be on its way (unless the attempt
		// was made before a restart).
		q.mu.Lock()
		res, ok := q.recent[r.Seq]
		q.mu.Unlock()
		if ok {
			return res
		}
		select {
		case res := <-ch:
			return res
		case <-time.After(lateAnswer):
			return stored
		case <-ctx.Done():
			return stored
		}
	}
	select {
	case res := <-ch:
		return res
	case <-ctx.Done():
		return Result{Status: StatusPending}
	}
}

// jitter spreads retries: d plus up to a tenth of d, so deliveries that
// failed together do not retry together.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
