package deliver

// One attempt and the record state transitions it makes (the state
// machine is in the package documentation).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"podserver/store"
)

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
		return queueKey(r)
	}
	ctx := context.Background()
	fn := q.local[r.Kind]
	now := q.cfg.Now().UTC()
	var resp Response
	var err error
	switch remote := q.remote[r.Kind]; {
	case remote != nil:
		// Lease r first: no other node attempts it until the lease
		// expires. The claim is also the fresh read that finds a record
		// an earlier attempt's outcome (here or on another node) removed
		// after the scan's snapshot.
		held, cerr := q.claim(ctx, r)
		switch {
		case errors.Is(cerr, errGone), errors.Is(cerr, errLeased):
			q.cfg.Logger.Debug("deliver: record taken meanwhile", "seq", r.Seq, "err", cerr)
			q.settled(r)
			return nil
		case cerr != nil:
			q.cfg.Logger.Error("deliver: lease record", "seq", r.Seq, "err", cerr)
			q.storeFailed()
			return queueKey(r)
		}
		r = held
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
			// stays pending, its lease given up for another node (or
			// this one after a restart) to attempt it again.
			q.release(r)
			return nil
		case timedOut:
			err = attemptErr{fmt.Errorf("no answer within %s: %w", q.cfg.AttemptTimeout, rerr)}
		default:
			err = attemptErr{rerr}
		}
	case fn == nil:
		err = attemptErr{fmt.Errorf("no handler for delivery kind %q", r.Kind)}
	default:
		// Exactly once: the record leaves the queue in the transaction
		// that delivers it, so of two nodes attempting it at once only
		// one commits (the other's transaction finds it gone).
		uctx := ctx
		if bg := q.policy(r.Kind).Background; bg != nil && bg(r, now) {
			uctx = store.WithBackground(ctx)
		}
		err = q.cfg.Store.Update(uctx, func(tx store.Txn) error {
			if err := q.take(tx, r); err != nil {
				return err
			}
			if err := fn(tx, r, now); err != nil {
				return attemptErr{err}
			}
			return q.completed(tx, r, Response{}, now)
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
		q.left(r)
		if !q.policy(r.Kind).Transient {
			q.retained(r.Pod)
		}
		return nil
	case errors.Is(err, errGone):
		q.lost(r, OutcomeDelivered)
		return nil
	case !errors.As(err, &ae):
		// The store failed: the record stays as it was and is tried again
		// at the first scan after a pause (a leased one once its lease
		// expired).
		q.cfg.Logger.Error("deliver: attempt", "seq", r.Seq, "err", err)
		q.storeFailed()
		return queueKey(r)
	}
	old := r
	r.hold = lease{}
	r.Attempts++
	r.LastError = ae.err.Error()
	r.LastStatus = resp.Status
	var re *RetryError
	outcome := OutcomeRetry
	pol := q.policy(r.Kind)
	schedule, transient := q.schedule(r.Kind), pol.Transient
	switch {
	case isPermanent(ae.err), r.Attempts > len(schedule):
		r.Status = StatusDead
		outcome = OutcomeDead
	case errors.As(ae.err, &re):
		r.Due = now.Add(max(re.After, time.Second))
	default:
		r.Due = now.Add(jitter(schedule[r.Attempts-1]))
	}
	kept := !transient || pol.Dead != nil // a dead letter is kept
	failed := r
	err = q.cfg.Store.Update(ctx, func(tx store.Txn) error {
		r = failed
		if err := q.take(tx, old); err != nil {
			return err
		}
		listed := !transient
		switch {
		case r.Status == StatusDead:
			if err := leaveChannel(tx, r); err != nil {
				return err
			}
			if !kept {
				return remove(tx, r) // dropped, its event index entry too
			}
			if pol.Dead != nil {
				if err := pol.Dead(tx, &r); err != nil {
					return err
				}
			}
			listed = true
		case !listed && pol.Dead != nil:
			// A retried dead letter stays listed until it leaves the
			// queue.
			var err error
			if listed, err = isListed(tx, r); err != nil {
				return err
			}
		}
		return put(tx, r, listed)
	})
	if err != nil {
		if errors.Is(err, errGone) {
			q.lost(old, outcome)
			return nil
		}
		q.cfg.Logger.Error("deliver: record failed attempt", "seq", r.Seq, "err", err)
		q.storeFailed()
		return queueKey(old)
	}
	if outcome == OutcomeDead {
		q.dmu.Lock()
		q.pending--
		if kept {
			q.dead++
		}
		q.dmu.Unlock()
		q.left(r)
	} else {
		requeue = dueKey(r.Due, r.Seq)
	}
	if outcome == OutcomeDead && !kept {
		q.cfg.Logger.Warn("deliver: dropped", "kind", r.Kind, "seq", r.Seq, "target", r.Target, "channel", r.Channel, "id", r.EventID, "attempts", r.Attempts, "err", r.LastError)
	} else {
		q.cfg.Logger.Warn("deliver: attempt failed", "seq", r.Seq, "target", r.Target, "attempts", r.Attempts, "status", r.Status, "err", r.LastError)
	}
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
// fails with errGone when r is no longer queued as it was read (or
// leased).
func (q *Queue) complete(tx store.Txn, r Record, resp Response, now time.Time) error {
	if err := q.take(tx, r); err != nil {
		return err
	}
	return q.completed(tx, r, resp, now)
}

// completed records in tx that r, whose queue entry is removed, was
// delivered.
func (q *Queue) completed(tx store.Txn, r Record, resp Response, now time.Time) error {
	if err := leaveChannel(tx, r); err != nil {
		return err
	}
	return q.delivered(tx, r, resp, now)
}

// lost notes that the outcome of an attempt of r found r gone from the
// queue. For a leased record that means the lease expired during the
// attempt and another node claimed the record: the outcome is dropped
// (the other node's attempt records its own). Otherwise r was an earlier
// scan's copy of a record this node or another one completed meanwhile.
// Waiters learn the outcome stored, if there is one (settled).
func (q *Queue) lost(r Record, outcome string) {
	if r.hold.Node != "" {
		q.cfg.Logger.Warn("deliver: lease lost during the attempt, outcome dropped", "seq", r.Seq, "target", r.Target, "outcome", outcome, "leaseUntil", r.hold.Until)
	}
	q.settled(r)
}

// isListed reports whether r has an outbox entry.
func isListed(tx store.Txn, r Record) (bool, error) {
	_, err := tx.Get(outboxKey(r.Pod, r.Seq))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// leaveChannel removes, in tx, the channel index entry of r, which leaves
// the queue.
func leaveChannel(tx store.Txn, r Record) error {
	if r.Channel == "" {
		return nil
	}
	return tx.Delete(channelKey(r.Channel, r.Seq))
}

// jitter spreads retries: d plus up to a tenth of d, so deliveries that
// failed together do not retry together.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
