package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a run.
type Config struct {
	Setup Setup
	// Duration is how long to publish.
	Duration time.Duration
	// Connections is the number of concurrent publishers.
	Connections int
	// Fanout is the number of subscriber inboxes each event reaches
	// (besides the recipient's); it must match what Configure wrote.
	Fanout int
	// Progress, if set, gets a line each second.
	Progress io.Writer
	// Acked, if set, is called (concurrently) for every acknowledged
	// publish with the event's id and the index of its recipient user.
	Acked func(id string, user int)
	// Delayed, if > 0, makes every Delayed-th event carry "delay": 1.
	Delayed int
	// Remote says the producers are on one server and the users and
	// subscribers on another, so every copy crosses servers: the readers
	// then also watch the users' (recipients') inboxes, and each event is
	// watched as Fanout+1 copies instead of Fanout.
	Remote bool
	// Rate, if > 0, paces the publishers to Rate publishes per second in
	// all (at most: fewer when the server is slower), so delivery can be
	// measured at a load it keeps up with; 0 publishes as fast as the
	// connections go.
	Rate float64
	// DrainTimeout bounds the wait, after publishing, for the copies not
	// yet read (default 5s).
	DrainTimeout time.Duration
	// Warmup, if set, publishes one event to each user before the run,
	// and waits (?wait=60) until its copies are written: the first
	// publish to a recipient reads and parses its settings (with 10,000
	// subscriptions, tens of milliseconds), which a run then does not
	// count. The readers start after it, so its copies are not read.
	Warmup bool
	// ReadInterval, if > 0, is the least time between the starts of two
	// rounds of a shared reader (past 256 watched inboxes) over its
	// inboxes, as a client polling every ReadInterval would; the readers'
	// rounds are spread evenly over the interval, not started together. 0
	// polls again at once after a round that found copies, which takes
	// every core the server leaves idle: at fan-out 1,000 the 256 readers
	// then cost more CPU than writing the copies. The time until a copy is
	// seen includes up to one interval of polling.
	ReadInterval time.Duration
	// Nodes, if set, are the host:port addresses of the nodes that all
	// serve the setup's pods under one base URL (nodes sharing a store):
	// publishing connection c and reader r connect to Nodes[c%len(Nodes)]
	// and Nodes[r%len(Nodes)], and send the pods' URLs unchanged, as a
	// load balancer would. Empty: each request goes to the host of its
	// pod's URL.
	Nodes []string
	// StoreSize, if set, returns the bytes the server's store takes now:
	// called before publishing and once the copies are readable, for
	// Result.BytesPerCopy.
	StoreSize func() (int64, error)
}

// maxLongPolls bounds the inbox long-polls a run holds open at once. Up
// to it, each watched inbox has a reader of its own, long-polling; past
// it (a fan-out of thousands) maxLongPolls readers share the inboxes, each
// polling its share in turn, so a run holds as many connections as that
// whatever the fan-out, within the process's file limit (the bench's
// server runs in the same process, holding the other ends).
const maxLongPolls = 256

// node returns the address the i-th connection or reader dials ("" for
// the host of the pod's URL).
func (cfg Config) node(i int) string {
	if len(cfg.Nodes) == 0 {
		return ""
	}
	return cfg.Nodes[i%len(cfg.Nodes)]
}

// copiesPerEvent is how many copies of each event the readers watch.
func (cfg Config) copiesPerEvent() int64 {
	if cfg.Remote {
		return int64(cfg.Fanout) + 1
	}
	return int64(cfg.Fanout)
}

// Result is what a run measured.
type Result struct {
	Publishes     int64   `json:"publishes"`
	Errors        int64   `json:"errors"`
	DurationS     float64 `json:"duration_s"`
	PublishesPerS float64 `json:"publishes_per_s"`
	PublishP50Ms  float64 `json:"publish_p50_ms"`
	PublishP99Ms  float64 `json:"publish_p99_ms"`
	PublishMaxMs  float64 `json:"publish_max_ms"`
	E2EP50Ms      float64 `json:"e2e_p50_ms"`
	E2EP99Ms      float64 `json:"e2e_p99_ms"`
	E2ESamples    int64   `json:"e2e_samples"`
	// CopiesPerS is the copies the acknowledged publishes promise (the
	// recipient's and Fanout subscribers'), per second of publishing. On
	// one server they are written before the acknowledgement; across two
	// servers see DeliveredPerS.
	CopiesPerS     float64 `json:"copies_per_s"`
	SubscriberSeen int64   `json:"subscriber_copies_read"`
	Connections    int     `json:"connections"`
	Fanout         int     `json:"fanout"`
	// Rate is Config.Rate (0: unpaced).
	Rate float64 `json:"rate"`

	// Remote is Config.Remote: producers on one server, the inboxes on
	// another.
	Remote bool `json:"remote"`
	// RecipientSeen is the copies read from the users' inboxes (Remote
	// only).
	RecipientSeen int64 `json:"recipient_copies_read"`
	// CopiesPerEvent is the copies of each event the readers watch:
	// Fanout, plus the recipient's when Remote.
	CopiesPerEvent int64 `json:"copies_per_event"`
	// CopiesWant is Publishes × CopiesPerEvent; CopiesRead is what the
	// readers read by the end of the drain (equal once all arrived).
	CopiesWant int64 `json:"copies_want"`
	CopiesRead int64 `json:"copies_read"`
	// DeliveredPerS is the watched copies read while publishing, per
	// second: the delivery rate under load.
	DeliveredPerS float64 `json:"delivered_copies_per_s"`
	// RemoteDeliveriesPerS is the recipients' copies read while
	// publishing, per second: one server-to-server delivery each (Remote
	// only; the receiving server forwards the subscribers' copies itself).
	RemoteDeliveriesPerS float64 `json:"remote_deliveries_per_s"`
	// LagMax is the most watched copies acknowledged but not yet read,
	// sampled every 50 ms while publishing; LagEnd is the same when
	// publishing stopped.
	LagMax int64 `json:"lag_max"`
	LagEnd int64 `json:"lag_end"`
	// DrainMs is the time from the end of publishing to the last watched
	// copy read (0 when none was outstanding). Drained is false when
	// DrainTimeout passed first; DrainMs is then the time waited.
	DrainMs float64 `json:"drain_ms"`
	Drained bool    `json:"drained"`
	// ProcessCPUS is the CPU time (user and system) this process used
	// while publishing: the server's too when the bench started it. With
	// Publishes it gives the CPU cost of one publish, which does not depend
	// on what else the machine runs.
	ProcessCPUS float64 `json:"process_cpu_s"`
	// CPUPerPublishUs is ProcessCPUS per acknowledged publish, in µs.
	CPUPerPublishUs float64 `json:"cpu_per_publish_us"`
	FirstError      string  `json:"first_error,omitempty"`
	// NodePublishes is, with Config.Nodes, the acknowledged publishes
	// sent to each node, in the order of Config.Nodes.
	NodePublishes []int64 `json:"node_publishes,omitempty"`
	// LastCopyP50Ms and LastCopyP99Ms are, over the events whose every
	// subscriber copy was read, the time from the publish's send to the
	// read of its last copy: when the whole fan-out was readable.
	LastCopyP50Ms  float64 `json:"last_copy_p50_ms"`
	LastCopyP99Ms  float64 `json:"last_copy_p99_ms"`
	LastCopyEvents int64   `json:"last_copy_events"`
	// StoreBytes is how much the store grew over the run (with
	// Config.StoreSize); BytesPerCopy is that per copy written (the
	// recipient's and the subscribers'), events included.
	StoreBytes   int64   `json:"store_bytes,omitempty"`
	BytesPerCopy float64 `json:"bytes_per_copy,omitempty"`
}

// NewClient returns an HTTP client tuned for conns concurrent connections
// to one server.
func NewClient(conns int) *http.Client { return NewNodeClient(conns, "") }

// NewNodeClient is NewClient whose connections all go to the host:port
// node, whatever host a request's URL names (which is still sent as its
// Host header): to reach one of several nodes serving one base URL. An
// empty node dials the URL's host.
func NewNodeClient(conns int, node string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	if node != "" {
		dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, node)
		}
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dial,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// Run publishes from cfg.Connections connections for cfg.Duration while one
// long-poll reader per subscriber (and, when cfg.Remote, per user) reads
// its inbox, waits for the copies still on their way, then reports.
func Run(ctx context.Context, cfg Config) (Result, error) {
	s := cfg.Setup
	if len(s.Producers) == 0 || len(s.Users) == 0 {
		return Result{}, fmt.Errorf("bench: the setup needs producers and users")
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 64
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 5 * time.Second
	}
	watched := len(s.Subscribers)
	if cfg.Remote {
		watched += len(s.Users)
	}
	// Publishers use one wireConn each (see wire.go); readers net/http,
	// one client per node.
	readClients := make([]*http.Client, max(1, len(cfg.Nodes)))
	for i := range readClients {
		readClients[i] = NewNodeClient(min(watched, maxLongPolls)+1, cfg.node(i))
		defer readClients[i].CloseIdleConnections()
	}
	readers := 0

	var st stats
	st.fanout = cfg.Fanout
	if cfg.Warmup {
		if err := warmup(ctx, cfg); err != nil {
			return Result{}, err
		}
	}
	var size0 int64
	if cfg.StoreSize != nil {
		var err error
		if size0, err = cfg.StoreSize(); err != nil {
			return Result{}, err
		}
	}
	// Readers start at the current end of each inbox, so only this run's
	// copies count.
	readCtx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	var reading sync.WaitGroup
	shared := watched > maxLongPolls
	pools := make([][]*watch, maxLongPolls)
	startReader := func(p Pod, recipient bool) error {
		c := readClients[readers%len(readClients)]
		i := readers
		readers++
		cursor, err := tail(ctx, c, p)
		if err != nil {
			return err
		}
		if shared {
			pools[i%maxLongPolls] = append(pools[i%maxLongPolls], &watch{pod: p, cursor: cursor, recipient: recipient})
			return nil
		}
		reading.Add(1)
		go func() {
			defer reading.Done()
			read(readCtx, c, p, cursor, recipient, &st)
		}()
		return nil
	}
	for _, sub := range s.Subscribers {
		if err := startReader(sub, false); err != nil {
			return Result{}, err
		}
	}
	if cfg.Remote {
		for _, u := range s.Users {
			if err := startReader(u, true); err != nil {
				return Result{}, err
			}
		}
	}
	for i, pool := range pools {
		if len(pool) == 0 {
			continue
		}
		c := readClients[i%len(readClients)]
		// Reader i starts i/256 of an interval late, so that the rounds
		// are spread over the interval instead of arriving together.
		phase := cfg.ReadInterval * time.Duration(i) / maxLongPolls
		reading.Add(1)
		go func() {
			defer reading.Done()
			select {
			case <-readCtx.Done():
				return
			case <-time.After(phase):
			}
			sweep(readCtx, c, pool, &st, cfg.ReadInterval)
		}()
	}

	perEvent := cfg.copiesPerEvent()
	pubCtx, stopPublishing := context.WithTimeout(ctx, cfg.Duration)
	defer stopPublishing()
	start := time.Now()
	cpuStart := CPUTime()
	var pubs sync.WaitGroup
	lats := make([][]time.Duration, cfg.Connections)
	var seq atomic.Int64
	for c := range cfg.Connections {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			lats[c] = publishLoop(pubCtx, cfg, c, start, &seq, &st)
		}()
	}
	var lagMax atomic.Int64
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		sampleLag(pubCtx, &st, perEvent, &lagMax)
	}()
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if cfg.Progress != nil {
			progress(pubCtx, cfg.Progress, start, &st, perEvent)
		}
	}()
	pubs.Wait()
	stopAt := time.Now()
	elapsed := stopAt.Sub(start)
	cpu := CPUTime() - cpuStart
	n := st.published.Load()
	readAtStop, recipientsAtStop := st.read(), st.recipientSeen.Load()
	lagEnd := max(0, n*perEvent-readAtStop)
	<-progressDone
	<-watchDone
	storeMax(&lagMax, lagEnd)

	// Wait for the copies still on their way (bounded).
	want := n * perEvent
	for deadline := stopAt.Add(cfg.DrainTimeout); st.read() < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	drained := st.read() >= want
	var drain time.Duration
	switch {
	case !drained:
		drain = time.Since(stopAt)
	case lagEnd > 0:
		drain = max(0, time.Unix(0, st.lastRead.Load()).Sub(stopAt))
	}
	stopReaders()
	reading.Wait()
	var storeBytes int64
	if cfg.StoreSize != nil {
		size1, err := cfg.StoreSize()
		if err != nil {
			return Result{}, err
		}
		storeBytes = size1 - size0
	}

	var all []time.Duration
	var perNode []int64
	if len(cfg.Nodes) > 0 {
		perNode = make([]int64, len(cfg.Nodes))
	}
	for c, l := range lats {
		all = append(all, l...)
		if perNode != nil {
			perNode[c%len(perNode)] += int64(len(l))
		}
	}
	slices.Sort(all)
	st.mu.Lock()
	e2e := slices.Clone(st.e2e)
	firstErr := st.firstErr
	st.mu.Unlock()
	slices.Sort(e2e)
	secs := elapsed.Seconds()
	res := Result{
		Publishes:      n,
		Errors:         st.errors.Load(),
		DurationS:      secs,
		PublishesPerS:  float64(n) / secs,
		PublishP50Ms:   ms(pct(all, 0.50)),
		PublishP99Ms:   ms(pct(all, 0.99)),
		E2EP50Ms:       ms(pct(e2e, 0.50)),
		E2EP99Ms:       ms(pct(e2e, 0.99)),
		E2ESamples:     int64(len(e2e)),
		CopiesPerS:     float64(n*int64(1+cfg.Fanout)) / secs,
		SubscriberSeen: st.seen.Load(),
		Connections:    cfg.Connections,
		Fanout:         cfg.Fanout,
		Rate:           max(0, cfg.Rate),
		FirstError:     firstErr,
		ProcessCPUS:    cpu.Seconds(),
		NodePublishes:  perNode,

		Remote:         cfg.Remote,
		RecipientSeen:  st.recipientSeen.Load(),
		CopiesPerEvent: perEvent,
		CopiesWant:     want,
		CopiesRead:     st.read(),
		DeliveredPerS:  float64(readAtStop) / secs,
		LagMax:         lagMax.Load(),
		LagEnd:         lagEnd,
		DrainMs:        ms(drain),
		Drained:        drained,
	}
	if cfg.Remote {
		res.RemoteDeliveriesPerS = float64(recipientsAtStop) / secs
	}
	if n > 0 {
		res.CPUPerPublishUs = float64(cpu.Microseconds()) / float64(n)
		if cfg.StoreSize != nil {
			res.StoreBytes = storeBytes
			res.BytesPerCopy = float64(storeBytes) / float64(n*int64(1+cfg.Fanout))
		}
	}
	last := st.lastCopies()
	res.LastCopyEvents = int64(len(last))
	res.LastCopyP50Ms, res.LastCopyP99Ms = ms(pct(last, 0.50)), ms(pct(last, 0.99))
	if len(all) > 0 {
		res.PublishMaxMs = ms(all[len(all)-1])
	}
	return res, nil
}

// sampleLag records in lagMax the most watched copies acknowledged but not
// yet read, every 50 ms until ctx ends.
func sampleLag(ctx context.Context, st *stats, perEvent int64, lagMax *atomic.Int64) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		storeMax(lagMax, st.lag(perEvent))
	}
}

// storeMax sets a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// stats are shared counters of a run.
type stats struct {
	published atomic.Int64
	errors    atomic.Int64
	// seen counts the copies read from subscribers' inboxes,
	// recipientSeen those from users' inboxes (Config.Remote).
	seen          atomic.Int64
	recipientSeen atomic.Int64
	// lastRead is when (Unix ns) a reader last got a copy.
	lastRead atomic.Int64

	mu       sync.Mutex
	e2e      []time.Duration
	firstErr string
	// fanout is the subscriber copies of each event; events maps an
	// event's send time (data.sent_ns) to its subscriber copies read so
	// far and the latest read's latency.
	fanout int
	events map[int64]*eventReads
}

type eventReads struct {
	n    int
	last time.Duration
}

// readCopies records subscriber copies sent at sent, read at now.
func (st *stats) readCopies(sent []int64, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.events == nil {
		st.events = map[int64]*eventReads{}
	}
	for _, ns := range sent {
		e := st.events[ns]
		if e == nil {
			e = &eventReads{}
			st.events[ns] = e
		}
		e.n++
		e.last = max(e.last, now.Sub(time.Unix(0, ns)))
	}
}

// lastCopies returns, sorted, the time to the last subscriber copy of each
// event all of whose copies were read.
func (st *stats) lastCopies() []time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []time.Duration
	for _, e := range st.events {
		if st.fanout > 0 && e.n >= st.fanout {
			out = append(out, e.last)
		}
	}
	slices.Sort(out)
	return out
}

// read returns the watched copies read so far.
func (st *stats) read() int64 { return st.seen.Load() + st.recipientSeen.Load() }

// lag returns the watched copies of acknowledged events not yet read (0
// when copies of events still awaiting their acknowledgement got ahead).
func (st *stats) lag(perEvent int64) int64 {
	read := st.read()
	return max(0, st.published.Load()*perEvent-read)
}

func (st *stats) fail(msg string) {
	st.errors.Add(1)
	st.mu.Lock()
	if st.firstErr == "" {
		st.firstErr = msg
	}
	st.mu.Unlock()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// publishLoop publishes until ctx ends and returns the latencies of the
// acknowledged publishes. With cfg.Rate, event n (counted from 1 over all
// connections) is not sent before t0 + (n-1)/Rate, nor at all when that is
// not before ctx's deadline.
func publishLoop(ctx context.Context, cfg Config, conn int, t0 time.Time, seq *atomic.Int64, st *stats) []time.Duration {
	s := cfg.Setup
	lats := make([]time.Duration, 0, 1<<14)
	p := s.Producers[conn%len(s.Producers)]
	u, err := url.Parse(p.Root)
	if err != nil {
		st.fail(fmt.Sprintf("producer root %q: %v", p.Root, err))
		return nil
	}
	w, err := newWireConn(p.Root, cfg.node(conn))
	if err != nil {
		st.fail(err.Error())
		return nil
	}
	defer w.Close()
	path := u.EscapedPath() + "publish/"
	headers := []string{"Content-Type: application/json", "X-Api-Key: " + p.Key}
	var body []byte
	for ctx.Err() == nil {
		n := seq.Add(1)
		if cfg.Rate > 0 && !sleepUntil(ctx, t0.Add(time.Duration(float64(n-1)*float64(time.Second)/cfg.Rate))) {
			break
		}
		u := int(n % int64(len(s.Users)))
		start := time.Now()
		body = append(body[:0], `{"recipient":"`...)
		body = append(body, s.Users[u].WebID()...)
		body = append(body, `","topic":"`+Topic+`","data":{"type":"BenchAction","sent_ns":`...)
		body = strconv.AppendInt(body, start.UnixNano(), 10)
		body = append(body, `,"n":`...)
		body = strconv.AppendInt(body, n, 10)
		body = append(body, '}')
		if cfg.Delayed > 0 && n%int64(cfg.Delayed) == 0 {
			body = append(body, `,"delay":1`...)
		}
		body = append(body, '}')
		// A publish in flight when the run ends is finished and counted:
		// its event may be stored, and its copies are counted too.
		resp, err := w.Post(context.WithoutCancel(ctx), path, headers, body)
		if err != nil {
			if ctx.Err() == nil {
				st.fail(err.Error())
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		if resp.Status != http.StatusCreated {
			st.fail(fmt.Sprintf("%d %s: %.512s", resp.Status, http.StatusText(resp.Status), resp.Body))
			continue
		}
		lats = append(lats, time.Since(start))
		st.published.Add(1)
		if cfg.Acked != nil {
			cfg.Acked(resp.Location, u)
		}
	}
	return lats
}

// warmup publishes one event to each user, from the producers in turn,
// each answered once all its copies are written (?wait=60).
func warmup(ctx context.Context, cfg Config) error {
	s := cfg.Setup
	conns := make([]*wireConn, len(s.Producers))
	for i, p := range s.Producers {
		w, err := newWireConn(p.Root, cfg.node(i))
		if err != nil {
			return err
		}
		defer w.Close()
		conns[i] = w
	}
	for i, user := range s.Users {
		p := s.Producers[i%len(s.Producers)]
		u, err := url.Parse(p.Root)
		if err != nil {
			return fmt.Errorf("bench: producer root %q: %w", p.Root, err)
		}
		body := `{"recipient":"` + user.WebID() + `","topic":"` + Topic + `","data":{"type":"BenchWarmup"}}`
		resp, err := conns[i%len(conns)].Post(ctx, u.EscapedPath()+"publish/?wait=60",
			[]string{"Content-Type: application/json", "X-Api-Key: " + p.Key}, []byte(body))
		if err != nil {
			return fmt.Errorf("bench: warm-up: %w", err)
		}
		if resp.Status != http.StatusCreated {
			return fmt.Errorf("bench: warm-up: %d %.512s", resp.Status, resp.Body)
		}
	}
	return nil
}

// sleepUntil waits until t; false if ctx ends first or its deadline is
// not after t (so a paced run sends no event due at or after its end,
// however late the deadline's timer fires).
func sleepUntil(ctx context.Context, t time.Time) bool {
	if deadline, ok := ctx.Deadline(); ok && !t.Before(deadline) {
		return false
	}
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// page is what the readers take from an inbox page: the send times of the
// copies (data.sent_ns, which only the bench writes) and the next cursor.
// The page is scanned, not decoded: the load tool should cost the machine
// it measures as little as it can.
type page struct {
	sent  []int64
	items int
	next  string
}

var (
	itemMark = []byte(`{"url":`)
	sentMark = []byte(`"sent_ns":`)
	nextMark = []byte(`"next":"`)
)

func parsePage(b []byte) (page, error) {
	var pg page
	i := bytes.LastIndex(b, nextMark)
	if i < 0 {
		return pg, fmt.Errorf("inbox page without next: %.200s", b)
	}
	rest := b[i+len(nextMark):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return pg, fmt.Errorf("inbox page with a broken next: %.200s", b)
	}
	pg.next = string(rest[:j])
	pg.items = bytes.Count(b[:i], itemMark)
	for k := 0; ; {
		n := bytes.Index(b[k:i], sentMark)
		if n < 0 {
			break
		}
		k += n + len(sentMark)
		e := k
		for e < i && b[e] >= '0' && b[e] <= '9' {
			e++
		}
		if v, err := strconv.ParseInt(string(b[k:e]), 10, 64); err == nil {
			pg.sent = append(pg.sent, v)
		}
	}
	return pg, nil
}

// getPage reads one inbox page.
func getPage(ctx context.Context, c *http.Client, sub Pod, query string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sub.Root+"inbox/?"+query, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("X-Api-Key", sub.Key)
	resp, err := c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return page{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return page{}, fmt.Errorf("GET %s inbox: %s: %.512s", sub.Name, resp.Status, b)
	}
	return parsePage(b)
}

// tail returns the cursor after the last item of sub's inbox now.
func tail(ctx context.Context, c *http.Client, sub Pod) (string, error) {
	cursor := ""
	for {
		pg, err := getPage(ctx, c, sub, "limit=1000&from="+cursor)
		if err != nil {
			return "", err
		}
		cursor = pg.next
		if pg.items < 1000 {
			return cursor, nil
		}
	}
}

// read long-polls sub's inbox from cursor until ctx ends, counting the
// copies and recording the end-to-end latency of every subscriber copy
// (recipient says sub is a user, whose copies are only counted).
func read(ctx context.Context, c *http.Client, sub Pod, cursor string, recipient bool, st *stats) {
	seen := &st.seen
	if recipient {
		seen = &st.recipientSeen
	}
	var lats []time.Duration
	defer func() {
		st.mu.Lock()
		st.e2e = append(st.e2e, lats...)
		st.mu.Unlock()
	}()
	for ctx.Err() == nil {
		pg, err := getPage(ctx, c, sub, "wait=5&limit=1000&from="+cursor)
		now := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				st.fail(err.Error())
				time.Sleep(50 * time.Millisecond)
			}
			continue
		}
		lats = took(pg, now, recipient, seen, st, lats)
		cursor = pg.next
	}
}

// took counts the copies of pg, read at now, and appends the end-to-end
// latencies of subscriber copies to lats.
func took(pg page, now time.Time, recipient bool, seen *atomic.Int64, st *stats, lats []time.Duration) []time.Duration {
	if !recipient {
		for _, sent := range pg.sent {
			lats = append(lats, now.Sub(time.Unix(0, sent)))
		}
		if len(pg.sent) > 0 {
			st.readCopies(pg.sent, now)
		}
	}
	if pg.items > 0 {
		storeMax(&st.lastRead, now.UnixNano())
		seen.Add(int64(pg.items))
	}
	return lats
}

// watch is an inbox a shared reader polls.
type watch struct {
	pod       Pod
	cursor    string
	recipient bool
}

// sweep polls the inboxes ws in turn, without long-polling, until ctx
// ends; after a round that found nothing it pauses briefly, and a round
// starts at least interval after the previous one.
func sweep(ctx context.Context, c *http.Client, ws []*watch, st *stats, interval time.Duration) {
	var lats []time.Duration
	defer func() {
		st.mu.Lock()
		st.e2e = append(st.e2e, lats...)
		st.mu.Unlock()
	}()
	for ctx.Err() == nil {
		found := false
		round := time.Now()
		for _, w := range ws {
			pg, err := getPage(ctx, c, w.pod, "limit=1000&from="+w.cursor)
			now := time.Now()
			if err != nil {
				if ctx.Err() == nil {
					st.fail(err.Error())
					time.Sleep(50 * time.Millisecond)
				}
				continue
			}
			seen := &st.seen
			if w.recipient {
				seen = &st.recipientSeen
			}
			lats = took(pg, now, w.recipient, seen, st, lats)
			found = found || pg.items > 0
			w.cursor = pg.next
		}
		pause := interval - time.Since(round)
		if !found {
			pause = max(pause, 10*time.Millisecond)
		}
		if pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
		}
	}
}

// progress writes a line each second until ctx ends.
func progress(ctx context.Context, w io.Writer, start time.Time, st *stats, perEvent int64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastPub, lastSeen int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pub, seen := st.published.Load(), st.read()
		fmt.Fprintf(w, "bench: %3.0fs  %7d publishes/s  %8d copies read/s  %d published  lag %d  %d errors\n",
			time.Since(start).Seconds(), pub-lastPub, seen-lastSeen, pub, st.lag(perEvent), st.errors.Load())
		lastPub, lastSeen = pub, seen
	}
}
