package deliver

// Retry now: a pending delivery waiting for its next attempt is made due
// at once, at its owner's request.

import (
	"errors"
	"time"

	"podserver/store"
)

// Errors of RetryNow.
var (
	// ErrNotPending: only a pending delivery can be retried now (a dead
	// letter is retried with Retry; a delivered one is replayed).
	ErrNotPending = errors.New("deliver: the delivery is not pending")
	// ErrAttempting: a node holds the delivery's lease and is attempting
	// it right now; its outcome is recorded when the attempt ends.
	ErrAttempting = errors.New("deliver: the delivery is being attempted right now")
)

// RetryNow makes pod's pending delivery seq due now, so that its next
// attempt is made at once instead of at the time its retry schedule set,
// and wakes the worker once tx is durable. Its attempts so far still
// count toward the schedule. A record already due is returned as it is.
//
// A record whose queue entry is leased (a node is attempting it) is left
// alone and ErrAttempting returned: the lease keeps every other node off
// it, and moving its entry would let one attempt it a second time. A
// record this node has claimed but not yet leased (waiting in its lane)
// may be moved: the claim then finds it gone and drops it (see claim),
// and the scan takes it at its new place.
func (q *Queue) RetryNow(tx store.Txn, pod string, seq uint64) (Record, error) {
	r, err := Get(tx, pod, seq)
	if err != nil {
		return r, err
	}
	if r.Status != StatusPending {
		return r, ErrNotPending
	}
	// The outbox entry holds the record's due time; its queue entry is
	// there unless a node has leased it (then it is at the lease's
	// expiry).
	key := dueKey(r.Due, r.Seq)
	v, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		// Parked: due, waiting for room in its lane.
		if v, err = tx.Get(parkKey(laneName(r), key)); err == nil {
			cur, err := decodeEntry(v)
			return cur, err
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrAttempting
	}
	if err != nil {
		return r, err
	}
	cur, err := decodeEntry(v)
	if err != nil {
		return r, err
	}
	if cur.hold.Node != "" {
		return r, ErrAttempting
	}
	now := q.cfg.Now().UTC().Truncate(time.Millisecond)
	if !cur.Due.After(now) {
		return cur, nil
	}
	if err := tx.Delete(dueKey(cur.Due, cur.Seq)); err != nil {
		return r, err
	}
	cur.Due = now
	// Listed: it was read from the outbox.
	if err := put(tx, cur, true); err != nil {
		return r, err
	}
	key = dueKey(cur.Due, cur.Seq)
	tx.OnCommit(func() {
		q.dmu.Lock()
		q.lower(key)
		q.dmu.Unlock()
		q.kick()
	})
	return cur, nil
}
