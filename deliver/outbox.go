package deliver

import (
	"bytes"
	"context"
	"errors"
	"time"

	"podserver/store"
)

// Errors of Get and Retry.
var (
	// ErrNoRecord: the pod's outbox holds no delivery with that seq (it
	// never existed, or it was delivered and pruned).
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
	if revive := q.policy(r.Kind).Revive; revive != nil {
		if err := revive(tx, &r); err != nil {
			return r, err
		}
	}
	if err := put(tx, r, true); err != nil {
		return r, err
	}
	key := dueKey(r.Due, r.Seq)
	tx.OnCommit(func() {
		q.dmu.Lock()
		q.dead--
		q.pending++
		q.lower(key)
		q.dmu.Unlock()
		q.kick()
	})
	return r, nil
}

// pruneEvery is how many deliveries of one pod pass between prunings of
// its delivered records.
const pruneEvery = 64

// delivered records in tx that r (no longer in the queue) succeeded: its
// outbox entry becomes a delivered record, kept until pruned, or is
// removed when none are kept.
func (q *Queue) delivered(tx store.Txn, r Record, resp Response, now time.Time) error {
	if q.cfg.KeepDelivered < 0 || q.policy(r.Kind).Transient {
		return remove(tx, r)
	}
	r.Status = StatusDelivered
	r.Attempts++
	r.LastStatus = resp.Status
	r.LastError = ""
	r.Delivered = now
	if err := put(tx, r, true); err != nil {
		return err
	}
	return tx.Set(deliveredKey(r.Pod, r.Seq), nil)
}

// retained counts a kept delivered record of pod and prunes the pod's
// oldest ones every pruneEvery deliveries.
func (q *Queue) retained(pod string) {
	if q.cfg.KeepDelivered < 0 {
		return
	}
	q.dmu.Lock()
	q.kept[pod]++
	n := q.kept[pod]
	if n >= pruneEvery {
		delete(q.kept, pod)
	}
	q.dmu.Unlock()
	if n < pruneEvery {
		return
	}
	if err := q.prune(context.Background(), pod); err != nil {
		q.cfg.Logger.Error("deliver: prune delivered records", "pod", pod, "err", err)
	}
}

// prune removes pod's delivered records beyond the newest KeepDelivered.
func (q *Queue) prune(ctx context.Context, pod string) error {
	const batch = 1024
	for {
		n := 0
		err := q.cfg.Store.Update(ctx, func(tx store.Txn) error {
			n = 0
			var old [][]byte
			seen := 0
			err := tx.Scan(deliveredPrefix(pod), nil, true, func(k, _ []byte) error {
				if seen++; seen <= q.cfg.KeepDelivered {
					return nil
				}
				old = append(old, bytes.Clone(k))
				if len(old) == batch {
					return store.ErrStop
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range old {
				r, err := Get(tx, pod, store.Uint64(k[len(k)-8:]))
				switch {
				case errors.Is(err, ErrNoRecord):
					if err := tx.Delete(k); err != nil {
						return err
					}
					continue
				case err != nil:
					return err
				}
				if err := remove(tx, r); err != nil {
					return err
				}
			}
			n = len(old)
			return nil
		})
		if err != nil || n < batch {
			return err
		}
	}
}

// ForEvent returns every record of the outbox of the event stored at path
// event (pending, dead, and delivered ones not yet pruned), oldest first.
func ForEvent(rd store.Reader, pod, event string) ([]Record, error) {
	var out []Record
	err := rd.Scan(eventIndexPrefix(event), nil, false, func(k, _ []byte) error {
		r, err := Get(rd, pod, store.Uint64(k[len(k)-8:]))
		if errors.Is(err, ErrNoRecord) {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
