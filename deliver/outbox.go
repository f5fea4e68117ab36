package deliver

import (
	"errors"
	"time"

	"podserver/store"
)

// Errors of Get and Retry.
var (
	// ErrNoRecord: the pod's outbox holds no delivery with that seq (it
	// never existed, or it was delivered).
	ErrNoRecord = errors.New("deliver: no such delivery in the outbox")
	// ErrNotDead: only a dead letter can be retried.
	ErrNotDead = errors.New("deliver: the delivery is not a dead letter")
)

// Get returns pod's outbox record seq.
func Get(rd store.Reader, pod string, seq uint64) (Record, error) {
	v, err := rd.Get(outboxKey(pod, seq))
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, ErrNoRecord
	}
	if err != nil {
		return Record{}, err
	}
	return decode(v)
}

// Retry makes pod's dead letter seq pending again, due now, with its
// attempts counted afresh; the worker is woken once tx is durable.
func (q *Queue) Retry(tx store.Txn, pod string, seq uint64) (Record, error) {
	r, err := Get(tx, pod, seq)
	if err != nil {
		return r, err
	}
	if r.Status != StatusDead {
		return r, ErrNotDead
	}
	r.Status = StatusPending
	r.Attempts = 0
	r.Due = q.cfg.Now().UTC().Truncate(time.Millisecond)
	if err := put(tx, r); err != nil {
		return r, err
	}
	tx.OnCommit(q.kick)
	return r, nil
}
