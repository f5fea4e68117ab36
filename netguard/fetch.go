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
	DefaultHostMaxFailures      = 5
	DefaultHostFailureWindow    = time.Minute
	DefaultMaxTrackedHosts      = 4096
)

// FetchLimits bound the documents a request can make the server fetch.
// Zero values mean the defaults.
type FetchLimits struct {
	// MaxConcurrent bounds the fetches (and the reading of their bodies)
	// in progress at once, over all hosts. A fetch beyond it fails at once
	// with ErrBusy: waiting in line would let a flood of requests pile up.
	MaxConcurrent int
	// MaxPerHost bounds the fetches in progress to one host; beyond it,
	// ErrBusy.
	MaxPerHost int
	// HostMaxFailures is how many failed fetches from one host (by name,
	// and by the address dialled) within HostFailureWindow make the
	// Fetcher refuse further fetches from it with ErrHostFailing until
	// the window ends. A failure is anything but a 2xx response whose body
	// the read function accepts. Negative: no failure memory.
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
// within FetchLimits: bounded concurrency overall and per host, failing
// fast when saturated; a memory of failing hosts; bounded body size. Every
// fetch a request can trigger goes through one shared Fetcher, so the
// bounds hold for all of them together. It is safe for concurrent use.
type Fetcher struct {
	client *http.Client
	lim    FetchLimits
	slots  chan struct{}

	mu       sync.Mutex
	perHost  map[string]int
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
		slots:    make(chan struct{}, lim.MaxConcurrent),
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
// concurrency slot, so parsing the body is bounded by the same limits, and
// an error it returns counts as a failure of the host, as do transport
// errors and non-2xx statuses (a *StatusError). Fetch returns read's error
// unchanged, and wraps its own causes; it fails with ErrBusy when the
// limits are reached and with ErrHostFailing when the host failed too
// often lately, both without any network traffic.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, accept string, maxBytes int64, read func(contentType string, body []byte) error) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if err := checkURL(u); err != nil {
		return err
	}
	host := "host:" + strings.ToLower(u.Host)
	release, err := f.acquire(host)
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
	err = f.do(ctx, rawURL, accept, maxBytes, read)
	f.mu.Lock()
	blocked := addr != "" && f.failingLocked(addr)
	f.mu.Unlock()
	if err != nil && blocked && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = fmt.Errorf("%w: %s", ErrHostFailing, addr)
	}
	if err != nil && !errors.Is(err, ErrHostFailing) && !errors.Is(parent.Err(), context.Canceled) {
		// The caller giving up is not the host's fault; everything else,
		// a timeout included, is.
		f.fail(host, addr)
	}
	return err
}

// do is the request of Fetch.
func (f *Fetcher) do(ctx context.Context, rawURL, accept string, maxBytes int64, read func(contentType string, body []byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("netguard: GET: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		resp.Body.Close()
		return &StatusError{URL: rawURL, StatusCode: resp.StatusCode}
	}
	body, err := ReadLimited(resp, maxBytes)
	if err != nil {
		return err
	}
	return read(resp.Header.Get("Content-Type"), body)
}

// acquire takes a global and a per-host slot, or fails with ErrBusy or
// ErrHostFailing.
func (f *Fetcher) acquire(host string) (release func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failingLocked(host) {
		return nil, fmt.Errorf("%w: %s", ErrHostFailing, strings.TrimPrefix(host, "host:"))
	}
	if f.perHost[host] >= f.lim.MaxPerHost {
		return nil, fmt.Errorf("%w: %d fetches from %s in progress", ErrBusy, f.perHost[host], strings.TrimPrefix(host, "host:"))
	}
	select {
	case f.slots <- struct{}{}:
	default:
		return nil, fmt.Errorf("%w: %d fetches in progress", ErrBusy, cap(f.slots))
	}
	f.perHost[host]++
	return func() {
		f.mu.Lock()
		if f.perHost[host]--; f.perHost[host] <= 0 {
			delete(f.perHost, host)
		}
		f.mu.Unlock()
		<-f.slots
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
