package deliver

// Waiting for the outcome of a first attempt (?wait).

import (
	"context"
	"errors"
	"time"

	"podserver/store"
)

// maxRecent bounds the answered attempts remembered for late waiters.
const maxRecent = 1024

// lateAnswer bounds how long a waiter that finds an answered attempt
// recorded waits for the answer itself (see Wait).
const lateAnswer = 250 * time.Millisecond

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
	q.changedNow()
}

// Changed returns a channel that is closed at the next change of the
// queue this node learns of: the end of an attempt made here, whatever
// its outcome, and each Poke (another node wrote a queue record, or the
// change feed may have missed changes). It is for waiters on work whose
// progress they read from the store, such as a fan-out job that another
// node may be running (Wait learns only of this node's attempts): take
// the channel, read the store, and wait on the channel while the read
// shows the work unfinished. A change made between the read and the wait
// is not missed, since the channel was taken before the read.
func (q *Queue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.changed == nil {
		q.changed = make(chan struct{})
	}
	return q.changed
}

// changedNow closes the channel Changed returned, if any.
func (q *Queue) changedNow() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.changed != nil {
		close(q.changed)
		q.changed = nil
	}
}

// Wait returns the outcome of r's first attempt (r as Enqueue returned it),
// waiting for it until ctx is done; then Tried is false.
//
// Waiters learn of the attempts this node makes. When another node holds
// r's lease and attempts it (see the package documentation), the waiter
// learns nothing from it and ends when ctx is done, with StatusPending
// and Tried false ("pending, not tried"): ctx should carry a deadline.
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
