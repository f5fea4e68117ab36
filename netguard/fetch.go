package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of FetchLimits.
const (
	DefaultMaxConcurrentFetches = 8
	DefaultMaxFetchesPerHost    = 2
	DefaultMaxWaitingFetches    = 256
	DefaultMaxFetchWait         = 10 * time.Second
	DefaultHostMaxFailures      = 5
	DefaultHostFailureWindow    = time.Minute
	DefaultMaxTrackedHosts      = 4096
)

// hostAnswerTime is how long a host must have had to answer before a
// fetch cut off by the caller's deadline counts as the host's failure.
const hostAnswerTime = 5 * time.Second

// FetchLimits bound the documents a request can make the server fetch.
// Zero values mean the defaults.
type FetchLimits struct {
	// MaxConcurrent bounds the fetches (and the reading of their bodies)
	// in progress at once, over all hosts. A fetch beyond it waits for a
	// slot as long as its context allows.
	MaxConcurrent int
	// MaxPerHost bounds the fetches in progress to one host; beyond it, a
	// fetch waits.
	MaxPerHost int
	// MaxWait bounds how long a fetch waits for a slot, whatever its
	// context allows; then it fails with ErrBusy.
	MaxWait time.Duration
	// MaxWaiting bounds the fetches waiting for a slot; one more fails at
	// once with ErrBusy, so a flood of requests cannot pile up behind the
	// limits.
	MaxWaiting int
	// HostMaxFailures is how many failed fetches from one host (by name,
	// and by the address dialled) within HostFailureWindow make the
	// Fetcher refuse further fetches from it with ErrHostFailing until
	// the window ends. Only a host that gave no answer counts: a failed
	// connection, or no response within the time it had (at least
	// hostAnswerTime when the caller's deadline ended the wait). Any HTTP
	// answer, whatever its status or body, shows the host is up, and the
	// URL may have been chosen by whoever triggered the fetch. Negative:
	// no failure memory.
	HostMaxFailures int
	// HostFailureWindow is the window of HostMaxFailures.
	HostFailureWindow time.Duration
	// MaxTrackedHosts bounds the hosts and addresses the failure memory
	// holds; when full, expired windows are dropped first, then the new
	// failure counts against one shared overflow entry (so a flood of
	// names cannot evade it by growing the memory).
	MaxTrackedHosts int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Fetcher GETs documents that outside input named (WebID profiles, JWKS)
// within FetchLimits: bounded concurrency overall and per host (a fetch
// beyond them waits in a bounded line), a memory of hosts that do not
// answer, bounded body size. Every fetch of one kind of trigger goes
// through one shared Fetcher, so the bounds hold for all of them together;
// fetches that unauthenticated requests trigger should not share a
// Fetcher with the server's own work (deliveries), so they can neither use
// up its slots nor make it refuse a host. It is safe for concurrent use.
type Fetcher struct {
	client *http.Client
	lim    FetchLimits

	mu       sync.Mutex
	inUse    int                    // fetches holding a slot
	waiting  int                    // fetches waiting for one
	freed    chan struct{}          // closed (and replaced) when a slot frees
	perHost  map[string]int         // fetches in progress by "host:" + name
	failures map[string]*failWindow // "host:" + name or "addr:" + ip:port
}

// failWindow counts failures since start.
type failWindow struct {
	start time.Time
	n     int
}

// overflowKey is the failure entry shared by hosts that find the memory full.
const overflowKey = "overflow"

// NewFetcher returns a Fetcher making its requests with client, which
// should come from NewClient (it enforces the address policy, timeouts
// and redirects).
func NewFetcher(client *http.Client, lim FetchLimits) *Fetcher {
	if lim.MaxConcurrent <= 0 {
		lim.MaxConcurrent = DefaultMaxConcurrentFetches
	}
	if lim.MaxPerHost <= 0 {
		lim.MaxPerHost = DefaultMaxFetchesPerHost
	}
	if lim.MaxWait <= 0 {
		lim.MaxWait = DefaultMaxFetchWait
	}
	if lim.MaxWaiting <= 0 {
		lim.MaxWaiting = DefaultMaxWaitingFetches
	}
	if lim.HostMaxFailures == 0 {
		lim.HostMaxFailures = DefaultHostMaxFailures
	}
	if lim.HostFailureWindow <= 0 {
		lim.HostFailureWindow = DefaultHostFailureWindow
	}
	if lim.MaxTrackedHosts <= 0 {
		lim.MaxTrackedHosts = DefaultMaxTrackedHosts
	}
	if lim.Now == nil {
		lim.Now = time.Now
	}
	return &Fetcher{
		client:   client,
		lim:      lim,
		freed:    make(chan struct{}),
		perHost:  map[string]int{},
		failures: map[string]*failWindow{},
	}
}

// StatusError is the cause of a fetch that got a non-2xx response.
type StatusError struct {
	// URL is the document requested.
	URL string
	// StatusCode is the status it answered with.
	StatusCode int
}

// Error says which URL answered which status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: status %d", e.URL, e.StatusCode)
}

// Fetch GETs rawURL with the given Accept header, reads at most maxBytes
// of its body (more fails with ErrResponseTooLarge) and calls read with
// the response's Content-Type and the body. read runs within the fetch's
// concurrency slot, so parsing the body is bounded by the same limits.
// A fetch beyond the limits waits for a slot until ctx ends or MaxWait
// passes (then ErrBusy), or fails with ErrBusy at once when MaxWaiting
// fetches wait already. Fetch returns read's error unchanged, a *StatusError for a
// non-2xx status, and wraps its other causes; it fails with ErrHostFailing
// without any network traffic when the host gave no answer too often
// lately.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, accept string, maxBytes int64, read func(contentType string, body []byte) error) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if err := checkURL(u); err != nil {
		return err
	}
	host := "host:" + strings.ToLower(u.Host)
	release, err := f.acquire(ctx, host)
	if err != nil {
		return err
	}
	defer release()

	var addr string
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			// A name is cheap to make up; the address it leads to is
			// not. Refuse an address that failed too often, whatever
			// name led to it.
			a := "addr:" + info.Conn.RemoteAddr().String()
			f.mu.Lock()
			addr = a
			failing := f.failingLocked(a)
			f.mu.Unlock()
			if failing {
				cancel()
			}
		},
	})
	started := f.lim.Now()
	answered, err := f.do(ctx, rawURL, accept, maxBytes, read)
	f.mu.Lock()
	blocked := addr != "" && f.failingLocked(addr)
	f.mu.Unlock()
	if err != nil && blocked && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("%w: %s", ErrHostFailing, addr)
	}
	if err != nil && !answered && f.hostsFault(parent, started) {
		f.fail(host, addr)
	}
	return err
}

// hostsFault reports whether a fetch started at started that got no
// answer is the host's failure: not when the caller gave up, nor when the
// caller's deadline left the host less than hostAnswerTime.
func (f *Fetcher) hostsFault(ctx context.Context, started time.Time) bool {
	switch ctx.Err() {
	case nil:
		return true
	case context.DeadlineExceeded:
		return f.lim.Now().Sub(started) >= hostAnswerTime
	}
	return false
}

// do is the request of Fetch; answered reports whether the host sent a
// response (whatever became of it).
func (f *Fetcher) do(ctx context.Context, rawURL, accept string, maxBytes int64, read func(contentType string, body []byte) error) (answered bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("netguard: GET: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		resp.Body.Close()
		return true, &StatusError{URL: rawURL, StatusCode: resp.StatusCode}
	}
	body, err := ReadLimited(resp, maxBytes)
	if err != nil {
		return true, err
	}
	return true, read(resp.Header.Get("Content-Type"), body)
}

// acquire takes a global and a per-host slot, waiting for them until ctx
// ends or MaxWait passes, or fails with ErrBusy or ErrHostFailing.
func (f *Fetcher) acquire(ctx context.Context, host string) (release func(), err error) {
	name := strings.TrimPrefix(host, "host:")
	ctx, cancel := context.WithTimeout(ctx, f.lim.MaxWait)
	defer cancel()
	f.mu.Lock()
	for {
		if f.failingLocked(host) {
			f.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrHostFailing, name)
		}
		if f.perHost[host] < f.lim.MaxPerHost && f.inUse < f.lim.MaxConcurrent {
			break
		}
		if f.waiting >= f.lim.MaxWaiting {
			f.mu.Unlock()
			return nil, fmt.Errorf("%w: %d fetches in progress, %d waiting", ErrBusy, f.lim.MaxConcurrent, f.waiting)
		}
		freed := f.freed
		f.waiting++
		f.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			f.mu.Lock()
			f.waiting--
			n := f.perHost[host]
			f.mu.Unlock()
			return nil, fmt.Errorf("%w: gave up waiting (%d fetches from %s in progress): %w", ErrBusy, n, name, ctx.Err())
		}
		f.mu.Lock()
		f.waiting--
	}
	f.inUse++
	f.perHost[host]++
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.inUse--
		if f.perHost[host]--; f.perHost[host] <= 0 {
			delete(f.perHost, host)
		}
		close(f.freed) // wake the waiters: one of them may go now
		f.freed = make(chan struct{})
		f.mu.Unlock()
	}, nil
}

// failingLocked reports whether key failed HostMaxFailures times in its
// current window. f.mu must be held.
func (f *Fetcher) failingLocked(key string) bool {
	if f.lim.HostMaxFailures < 0 {
		return false
	}
	now := f.lim.Now()
	for _, k := range []string{key, overflowKey} {
		if w := f.failures[k]; w != nil && now.Sub(w.start) < f.lim.HostFailureWindow && w.n >= f.lim.HostMaxFailures {
			// The overflow entry only stands for unknown keys.
			if k == key || f.failures[key] == nil {
				return true
			}
		}
	}
	return false
}

// fail counts a failure against each non-empty key.
func (f *Fetcher) fail(keys ...string) {
	if f.lim.HostMaxFailures < 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.lim.Now()
	for _, k := range keys {
		if k == "" {
			continue
		}
		w := f.failures[k]
		if w == nil {
			if len(f.failures) >= f.lim.MaxTrackedHosts {
				f.pruneLocked(now)
			}
			if len(f.failures) >= f.lim.MaxTrackedHosts {
				k = overflowKey
				w = f.failures[k]
			}
		}
		if w == nil || now.Sub(w.start) >= f.lim.HostFailureWindow {
			w = &failWindow{start: now}
			f.failures[k] = w
		}
		w.n++
	}
}

// pruneLocked drops the failure windows that ended. f.mu must be held.
func (f *Fetcher) pruneLocked(now time.Time) {
	for k, w := range f.failures {
		if now.Sub(w.start) >= f.lim.HostFailureWindow {
			delete(f.failures, k)
		}
	}
}
