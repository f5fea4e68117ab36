package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
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
}

// Result is what a run measured.
type Result struct {
	Publishes      int64   `json:"publishes"`
	Errors         int64   `json:"errors"`
	DurationS      float64 `json:"duration_s"`
	PublishesPerS  float64 `json:"publishes_per_s"`
	PublishP50Ms   float64 `json:"publish_p50_ms"`
	PublishP99Ms   float64 `json:"publish_p99_ms"`
	PublishMaxMs   float64 `json:"publish_max_ms"`
	E2EP50Ms       float64 `json:"e2e_p50_ms"`
	E2EP99Ms       float64 `json:"e2e_p99_ms"`
	E2ESamples     int64   `json:"e2e_samples"`
	CopiesPerS     float64 `json:"copies_per_s"`
	SubscriberSeen int64   `json:"subscriber_copies_read"`
	Connections    int     `json:"connections"`
	Fanout         int     `json:"fanout"`
	// ProcessCPUS is the CPU time (user and system) this process used
	// while publishing: the server's too when the bench started it. With
	// Publishes it gives the CPU cost of one publish, which does not depend
	// on what else the machine runs.
	ProcessCPUS float64 `json:"process_cpu_s"`
	// CPUPerPublishUs is ProcessCPUS per acknowledged publish, in µs.
	CPUPerPublishUs float64 `json:"cpu_per_publish_us"`
	FirstError      string  `json:"first_error,omitempty"`
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// NewClient returns an HTTP client tuned for conns concurrent connections
// to one server.
func NewClient(conns int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// Run publishes from cfg.Connections connections for cfg.Duration while one
// long-poll reader per subscriber reads its inbox, then reports.
func Run(ctx context.Context, cfg Config) (Result, error) {
	s := cfg.Setup
	if len(s.Producers) == 0 || len(s.Users) == 0 {
		return Result{}, fmt.Errorf("bench: the setup needs producers and users")
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 64
	}
	pubClient := NewClient(cfg.Connections)
	readClient := NewClient(len(s.Subscribers) + 1)
	defer pubClient.CloseIdleConnections()
	defer readClient.CloseIdleConnections()

	var st stats
	// Readers start at the current end of each inbox, so only this run's
	// copies count.
	readCtx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	var readers sync.WaitGroup
	for _, sub := range s.Subscribers {
		cursor, err := tail(ctx, readClient, sub)
		if err != nil {
			return Result{}, err
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			read(readCtx, readClient, sub, cursor, &st)
		}()
	}

	pubCtx, stopPublishing := context.WithTimeout(ctx, cfg.Duration)
	defer stopPublishing()
	start := time.Now()
	cpuStart := cpuTime()
	var pubs sync.WaitGroup
	lats := make([][]time.Duration, cfg.Connections)
	var seq atomic.Int64
	for c := range cfg.Connections {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			lats[c] = publishLoop(pubCtx, pubClient, cfg, c, &seq, &st)
		}()
	}
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if cfg.Progress != nil {
			progress(pubCtx, cfg.Progress, start, &st)
		}
	}()
	pubs.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpuStart
	<-progressDone

	// Let the readers catch up with the last events (bounded).
	want := st.published.Load() * int64(cfg.Fanout)
	for deadline := time.Now().Add(5 * time.Second); st.seen.Load() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	stopReaders()
	readers.Wait()

	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	st.mu.Lock()
	e2e := slices.Clone(st.e2e)
	firstErr := st.firstErr
	st.mu.Unlock()
	slices.Sort(e2e)
	n := st.published.Load()
	res := Result{
		Publishes:      n,
		Errors:         st.errors.Load(),
		DurationS:      elapsed.Seconds(),
		PublishesPerS:  float64(n) / elapsed.Seconds(),
		PublishP50Ms:   ms(pct(all, 0.50)),
		PublishP99Ms:   ms(pct(all, 0.99)),
		E2EP50Ms:       ms(pct(e2e, 0.50)),
		E2EP99Ms:       ms(pct(e2e, 0.99)),
		E2ESamples:     int64(len(e2e)),
		CopiesPerS:     float64(n*int64(1+cfg.Fanout)) / elapsed.Seconds(),
		SubscriberSeen: st.seen.Load(),
		Connections:    cfg.Connections,
		Fanout:         cfg.Fanout,
		FirstError:     firstErr,
		ProcessCPUS:    cpu.Seconds(),
	}
	if n > 0 {
		res.CPUPerPublishUs = float64(cpu.Microseconds()) / float64(n)
	}
	if len(all) > 0 {
		res.PublishMaxMs = ms(all[len(all)-1])
	}
	return res, nil
}

// stats are shared counters of a run.
type stats struct {
	published atomic.Int64
	errors    atomic.Int64
	seen      atomic.Int64

	mu       sync.Mutex
	e2e      []time.Duration
	firstErr string
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
// acknowledged publishes.
func publishLoop(ctx context.Context, c *http.Client, cfg Config, conn int, seq *atomic.Int64, st *stats) []time.Duration {
	s := cfg.Setup
	lats := make([]time.Duration, 0, 1<<14)
	var body []byte
	for ctx.Err() == nil {
		n := seq.Add(1)
		p := s.Producers[conn%len(s.Producers)]
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
		req, err := http.NewRequest(http.MethodPost, p.Root+"publish/", bytes.NewReader(body))
		if err != nil {
			st.fail(err.Error())
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Api-Key", p.Key)
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				st.fail(err.Error())
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		var msg []byte
		if resp.StatusCode != http.StatusCreated {
			msg, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			st.fail(resp.Status + ": " + string(msg))
			continue
		}
		lats = append(lats, time.Since(start))
		st.published.Add(1)
		if cfg.Acked != nil {
			cfg.Acked(resp.Header.Get("Location"), u)
		}
	}
	return lats
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

// read long-polls sub's inbox from cursor until ctx ends, recording the
// end-to-end latency of every copy.
func read(ctx context.Context, c *http.Client, sub Pod, cursor string, st *stats) {
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
		for _, sent := range pg.sent {
			lats = append(lats, now.Sub(time.Unix(0, sent)))
		}
		st.seen.Add(int64(pg.items))
		cursor = pg.next
	}
}

// progress writes a line each second until ctx ends.
func progress(ctx context.Context, w io.Writer, start time.Time, st *stats) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastPub, lastSeen int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pub, seen := st.published.Load(), st.seen.Load()
		fmt.Fprintf(w, "bench: %3.0fs  %7d publishes/s  %8d copies read/s  %d published  %d errors\n",
			time.Since(start).Seconds(), pub-lastPub, seen-lastSeen, pub, st.errors.Load())
		lastPub, lastSeen = pub, seen
	}
}
