package deliver

// The scanner and the lanes: which due records are claimed, and when
// their attempts run.

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"podserver/store"
)

// run is the scanner goroutine: it claims what is due (runDue) whenever
// a record is enqueued or released, when Poke tells of another node's
// write, when the next one falls due, and at least every Config.Rescan
// (for what another node wrote without a Poke).
func (q *Queue) run() {
	defer close(q.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if q.shared.Load() && time.Since(q.recounted) >= recountEvery {
			q.recounted = time.Now()
			q.recount(false)
		}
		wait := q.cfg.Rescan
		if next := q.runDue(); !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(wait)
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

// maxLocal bounds concurrent local attempts.
const maxLocal = 64

// maxClaimed bounds the claimed records (running and waiting).
func (q *Queue) maxClaimed() int { return max(q.cfg.Parallel*16, 4096) }

// lane is the dispatch state of one target host: attempts running and
// claimed records waiting for one of its PerHost slots.
type lane struct {
	active  int
	waiting []Record
	// blocked: a due record of this lane was left in the store because
	// the lane was full; the scanner runs again when a slot frees.
	blocked bool
}

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
			r, err := decodeEntry(v)
			if err != nil {
				q.cfg.Logger.Error("deliver: skipping corrupt queue entry", "key", fmt.Sprintf("%x", k), "err", err)
				return nil
			}
			due := r.Due
			if r.hold.Node != "" {
				// Leased (by this node before a restart, or another):
				// due when the lease expires.
				due = r.hold.Until
			}
			if due.After(now) {
				// The key holds whole milliseconds: not due for
				// another fraction of one.
				if open == nil {
					open = bytes.Clone(k)
				}
				next = due
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
