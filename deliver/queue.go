package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
// afterwards, so such deliveries are at least once. Return nil on success,
// a *RetryError to ask for a retry at a given time (Retry-After), a
// Permanent error to stop retrying (a 4xx other than 408 and 429), and any
// other error to retry on Config.Schedule.
type RemoteFunc func(ctx context.Context, r Record) error

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
}

// Config configures a Queue.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Parallel bounds concurrent attempts (default 64); concurrent local
	// attempts share the store's group commit.
	Parallel int
	// Schedule is the wait after each failed attempt (default
	// DefaultSchedule()); a delivery is dead after len(Schedule)+1 failed
	// attempts.
	Schedule []time.Duration
}

// Queue is the durable delivery queue and its worker.
type Queue struct {
	cfg    Config
	local  map[string]LocalFunc
	remote map[string]RemoteFunc

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	waiters   map[uint64][]chan Result
	started   bool
	closeOnce sync.Once
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
		cfg.Parallel = 64
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = DefaultSchedule()
	}
	return &Queue{
		cfg:     cfg,
		local:   map[string]LocalFunc{},
		remote:  map[string]RemoteFunc{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		waiters: map[uint64][]chan Result{},
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
		go q.run()
	}
}

// Close stops the worker and waits for attempts in progress. Later calls
// do nothing.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		started := q.started
		q.mu.Unlock()
		close(q.stop)
		if started {
			<-q.done
		}
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
	tx.OnCommit(q.kick)
	return r, nil
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

// scanBatch bounds the records taken per scan.
const scanBatch = 256

// runDue attempts every due delivery and returns when the next one falls
// due (zero when the queue is empty).
func (q *Queue) runDue() time.Time {
	for {
		select {
		case <-q.stop:
			return time.Time{}
		default:
		}
		now := q.cfg.Now()
		var due []Record
		var next time.Time
		err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
			return rd.Scan([]byte(store.PrefixDelivery), nil, false, func(k, v []byte) error {
				at := time.UnixMilli(int64(store.Uint64(k[len(store.PrefixDelivery):])))
				if at.After(now) || len(due) == scanBatch {
					next = at
					if len(due) == scanBatch {
						next = now
					}
					return store.ErrStop
				}
				r, err := decode(v)
				if err != nil {
					q.cfg.Logger.Error("deliver: skipping corrupt queue entry", "key", fmt.Sprintf("%x", k), "err", err)
					return nil
				}
				if r.Due.After(now) {
					// The key holds whole milliseconds: not due for
					// another fraction of one.
					next = r.Due
					return store.ErrStop
				}
				due = append(due, r)
				return nil
			})
		})
		if err != nil {
			q.cfg.Logger.Error("deliver: scan queue", "err", err)
			return now.Add(time.Second)
		}
		q.attemptAll(due)
		if !next.Equal(now) {
			return next
		}
	}
}

// attemptAll attempts rs concurrently, at most Parallel at a time.
func (q *Queue) attemptAll(rs []Record) {
	sem := make(chan struct{}, q.cfg.Parallel)
	var wg sync.WaitGroup
	for _, r := range rs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			q.attempt(r)
		}()
	}
	wg.Wait()
}

// errGone: the record was completed or rescheduled meanwhile.
var errGone = errors.New("deliver: record no longer pending")

// attemptErr wraps a handler's failure.
type attemptErr struct{ err error }

func (e attemptErr) Error() string { return e.err.Error() }

// attempt makes one attempt of r and records its outcome.
func (q *Queue) attempt(r Record) {
	ctx := context.Background()
	fn := q.local[r.Kind]
	now := q.cfg.Now().UTC()
	var err error
	switch remote := q.remote[r.Kind]; {
	case remote != nil:
		if rerr := remote(ctx, r); rerr != nil {
			err = attemptErr{rerr}
		} else {
			err = q.cfg.Store.Update(ctx, func(tx store.Txn) error {
				if _, err := tx.Get(dueKey(r.Due, r.Seq)); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return errGone
					}
					return err
				}
				if err := tx.Delete(dueKey(r.Due, r.Seq)); err != nil {
					return err
				}
				return tx.Delete(outboxKey(r.Pod, r.Seq))
			})
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
			if err := tx.Delete(dueKey(r.Due, r.Seq)); err != nil {
				return err
			}
			return tx.Delete(outboxKey(r.Pod, r.Seq))
		})
	}
	var ae attemptErr
	switch {
	case err == nil:
		q.finish(r.Seq, Result{Status: StatusDelivered, Tried: true})
		return
	case errors.Is(err, errGone):
		return
	case !errors.As(err, &ae):
		// The store failed: the record stays as it was and is tried again
		// at the next scan.
		q.cfg.Logger.Error("deliver: attempt", "seq", r.Seq, "err", err)
		return
	}
	old := r
	r.Attempts++
	r.LastError = ae.err.Error()
	var re *RetryError
	var pe permanentError
	switch {
	case errors.As(ae.err, &pe), r.Attempts > len(q.cfg.Schedule):
		r.Status = StatusDead
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
		if !errors.Is(err, errGone) {
			q.cfg.Logger.Error("deliver: record failed attempt", "seq", r.Seq, "err", err)
		}
		return
	}
	q.cfg.Logger.Warn("deliver: attempt failed", "seq", r.Seq, "target", r.Target, "attempts", r.Attempts, "status", r.Status, "err", r.LastError)
	q.kick()
	q.finish(r.Seq, Result{Status: r.Status, Error: r.LastError, Tried: true})
}

// finish hands res to the waiters of seq.
func (q *Queue) finish(seq uint64, res Result) {
	q.mu.Lock()
	ws := q.waiters[seq]
	delete(q.waiters, seq)
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
		return Result{Status: cur.Status, Error: cur.LastError, Tried: true}
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
