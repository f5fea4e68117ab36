package deliver

// Leases: which node attempts a remote record, when several share the
// store (the rules are in the package documentation).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"podserver/store"
)

// defaultRescan is Config.Rescan's default.
const defaultRescan = 2 * time.Second

// defaultLease returns Config.Lease's default for an AttemptTimeout.
func defaultLease(attempt time.Duration) time.Duration {
	if attempt <= 0 {
		return 5 * time.Minute
	}
	return 2*attempt + time.Minute
}

// newNode returns a random node name.
func newNode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// errLeased: another node holds the record's lease.
var errLeased = errors.New("deliver: record leased by another node")

// lease is a node's hold on a queued record while it attempts it.
type lease struct {
	Node  string    `json:"node"`
	Until time.Time `json:"until"`
}

// is reports whether l and m are the same lease.
func (l lease) is(m lease) bool { return l.Node == m.Node && l.Until.Equal(m.Until) }

// entry is the value of a queue ("d") key: the record and, while a node
// attempts it, that node's lease.
type entry struct {
	Record
	Lease *lease `json:"lease,omitempty"`
}

// decodeEntry decodes a queue entry: the record, with the lease it holds
// (if any) in its hold.
func decodeEntry(v []byte) (Record, error) {
	var e entry
	if err := json.Unmarshal(v, &e); err != nil {
		return Record{}, err
	}
	if e.Lease != nil {
		e.hold = *e.Lease
	}
	return e.Record, nil
}

// queueKey returns the queue key of r as read from the queue: at its
// lease's expiry while leased, else at Due.
func queueKey(r Record) []byte {
	if r.parked != nil {
		return r.parked
	}
	if r.hold.Node != "" {
		return dueKey(r.hold.Until, r.Seq)
	}
	return dueKey(r.Due, r.Seq)
}

// setEntry writes r's queue entry (at queueKey, with its lease if any).
func setEntry(tx store.Txn, r Record) error {
	e := entry{Record: r}
	if r.hold.Node != "" {
		e.Lease = &r.hold
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tx.Set(queueKey(r), v)
}

// take checks, in tx, that r is still queued as it was read (at the same
// key, holding the same lease or none) and removes its queue entry. It
// fails with errGone when not: the record was completed or rescheduled
// meanwhile, or, for a lease of this node's, the lease expired and
// another node claimed the record.
func (q *Queue) take(tx store.Txn, r Record) error {
	if _, err := queuedAsRead(tx, r); err != nil {
		return err
	}
	return tx.Delete(queueKey(r))
}

// queuedAsRead returns r's queue entry as stored in tx, or errGone when r
// is no longer queued as it was read: not at the same key, or not holding
// the same lease (or none).
func queuedAsRead(tx store.Txn, r Record) (Record, error) {
	v, err := tx.Get(queueKey(r))
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, errGone
	}
	if err != nil {
		return Record{}, err
	}
	cur, err := decodeEntry(v)
	if err != nil {
		return Record{}, err
	}
	if !cur.hold.is(r.hold) {
		return Record{}, errGone
	}
	cur.parked = r.parked
	return cur, nil
}

// claim leases r, as read from the queue, to this node for Config.Lease,
// in a transaction of its own: its queue entry moves to the lease's
// expiry, so no scan of any node finds it due before then. It returns the
// record as stored, holding the new lease; errGone when r is no longer
// queued as it was read (completed, rescheduled or claimed by another
// node meanwhile, or an earlier scan's copy); errLeased when another node
// holds an unexpired lease on it.
func (q *Queue) claim(ctx context.Context, r Record) (Record, error) {
	var held Record
	err := q.cfg.Store.Update(ctx, func(tx store.Txn) error {
		cur, err := queuedAsRead(tx, r)
		if err != nil {
			return err
		}
		now := q.cfg.Now()
		if h := cur.hold; h.Node != "" && h.Node != q.cfg.Node && h.Until.After(now) {
			return errLeased
		}
		if err := tx.Delete(queueKey(cur)); err != nil {
			return err
		}
		cur.hold = lease{Node: q.cfg.Node, Until: now.Add(q.cfg.Lease).UTC().Truncate(time.Millisecond)}
		cur.parked = nil
		held = cur
		return setEntry(tx, cur)
	})
	return held, err
}

// release gives up the lease of r (its attempt was cut short by Close):
// its queue entry goes back to its due time, for any node to attempt at
// once rather than after the lease. A failure is only logged: the lease
// then expires.
func (q *Queue) release(r Record) {
	err := q.cfg.Store.Update(context.Background(), func(tx store.Txn) error {
		if err := q.take(tx, r); err != nil {
			return err
		}
		r.hold = lease{}
		return setEntry(tx, r)
	})
	if err != nil && !errors.Is(err, errGone) {
		q.cfg.Logger.Warn("deliver: release lease", "seq", r.Seq, "err", err)
	}
}

// reclaim puts the leases that no live node holds back at their records'
// due times, at Start: those held in this node's name (by an earlier run
// of it), and, when the store is this process's alone (Badger, which
// locks its directory), every lease, a dead process's. Two queues sharing
// one Badger store (as tests run nodes) so must start before either
// leases a record.
func (q *Queue) reclaim() {
	_, alone := q.cfg.Store.(*store.Badger)
	var stale []Record
	err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixDelivery), nil, false, func(_, v []byte) error {
			if !bytes.Contains(v, []byte(`"lease":`)) {
				return nil
			}
			r, err := decodeEntry(v)
			if err == nil && r.hold.Node != "" && (alone || r.hold.Node == q.cfg.Node) {
				stale = append(stale, r)
			}
			return nil
		})
	})
	for len(stale) > 0 && err == nil {
		batch := stale[:min(len(stale), 1024)]
		stale = stale[len(batch):]
		err = q.cfg.Store.Update(context.Background(), func(tx store.Txn) error {
			for _, r := range batch {
				switch err := q.take(tx, r); {
				case errors.Is(err, errGone):
					continue
				case err != nil:
					return err
				}
				r.hold = lease{}
				if err := setEntry(tx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		q.cfg.Logger.Error("deliver: reclaim leases at start", "err", err)
	}
}

// Poke wakes the worker to scan the queue's due head, for records that
// another node enqueued, rescheduled or released: the server calls it
// when the change feed reports another node's write under
// store.PrefixDelivery. It never blocks; pokes that come while a scan is
// due anyway are merged into it. Without pokes such records are found by
// the periodic rescan (Config.Rescan).
//
// The first Poke also marks the store as shared: from then on the
// queue's pending records and each channel's (Depth, Policy.MaxPerChannel)
// are recounted from the store every minute, since records this node
// counted may leave the queue on other nodes.
func (q *Queue) Poke() {
	q.shared.Store(true)
	q.kick()
	q.changedNow()
}

// Node returns the name this queue holds its leases in (Config.Node).
func (q *Queue) Node() string { return q.cfg.Node }

// settled tells the waiters of r, whose attempt found it gone from the
// queue, the outcome another node recorded, if it made one since r was
// read (a waiter otherwise waits until its deadline: see Wait).
func (q *Queue) settled(r Record) {
	q.mu.Lock()
	waiting := len(q.waiters[r.Seq]) > 0
	q.mu.Unlock()
	if !waiting || q.policy(r.Kind).Transient {
		// A Transient record is never listed: its outcome is unknown.
		return
	}
	var cur Record
	err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		var err error
		cur, err = Get(rd, r.Pod, r.Seq)
		return err
	})
	switch {
	case errors.Is(err, ErrNoRecord):
		// Delivered and removed (KeepDelivered < 0) or pruned.
		q.finish(r.Seq, Result{Status: StatusDelivered, Tried: true})
	case err == nil && cur.Attempts > r.Attempts:
		q.finish(r.Seq, Result{Status: cur.Status, Error: cur.LastError, Tried: true, ResponseStatus: cur.LastStatus})
	}
}
