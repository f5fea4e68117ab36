package deliver

// The scanner and the lanes: which due records are claimed, and when
// their attempts run.

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

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
	// maxScan bounds the queue entries one scan visits (Config.scanWindow
	// unless a test sets it). Beyond it the scanner looks again a little
	// later.
	maxScan = 1 << 16
	// laneBacklog bounds the claimed records waiting in one lane.
	laneBacklog = 1024
	// parkBatch bounds the entries one transaction parks.
	parkBatch = 512
	// maxParkedLanes bounds the parked lanes one look for them finds.
	maxParkedLanes = 4096
)

// maxLocal bounds concurrent local attempts.
const maxLocal = 64

// maxClaimed is the share of claimed records (running and waiting) that
// the lanes divide among them (see laneCap); a scan stops at twice it.
func (q *Queue) maxClaimed() int { return max(q.cfg.Parallel*16, 4096) }

// lane is the dispatch state of one target site: attempts running (each
// holding one of the Parallel slots) and claimed records waiting, for one
// of its PerHost attempts or for a slot.
type lane struct {
	active  int
	waiting []Record
	// blocked: a due record of this lane was left in the store because
	// the lane was full; the scanner runs again when it has drained.
	blocked bool
	// stalled: the lane is in Queue.stalled, waiting for a slot.
	stalled bool
}

// laneName returns the lane of r: "" for local deliveries, else the site
// of its target URL (a WebID for KindLDN, whose profile and inbox are on
// that host as a rule; see site).
func laneName(r Record) string {
	if r.Kind == KindInbox {
		return ""
	}
	u, err := url.Parse(r.Target)
	if err != nil || u.Hostname() == "" {
		return "?"
	}
	return site(u.Hostname())
}

// site returns the lane of a target host: its registrable domain
// ("b.example.org" for "a.b.example.org"), an IPv4 address as it is, and
// an IPv6 address's /64. Neither the port nor a subdomain makes a lane of
// its own, so one machine or one domain cannot take several lanes' share
// of the slots and claims.
func site(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.WithZone("").Unmap()
		if a.Is4() {
			return a.String()
		}
		p, _ := a.Prefix(64) // never fails for an IPv6 address without zone
		return p.String()
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// laneLimit is how many attempts lane name runs at once.
func (q *Queue) laneLimit(name string) int {
	if name == "" {
		return min(q.cfg.Parallel, maxLocal)
	}
	return q.cfg.PerHost
}

// laneCap is how many records lane name may hold claimed (running and
// waiting): its attempts and a backlog, and no more than an equal share
// of maxClaimed among the lanes holding claims and one more, so that a
// lane that holds none can always claim. dmu is held.
func (q *Queue) laneCap(name string) int {
	c := q.laneLimit(name) + q.cfg.backlog
	return max(1, min(c, q.maxClaimed()/(len(q.lanes)+1)))
}

// runDue claims every due delivery its lane has room for, starts their
// attempts without waiting for them, and returns when to look again (zero
// when the queue holds nothing that is not due later or claimed).
//
// Due records of a full lane are parked: their queue entries move out of
// the due order into the lane's own range (see parkKey), so that a slow
// target's backlog never fills the scan window in front of other targets'
// records. A lane with room takes its parked records first.
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
	// Scans start after the run of claimed records the last scan began
	// with (see resume), and from the start once a second, when parked
	// lanes (this node's or another's) are looked for too.
	q.dmu.Lock()
	start := q.resume
	if start != nil && q.low != nil && bytes.Compare(q.low, start) < 0 {
		start = q.low
	}
	q.low = nil
	q.dmu.Unlock()
	if time.Since(q.fullScan) >= time.Second {
		start, q.fullScan = nil, time.Now()
		q.findParked()
	}
	q.unpark(now)
	next, park := q.scanDue(now, start)
	if len(park) > 0 {
		q.park(park)
	}
	return next
}

// parking is a due queue entry of a full lane, to park.
type parking struct {
	key, value []byte
	lane       string
}

// scanDue claims the due records of the queue from start (nil: its start)
// whose lanes have room, and returns when to look again and the entries
// of full lanes to park.
func (q *Queue) scanDue(now time.Time, start []byte) (time.Time, []parking) {
	var next time.Time
	var park []parking
	visited := 0
	var open, last []byte
	err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixDelivery), start, false, func(k, v []byte) error {
			if isParked(k) {
				// The parked ranges follow the due order.
				return store.ErrStop
			}
			if visited++; visited > q.cfg.scanWindow {
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
			starved := len(q.claimed) >= 2*q.maxClaimed()
			if starved {
				q.starved = true
			}
			q.dmu.Unlock()
			if !claimed && open == nil {
				open = bytes.Clone(k)
			}
			switch {
			case starved:
				// Claimed records finishing wake the scanner.
				return store.ErrStop
			case claimed:
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
			if !q.admit(r) && r.hold.Node == "" {
				// A leased entry stays where its holder records its
				// outcome; it is claimed later like any other.
				park = append(park, parking{key: bytes.Clone(k), value: bytes.Clone(v), lane: laneName(r)})
			}
			return nil
		})
	})
	if err != nil {
		q.cfg.Logger.Error("deliver: scan queue", "err", err)
		return now.Add(time.Second), nil
	}
	q.dmu.Lock()
	switch {
	case open != nil:
		q.resume = open
	case last != nil:
		q.resume = append(bytes.Clone(last), 0)
	}
	q.dmu.Unlock()
	return next, park
}

// laneFull reports whether lane name has no room for another claim. dmu
// is held.
func (q *Queue) laneFull(name string) bool {
	l := q.lanes[name]
	held := 0
	if l != nil {
		held = l.active + len(l.waiting)
	}
	if held < q.laneCap(name) {
		return false
	}
	if l != nil {
		l.blocked = true
	}
	return true
}

// admit claims r and starts its attempt, or queues it in its lane. It
// returns false when the lane is full: r stays in the store, for a later
// scan.
func (q *Queue) admit(r Record) bool {
	name := laneName(r)
	q.dmu.Lock()
	defer q.dmu.Unlock()
	if _, ok := q.claimed[r.Seq]; ok || q.ctx.Err() != nil {
		// Claimed, or the queue is closing: attempts cut short by Close
		// release their claims, and must not be made again.
		return true
	}
	if q.laneFull(name) {
		return false
	}
	q.claimed[r.Seq] = name
	l := q.lanes[name]
	if l == nil {
		l = &lane{}
		q.lanes[name] = l
	}
	if len(l.waiting) == 0 && q.mayRun(name, l) {
		q.start(name, l, r)
		return true
	}
	l.waiting = append(l.waiting, r)
	q.stall(name, l)
	return true
}

// mayRun reports whether lane name may start another attempt: it runs
// fewer than its limit, and fewer than there are free slots. A lane
// holding h slots so never takes the last h free ones: n lanes whose
// targets hang hold about Parallel/(n+1) slots each, and the slots left
// go to lanes that hold fewer. dmu is held.
func (q *Queue) mayRun(name string, l *lane) bool {
	return l.active < q.laneLimit(name) && l.active < q.cfg.Parallel-q.running
}

// start takes a slot for lane l and attempts r in a worker of its own.
// dmu is held.
func (q *Queue) start(name string, l *lane, r Record) {
	l.active++
	q.running++
	q.workers.Add(1)
	go q.work(name, r)
}

// stall queues lane l, which has records waiting, for a free slot, unless
// it runs its limit of attempts (one of them ending starts the next).
// dmu is held.
func (q *Queue) stall(name string, l *lane) {
	if !l.stalled && l.active < q.laneLimit(name) {
		l.stalled = true
		q.stalled = append(q.stalled, name)
	}
}

// dispatch hands free slots to the stalled lanes, one attempt to each in
// turn while any may run another. dmu is held.
func (q *Queue) dispatch() {
	for started := true; started && q.running < q.cfg.Parallel; {
		started = false
		keep := q.stalled[:0]
		for _, name := range q.stalled {
			l := q.lanes[name]
			if l == nil || !l.stalled {
				continue
			}
			if len(l.waiting) > 0 && q.mayRun(name, l) {
				r := l.waiting[0]
				l.waiting[0] = Record{}
				l.waiting = l.waiting[1:]
				q.start(name, l, r)
				started = true
			}
			if len(l.waiting) == 0 || l.active >= q.laneLimit(name) {
				l.stalled = false
				continue
			}
			keep = append(keep, name)
		}
		clear(q.stalled[len(keep):])
		q.stalled = keep
	}
}

// work attempts r and then, while its lane may run them, the records
// waiting in it, one at a time.
func (q *Queue) work(name string, r Record) {
	defer q.workers.Done()
	for {
		if q.ctx.Err() != nil {
			q.next(name, r.Seq, nil)
			return
		}
		requeue := q.attempt(r)
		var ok bool
		if r, ok = q.next(name, r.Seq, requeue); !ok {
			return
		}
	}
}

// next releases the claim of seq, whose record stays in the queue at key
// requeue (nil: it left), and its slot: stalled lanes get it first, then
// the next record waiting in lane name, if its lane may run it (and the
// queue is open), which the caller attempts in the slot.
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
	l.active--
	q.running--
	// A full lane asks for a scan once half its claims have drained, so a
	// busy lane is refilled in batches rather than a scan per attempt.
	refill := l.blocked && l.active+len(l.waiting) <= q.laneCap(name)/2
	if refill || q.starved {
		l.blocked = l.blocked && !refill
		q.starved = false
		q.kick()
	}
	if q.ctx.Err() != nil {
		if l.active == 0 {
			delete(q.lanes, name)
		}
		return Record{}, false
	}
	q.dispatch()
	if len(l.waiting) > 0 && q.mayRun(name, l) {
		r := l.waiting[0]
		l.waiting[0] = Record{}
		l.waiting = l.waiting[1:]
		l.active++
		q.running++
		return r, true
	}
	if len(l.waiting) > 0 {
		q.stall(name, l)
	} else if l.active == 0 {
		delete(q.lanes, name)
	}
	return Record{}, false
}
