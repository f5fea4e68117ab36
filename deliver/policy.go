package deliver

// Kind policies, and records offered without a transaction of their own.

import (
	"context"
	"time"

	"podserver/store"
)

// Policy is how the queue treats the records of one kind where they differ
// from the rest. The retry rule (ResponseError), the jitter and the
// dead-letter view are the same for every kind.
type Policy struct {
	// Schedule is the wait after each failed attempt (nil:
	// Config.Schedule); a record fails for good after len(Schedule)+1
	// failed attempts.
	Schedule []time.Duration
	// Transient records are not kept once they leave the queue: they are
	// not listed in their pod's outbox, a delivered one is removed, and
	// one that fails for good is logged and dropped instead of kept as a
	// dead letter.
	Transient bool
	// Dead, when set, is called in the transaction that records a record
	// of the kind as failed for good, after its queue entry is removed:
	// it may end state the kind keeps elsewhere in the store and move
	// what a retry needs into the record (Payload). The record is then
	// kept as a dead letter, listed in its pod's outbox, even for a
	// Transient kind (which it otherwise drops); once retried, such a
	// record stays listed until it leaves the queue.
	Dead func(tx store.Txn, r *Record) error
	// Revive, when set, is called in the transaction of Retry, which
	// makes a dead letter of the kind pending again: it may restore
	// what Dead moved into the record.
	Revive func(tx store.Txn, r *Record) error
	// MaxPerChannel bounds the pending records of one Record.Channel (0:
	// no bound): Offer drops the records beyond it.
	MaxPerChannel int
	// Background, when set, says whether an attempt of a local kind at
	// now runs as a background update (store.WithBackground: after the
	// updates clients wait for) or as an ordinary one, in arrival order.
	Background func(r Record, now time.Time) bool
}

// SetPolicy sets the policy of kind. Call it before Start.
func (q *Queue) SetPolicy(kind string, p Policy) { q.policies[kind] = p }

// policy returns the policy of kind (the zero Policy when it has none).
func (q *Queue) policy(kind string) Policy { return q.policies[kind] }

// schedule returns the retry schedule of kind.
func (q *Queue) schedule(kind string) []time.Duration {
	if s := q.policies[kind].Schedule; len(s) > 0 {
		return s
	}
	return q.cfg.Schedule
}

// maxOfferBatch bounds the offered records stored in one transaction.
const maxOfferBatch = 1024

// Offer queues r (as Enqueue would) in a transaction of the queue's own,
// for records that are not part of another write, such as push
// notifications. It never blocks: a goroutine of the queue stores offered
// records in batches, and Close stores those still waiting before it
// returns, so a record offered before Close is durable then (unless the
// store fails, which is logged). It reports false, and drops r, when r
// lacks a kind, pod or target, when the queue is closed, or when r's
// channel already has its kind's Policy.MaxPerChannel records pending.
func (q *Queue) Offer(r Record) bool {
	if r.Kind == "" || r.Pod == "" || r.Target == "" {
		return false
	}
	select {
	case <-q.stop:
		return false
	default:
	}
	if r.Channel != "" {
		limit := q.policy(r.Kind).MaxPerChannel
		q.dmu.Lock()
		if limit > 0 && q.perChannel[r.Channel] >= limit {
			q.dmu.Unlock()
			return false
		}
		q.perChannel[r.Channel]++
		q.dmu.Unlock()
	}
	if r.Created.IsZero() {
		r.Created = q.cfg.Now().UTC()
	}
	q.imu.Lock()
	q.intake = append(q.intake, r)
	q.imu.Unlock()
	select {
	case q.offered <- struct{}{}:
	default:
	}
	return true
}

// takeIn stores offered records until the queue closes (Close stores the
// last ones).
func (q *Queue) takeIn() {
	defer close(q.intakeDone)
	for {
		q.storeOffered()
		select {
		case <-q.offered:
		case <-q.stop:
			return
		}
	}
}

// storeOffered stores the records offered so far. Records the store does
// not take are dropped (and logged): Offer must not block, so they cannot
// wait.
func (q *Queue) storeOffered() {
	q.imu.Lock()
	in := q.intake
	q.intake = nil
	q.imu.Unlock()
	for len(in) > 0 {
		batch := in[:min(len(in), maxOfferBatch)]
		in = in[len(batch):]
		// Not cancelled by Close: an offered record is stored.
		err := q.cfg.Store.Update(context.Background(), func(tx store.Txn) error {
			for _, r := range batch {
				if _, err := q.enqueue(tx, r, true); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			q.cfg.Logger.Error("deliver: cannot store offered records: dropped", "count", len(batch), "err", err)
			for _, r := range batch {
				q.left(r)
			}
		}
	}
}

// offeredPerChannel counts the offered records not yet stored, by channel.
func (q *Queue) offeredPerChannel() map[string]int {
	q.imu.Lock()
	defer q.imu.Unlock()
	m := map[string]int{}
	for _, r := range q.intake {
		if r.Channel != "" {
			m[r.Channel]++
		}
	}
	return m
}

// left uncounts r, which left the queue (or was never stored), in its
// channel.
func (q *Queue) left(r Record) {
	if r.Channel == "" {
		return
	}
	q.dmu.Lock()
	defer q.dmu.Unlock()
	if q.perChannel[r.Channel]--; q.perChannel[r.Channel] <= 0 {
		delete(q.perChannel, r.Channel)
	}
}
