package deliver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"podserver/store"
)

// LocalFunc makes one attempt of a local delivery inside tx. It must write
// nothing when it fails (check first, write last): tx is committed only if
// it returns nil, together with the record's removal.
type LocalFunc func(tx store.Txn, r Record, now time.Time) error

// RemoteFunc makes one attempt of a delivery to another server or a
// webhook, outside any transaction; the queue records the outcome
// afterwards, so such deliveries are at least once. It returns what the
// target answered (zero when it did not answer; see ReadResponse) and nil
// on success, a *RetryError to ask for a retry at a given time
// (Retry-After), a Permanent error to stop retrying (a 4xx other than 408
// and 429), and any other error to retry on Config.Schedule. ctx ends when
// the attempt times out (Config.AttemptTimeout) or the queue closes.
type RemoteFunc func(ctx context.Context, r Record) (Response, error)

// RetryError asks for the next attempt after After (at least).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Permanent() bool { return true }

// Permanent marks err as a failure that retrying cannot fix: the delivery
// becomes dead at once. So is an error whose chain holds one with a
// method Permanent() bool that returns true, as a refused address's does
// (netguard.ErrRefused): such errors need not be marked.
func Permanent(err error) error { return permanentError{err} }

// isPermanent reports whether err is a failure that retrying cannot fix
// (see Permanent).
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// Result is the outcome of a delivery's first attempt, for ?wait.
type Result struct {
	// Status is StatusDelivered, StatusPending (tried and failed, will
	// retry; or not yet tried when the wait ended) or StatusDead.
	Status string
	// Error is the last attempt's error, if any.
	Error string
	// Tried is false when the wait ended before the first attempt.
	Tried bool
	// ResponseStatus is the HTTP status the target answered the attempt
	// with (0 for local deliveries and when it did not answer).
	ResponseStatus int
	// ResponseBody is the start of the target's answer (at most
	// MaxResponseBody bytes); only a waiter registered before the attempt
	// gets it.
	ResponseBody []byte
	// ResponseTruncated is true when the answer was longer than
	// ResponseBody.
	ResponseTruncated bool
}

// Outcomes of an attempt, as Config.OnAttempt reports them.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead"
)

// Config configures a Queue.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Parallel bounds concurrent attempts (default 1024: an attempt that
	// waits for a slow target costs a goroutine and a connection, so it
	// takes Parallel/PerHost dead hosts at once to hold every slot).
	// Local attempts, which share the store's group commit, run at most
	// 64 at once.
	Parallel int
	// PerHost bounds concurrent attempts to one target site, a
	// registrable domain or an IP address whatever the port (default 64,
	// the outbound client's connections per host; fewer make draining
	// fall behind publishing between two servers), so a slow or dead
	// target takes at most PerHost of the Parallel slots, and fewer when
	// other sites wait for them, and never delays deliveries to other
	// sites. Local deliveries are one lane of their own (see Parallel).
	PerHost int
	// AttemptTimeout bounds one remote attempt (default 0: only the
	// handler's own client timeout). A timed-out attempt is retried.
	AttemptTimeout time.Duration
	// Schedule is the wait after each failed attempt (default
	// DefaultSchedule()); a delivery is dead after len(Schedule)+1 failed
	// attempts.
	Schedule []time.Duration
	// KeepDelivered is how many delivered records each pod's outbox keeps
	// (default 1000; negative: none, a delivered record is removed).
	// Older ones are pruned in batches, so up to pruneEvery more may be
	// listed for a while.
	KeepDelivered int
	// Node names this process among the nodes sharing the store (default:
	// a random id per Queue). Leases are held in its name: a node
	// restarted under the same name takes its own leases back at Start,
	// as any node does on a Badger store, which one process holds alone
	// (see reclaim); otherwise a dead node's leases wait until they
	// expire.
	Node string
	// Lease is how long a node holds a remote record it attempts before
	// another node may attempt it (default AttemptTimeout*2 + 1m, or 5m
	// without an AttemptTimeout; a Lease shorter than twice
	// AttemptTimeout is raised to the default). See the package
	// documentation.
	Lease time.Duration
	// Rescan is the longest the worker waits between two scans of the
	// queue's due head (default 2s), so that records enqueued or made
	// due by another node are attempted even when no Poke tells of them.
	Rescan time.Duration
	// OnAttempt, when set, is called after the outcome of each attempt is
	// recorded (before waiters learn it), with the record as recorded, the outcome (OutcomeDelivered,
	// OutcomeRetry, OutcomeDead) and, for a delivery, the time since the
	// record was created. It must not block.
	OnAttempt func(r Record, outcome string, latency time.Duration)

	// backlog is laneBacklog and scanWindow maxScan unless a test sets
	// them.
	backlog, scanWindow int
}

// Queue is the durable delivery queue and its worker.
//
// # Dispatch
//
// One scanner goroutine reads due records in due order and claims them:
// a claimed record is either being attempted or waiting in the in-memory
// lane of its target site (registrable domain or IP address, whatever
// the port: see site). Claimed seqs are skipped by later scans without
// decoding, so a record is never attempted twice at once. Each lane runs
// at most PerHost attempts (64 for the local lane) and holds at most
// laneBacklog waiting records, and no more than its share of the claims
// (laneCap); every attempt also takes one of Parallel global slots, and
// a lane never takes as many of the free slots as it holds already
// (mayRun), so lanes whose targets hang leave slots to the others. A due
// record whose lane is full is parked: its entry leaves the due order for
// its lane's own range (see parkedSpace), so a dead target's backlog never
// fills the scans' window, and it is claimed from there when its lane has
// room. The scanner never waits for attempts: a target that never answers
// holds only its own lane. Claims are memory only and keep this node from attempting a
// record twice at once; other nodes are kept off by leases (see the
// package documentation). After a restart every pending record is due
// again from the store (a remote one once its lease expired).
type Queue struct {
	cfg      Config
	local    map[string]LocalFunc
	remote   map[string]RemoteFunc
	policies map[string]Policy // set before Start

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	// ctx ends when the queue closes: attempts in progress stop and their
	// failure is not recorded.
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup

	// fullScan is when the scanner last scanned the queue from its
	// start (see resume); recounted when it last recounted the queue.
	// Scanner goroutine only.
	fullScan, recounted time.Time
	// shared is set by the first Poke: other nodes share the store, so
	// the counts are recounted from it every recountEvery.
	shared atomic.Bool

	dmu     sync.Mutex
	claimed map[uint64]string // seq -> lane of claimed records
	lanes   map[string]*lane
	running int             // attempts running: slots taken of Parallel
	stalled []string        // lanes with records waiting for a slot (see dispatch)
	parked  map[string]bool // lanes with parked records (see park)
	starved bool            // a scan stopped at its bound of claims
	// resume is where the next scan may start: every queue entry before
	// it was claimed when the last scan saw it, and low is the lowest key
	// written or released since that scan began: new records, retries,
	// and records whose claim ends while they stay in the queue
	// (rescheduled, or left as they were because the store failed; see
	// next). The scanner starts at the lower of the two, and from the
	// queue's start once a second.
	resume, low []byte
	pending     int64
	dead        int64
	kept        map[string]int // pod -> delivered records retained (when counted)
	// perChannel counts the pending records of each Record.Channel,
	// offered ones included (see Offer).
	perChannel map[string]int
	// pauseUntil: the store failed to record an attempt (a full disk,
	// say), so no record is claimed or attempted before then; pauseFor is
	// the current backoff (see storeFailed).
	pauseUntil time.Time
	pauseFor   time.Duration

	mu         sync.Mutex
	waiters    map[uint64][]chan Result
	recent     map[uint64]Result // the last maxRecent answered attempts
	recentSeqs []uint64
	changed    chan struct{} // closed at the next change (see Changed)
	started    bool
	closeOnce  sync.Once

	imu        sync.Mutex
	intake     []Record // offered, not yet stored (see Offer)
	offered    chan struct{}
	intakeDone chan struct{}
}

// New returns a Queue. Register handlers with HandleLocal, then Start.
func New(cfg Config) *Queue {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1024
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 64
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = DefaultSchedule()
	}
	if cfg.backlog <= 0 {
		cfg.backlog = laneBacklog
	}
	if cfg.scanWindow <= 0 {
		cfg.scanWindow = maxScan
	}
	if cfg.KeepDelivered == 0 {
		cfg.KeepDelivered = 1000
	}
	if cfg.Node == "" {
		cfg.Node = newNode()
	}
	if cfg.Lease <= 0 || cfg.Lease < 2*cfg.AttemptTimeout {
		cfg.Lease = defaultLease(cfg.AttemptTimeout)
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = defaultRescan
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{
		cfg:        cfg,
		local:      map[string]LocalFunc{},
		remote:     map[string]RemoteFunc{},
		policies:   map[string]Policy{},
		perChannel: map[string]int{},
		offered:    make(chan struct{}, 1),
		intakeDone: make(chan struct{}),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		ctx:        ctx,
		cancel:     cancel,
		claimed:    map[uint64]string{},
		parked:     map[string]bool{},
		lanes:      map[string]*lane{},
		kept:       map[string]int{},
		waiters:    map[uint64][]chan Result{},
		recent:     map[uint64]Result{},
	}
}

// HandleLocal registers the function that attempts deliveries of kind.
// Call it before Start.
func (q *Queue) HandleLocal(kind string, fn LocalFunc) { q.local[kind] = fn }

// HandleRemote registers the function that attempts remote deliveries of
// kind. Call it before Start.
func (q *Queue) HandleRemote(kind string, fn RemoteFunc) { q.remote[kind] = fn }

// Start starts the worker, which first picks up every delivery that fell
// due while the server was down (and those a previous run of this node
// had leased), and the goroutine that stores offered records.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		q.started = true
		q.reclaim()
		q.count()
		go q.run()
		go q.takeIn()
	}
}

// Close stops the worker and the attempts in progress (a remote attempt
// cut short is not counted: it is made again after a restart) and waits
// for them. Records offered before Close are stored before it returns.
// Later calls do nothing.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		started := q.started
		q.mu.Unlock()
		close(q.stop)
		q.cancel()
		if started {
			<-q.done
			<-q.intakeDone
		}
		q.storeOffered()
		q.workers.Wait()
	})
}

// Enqueue records a pending delivery in tx (Seq, Status and Created are
// set here) and returns it. The worker is woken once tx is durable.
func (q *Queue) Enqueue(tx store.Txn, r Record) (Record, error) {
	return q.enqueue(tx, r, false)
}

// enqueue is Enqueue; offered is true for a record Offer has counted in
// its channel already.
func (q *Queue) enqueue(tx store.Txn, r Record, offered bool) (Record, error) {
	if r.Kind == "" || r.Pod == "" || r.Target == "" {
		return r, errors.New("deliver: a record needs a kind, a pod and a target")
	}
	r.Seq = tx.NextSeq()
	r.Status = StatusPending
	if r.Created.IsZero() {
		r.Created = q.cfg.Now().UTC()
	}
	if r.Due.IsZero() {
		r.Due = r.Created
	}
	if err := put(tx, r, !q.policy(r.Kind).Transient); err != nil {
		return r, err
	}
	if err := putEventIndex(tx, r); err != nil {
		return r, err
	}
	if r.Channel != "" {
		if err := tx.Set(channelKey(r.Channel, r.Seq), nil); err != nil {
			return r, err
		}
	}
	key, lane, ch := dueKey(r.Due, r.Seq), laneName(r), r.Channel
	if offered {
		ch = ""
	}
	tx.OnCommit(func() { q.enqueued(key, lane, ch) })
	return r, nil
}

// enqueued counts a committed new record (queue key k, for lane) and wakes
// the worker, unless a scan could not take the record anyway: its lane is
// full, or the claims are at their bound. The scan that the lane's (or the
// claims') draining asks for then finds it. Without this, every record
// published to a busy host would make the worker walk the whole backlog
// in front of it again. A record of channel ch (not counted yet: "" when
// it was offered) counts in its channel.
func (q *Queue) enqueued(k []byte, lane, ch string) {
	q.dmu.Lock()
	q.pending++
	if ch != "" {
		q.perChannel[ch]++
	}
	q.lower(k)
	l := q.lanes[lane]
	wait := q.starved || (l != nil && l.blocked)
	q.dmu.Unlock()
	if !wait {
		q.kick()
	}
}

// lower makes the next scan start at k at the latest, or, for a parked
// key, the next scan look at its lane's parked records. dmu is held.
func (q *Queue) lower(k []byte) {
	if isParked(k) {
		q.parked[parkedLane(k)] = true
		return
	}
	if q.low == nil || bytes.Compare(k, q.low) < 0 {
		q.low = k
	}
}

// kick wakes the worker without blocking.
func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Depth returns how many deliveries are pending and how many are dead
// letters, as counted since Start (which counts the stored ones).
func (q *Queue) Depth() (pending, dead int64) {
	q.dmu.Lock()
	defer q.dmu.Unlock()
	return q.pending, q.dead
}

// count sets the depth counters and the records of each channel from the
// store (and the records offered but not yet stored).
func (q *Queue) count() { q.recount(true) }

// recountEvery is how often a shared queue (one that was poked) recounts
// its pending records and those of each channel from the store.
const recountEvery = time.Minute

// recount sets the pending records and the records of each channel from
// the store (and the records offered but not yet stored), and the dead
// letters too when dead is set (a scan of every outbox). Records
// committed while it runs may be miscounted by one each until the next
// recount.
func (q *Queue) recount(dead bool) {
	var pending, deadN int64
	perChannel := q.offeredPerChannel()
	chans := []byte(store.PrefixDeliveryIndex + indexChannel)
	err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		if err := rd.Scan([]byte(store.PrefixDelivery), nil, false, func(_, _ []byte) error {
			pending++
			return nil
		}); err != nil {
			return err
		}
		if err := rd.Scan(chans, nil, false, func(k, _ []byte) error {
			if len(k) >= len(chans)+9 {
				perChannel[string(k[len(chans):len(k)-9])]++
			}
			return nil
		}); err != nil {
			return err
		}
		if !dead {
			return nil
		}
		return rd.Scan([]byte(store.PrefixOutbox), nil, false, func(_, v []byte) error {
			if r, err := decode(v); err == nil && r.Status == StatusDead {
				deadN++
			}
			return nil
		})
	})
	if err != nil {
		q.cfg.Logger.Error("deliver: count the queue", "err", err)
		return
	}
	q.dmu.Lock()
	q.pending, q.perChannel = pending, perChannel
	if dead {
		q.dead = deadN
	}
	q.dmu.Unlock()
}
