package publish

// Fan-out jobs: the subscriber copies of an event with many of them are
// written after the answer, in batches.
//
// A publish whose event reaches more than Config.FanoutThreshold local
// inboxes writes, in its one transaction, the event, the copies of its
// recipient's and source's own inboxes (the targets the publisher
// addressed), the subscriber inboxes still to be written, split into
// batches of Config.FanoutBatch (store.PrefixFanout keys), and one
// deliver.KindFanout record. The job is a record of the durable delivery
// queue because the queue already gives what it needs: records durable
// with the event, picked up again after a crash or by another node, and,
// for a local kind, an attempt that removes the record in the transaction
// that does its work, so only one attempt of a record ever commits.
//
// Each attempt writes the copies of the first batch left, deletes that
// batch's key and, when more are left, enqueues the job's next record, all
// in one transaction: a batch is written exactly once, and a crash between
// two batches resumes at the next. Each copy still goes through AppendAll
// (NewEvent false), so an inbox holds one copy per event id whatever
// happened: each batch records its copies under a part of the event's
// copies entry (inbox.AppendPart) instead of rewriting the whole entry. A
// subscriber pod deleted meanwhile is skipped; an event deleted
// meanwhile ends its job, dropping the batches not yet written.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// Defaults of Config.FanoutThreshold and Config.FanoutBatch.
const (
	DefaultFanoutThreshold = 64
	DefaultFanoutBatch     = 256
)

// fanoutPolicy is the queue policy of fan-out jobs: not listed in any
// outbox, and retried soon after a failure (the store's, as a job has no
// other reason to fail). Its batches queue with publishes in arrival
// order, so publishers that outpace the copies wait for them
// (backpressure) and the backlog stays small. With a positive lag, a
// batch whose event is younger than lag runs as a background update
// instead, after the publishes queued meanwhile: lower publish latency
// in bursts, for fewer copies written per second while publishes wait
// (the store puts one background update in a commit beside them).
func fanoutPolicy(lag time.Duration) deliver.Policy {
	var background func(deliver.Record, time.Time) bool
	if lag > 0 {
		background = func(r deliver.Record, now time.Time) bool { return now.Sub(r.Created) < lag }
	}
	return deliver.Policy{
		Transient:  true,
		Background: background,
		Schedule: []time.Duration{
			time.Second, 5 * time.Second, 30 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour,
		},
	}
}

// Key layout (prefix owned by this package, see store/keyspace.go):
//
//	store.PrefixFanout + event path + 0x00 + batch(4) -> inbox paths, newline-separated
func fanoutPrefix(event string) []byte {
	k := make([]byte, 0, len(store.PrefixFanout)+len(event)+5)
	k = append(k, store.PrefixFanout...)
	k = append(k, event...)
	return append(k, 0)
}

func fanoutKey(event string, batch uint32) []byte {
	k := fanoutPrefix(event)
	return append(k, byte(batch>>24), byte(batch>>16), byte(batch>>8), byte(batch))
}

// queueFanout stores, in tx, the subscriber copies subs of p as a fan-out
// job, and records the job in p.
func (s *Service) queueFanout(tx store.Txn, pod string, p *planned, subs []Target, now time.Time) error {
	size := s.cfg.FanoutBatch
	var b []byte
	for i, off := uint32(0), 0; off < len(subs); i, off = i+1, off+size {
		b = b[:0]
		for j, t := range subs[off:min(off+size, len(subs))] {
			if j > 0 {
				b = append(b, '\n')
			}
			b = append(b, t.Target...)
		}
		if err := tx.Set(fanoutKey(p.path, i), b); err != nil {
			return err
		}
	}
	rec, err := s.cfg.Queue.Enqueue(tx, deliver.Record{
		Kind: deliver.KindFanout, Pod: pod, Event: p.path, EventID: p.url, Target: p.path, Created: now,
	})
	if err != nil {
		return err
	}
	p.job, p.queued = rec, len(subs)
	return nil
}

// fanoutBatch is the queue's handler for fan-out jobs: it writes the
// copies of the job's first batch left and enqueues the job's next record
// when another batch is left.
func (s *Service) fanoutBatch(tx store.Txn, r deliver.Record, now time.Time) error {
	prefix := fanoutPrefix(r.Event)
	var keys [][]byte
	var first []byte
	err := tx.Scan(prefix, nil, false, func(k, v []byte) error {
		keys = append(keys, bytes.Clone(k))
		if len(keys) == 1 {
			first = bytes.Clone(v)
			return nil
		}
		return store.ErrStop
	})
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		tx.OnCommit(func() { s.jobs.done(r.Event) })
		return nil
	}
	ev, err := ldp.GetShared(tx, r.Event)
	if errors.Is(err, ldp.ErrNotFound) {
		return s.dropFanout(tx, r, prefix)
	}
	if err != nil {
		return err
	}
	part := binary.BigEndian.Uint32(keys[0][len(prefix):])
	paths := strings.Split(string(first), "\n")
	// The pod records, not the inboxes: concurrent copies write the
	// inboxes' containers, and reading them would make this transaction
	// conflict with them. All at once: one round trip on PostgreSQL.
	pods := make([]string, len(paths))
	for i, ib := range paths {
		pods[i], _ = ldp.SplitStoragePath(ib)
	}
	exist, err := ldp.PodsExist(tx, pods)
	if err != nil {
		return err
	}
	copies := make([]inbox.Copy, 0, len(paths))
	for i, ib := range paths {
		if !exist[i] {
			continue // deleted since the publish
		}
		copies = append(copies, inbox.Copy{Inbox: ib, EventID: r.EventID, Body: ev.Bytes(), Shared: ev, InboxExists: true})
	}
	// Each batch records its copies under a part of the event's copies
	// entry of its own: the batches split one de-duplicated inbox list.
	if len(copies) > 0 {
		if _, err := s.cfg.Inboxes.AppendPart(tx, copies, part, now); err != nil {
			return err
		}
	}
	if err := tx.Delete(keys[0]); err != nil {
		return err
	}
	last := len(keys) == 1
	if !last {
		next := r
		next.Due, next.Attempts, next.LastError, next.LastStatus = time.Time{}, 0, "", 0
		if _, err := s.cfg.Queue.Enqueue(tx, next); err != nil {
			return err
		}
	}
	n := len(paths)
	tx.OnCommit(func() {
		s.jobs.wrote(r.Event, n)
		if last {
			s.jobs.done(r.Event)
		}
		if s.cfg.OnFanoutWritten != nil {
			s.cfg.OnFanoutWritten(n, last, s.cfg.Now().Sub(r.Created))
		}
	})
	return nil
}

// dropFanout ends the job of r, whose event was deleted: the batches not
// yet written go.
func (s *Service) dropFanout(tx store.Txn, r deliver.Record, prefix []byte) error {
	paths, err := takeBatches(tx, prefix)
	if err != nil {
		return err
	}
	left := countPaths(paths)
	tx.OnCommit(func() {
		s.cfg.Logger.Info("publish: event deleted during its fan-out: the copies left are dropped", "event", r.EventID, "dropped", left)
		s.jobs.done(r.Event)
	})
	return nil
}

// jobWaits tracks, for ?wait, the fan-out jobs this node's publishes wait
// for, by event path, and ends the wait at once when this node ends the
// job; a job another node runs is followed through the store
// (fanoutwait.go).
type jobWaits struct {
	mu sync.Mutex
	m  map[string]*jobWait
}

type jobWait struct {
	written int           // copies written so far
	done    chan struct{} // closed when the job ends
}

// add registers a waiter for the job of event before the job can start
// (before the publish's transaction commits).
func (j *jobWaits) add(event string) *jobWait {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m == nil {
		j.m = map[string]*jobWait{}
	}
	w := &jobWait{done: make(chan struct{})}
	j.m[event] = w
	return w
}

// remove forgets the waiter of event.
func (j *jobWaits) remove(event string, w *jobWait) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m[event] == w {
		delete(j.m, event)
	}
}

// wrote counts n copies of event's job as written.
func (j *jobWaits) wrote(event string, n int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if w := j.m[event]; w != nil {
		w.written += n
	}
}

// done ends the job of event.
func (j *jobWaits) done(event string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if w := j.m[event]; w != nil {
		close(w.done)
		delete(j.m, event)
	}
}

// fansOut reports whether the copies of p go to more subscriber inboxes
// than the publish writes itself: its subscriber copies are then a
// fan-out job's. Held-back events are delivered record by record.
func (s *Service) fansOut(p *planned, now time.Time) bool {
	return s.cfg.FanoutThreshold >= 0 && !p.due.After(now) && p.subs > s.cfg.FanoutThreshold
}

// splitSubscribers splits local inbox targets into the parties' own (the
// recipient's and source's) and their subscribers'.
func splitSubscribers(ts []Target) (own, subs []Target) {
	// Routing puts the parties' targets first: then the two are slices
	// of ts, not copies (10,000 subscribers are 640 KB of targets).
	k := slices.IndexFunc(ts, func(t Target) bool { return t.Via != "" })
	if k < 0 {
		return ts, nil
	}
	if !slices.ContainsFunc(ts[k:], func(t Target) bool { return t.Via == "" }) {
		return ts[:k:k], ts[k:]
	}
	for _, t := range ts {
		if t.Via == "" {
			own = append(own, t)
		} else {
			subs = append(subs, t)
		}
	}
	return own, subs
}
