package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func okRead(string, []byte) error { return nil }

// Fetches beyond the overall or per-host limit wait for a slot as long as
// their context allows, without reaching the host meanwhile; beyond
// MaxWaiting waiters, a fetch fails at once with ErrBusy.
func TestFetcherConcurrency(t *testing.T) {
	gate := make(chan struct{})
	var arrived sync.WaitGroup
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		arrived.Done()
		<-gate
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	hosts := []string{srv.URL, "http://localhost:" + port} // two host names, one server

	f := NewFetcher(NewClient(Policy{AllowPrivate: true}, ClientOptions{}), FetchLimits{MaxConcurrent: 3, MaxPerHost: 2, MaxWaiting: 1})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	start := func(u string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.Fetch(ctx, u+"/doc", "", 100, okRead)
		}()
	}
	arrived.Add(3)
	start(hosts[0])
	start(hosts[0])
	start(hosts[1])
	arrived.Wait() // three fetches are at the server

	// A caller that will not wait gets ErrBusy.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for _, tt := range []struct{ url, why string }{
		{hosts[0] + "/x", "host limit"},
		{hosts[1] + "/x", "overall limit"},
	} {
		if err := f.Fetch(gone, tt.url, "", 100, okRead); !errors.Is(err, ErrBusy) {
			t.Errorf("%s: %v, want ErrBusy", tt.why, err)
		}
	}
	// MaxWait bounds the wait of a caller that would wait longer.
	impatient := NewFetcher(f.client, FetchLimits{MaxConcurrent: 1, MaxWait: time.Millisecond})
	impatient.inUse = 1 // as if a fetch were in progress
	if err := impatient.Fetch(ctx, hosts[0]+"/z", "", 100, okRead); !errors.Is(err, ErrBusy) {
		t.Errorf("past MaxWait: %v, want ErrBusy", err)
	}
	// One caller waits; with MaxWaiting 1 the next one is refused at once.
	arrived.Add(1)
	start(hosts[1])
	for waiting := 0; waiting == 0; {
		f.mu.Lock()
		waiting = f.waiting
		f.mu.Unlock()
		runtime.Gosched()
	}
	if err := f.Fetch(ctx, hosts[0]+"/y", "", 100, okRead); !errors.Is(err, ErrBusy) {
		t.Errorf("beyond MaxWaiting: %v, want ErrBusy", err)
	}
	if g := gets.Load(); g != 3 {
		t.Errorf("%d GETs reached the server, want 3", g)
	}
	close(gate) // the waiting fetch goes on
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if g := gets.Load(); g != 4 {
		t.Errorf("%d GETs reached the server, want 4 (the waiting one too)", g)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Any HTTP answer (an error status, a body too large, a body the read
// function refuses) shows the host is up: however many, it never makes the
// Fetcher refuse the host, since whoever triggered the fetch may have
// chosen the URL to get the host refused.
func TestFetcherAnswersAreNotHostFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "/big":
			_, _ = io.WriteString(w, "0123456789")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	f := NewFetcher(NewClient(Policy{AllowPrivate: true}, ClientOptions{}), FetchLimits{HostMaxFailures: 2})
	ctx := context.Background()
	bad := errors.New("unusable")
	for i := range 5 {
		var se *StatusError
		if err := f.Fetch(ctx, srv.URL+"/404", "", 5, okRead); !errors.As(err, &se) || se.StatusCode != 404 {
			t.Fatalf("404 #%d: %v", i, err)
		}
		if err := f.Fetch(ctx, srv.URL+"/500", "", 5, okRead); !errors.As(err, &se) || se.StatusCode != 500 {
			t.Fatalf("500 #%d: %v", i, err)
		}
		if err := f.Fetch(ctx, srv.URL+"/big", "", 5, okRead); !errors.Is(err, ErrResponseTooLarge) {
			t.Fatalf("big #%d: %v", i, err)
		}
		if err := f.Fetch(ctx, srv.URL+"/doc", "", 5, func(string, []byte) error { return bad }); !errors.Is(err, bad) {
			t.Fatalf("read error #%d: %v", i, err)
		}
	}
	if err := f.Fetch(ctx, srv.URL+"/doc", "", 5, okRead); err != nil {
		t.Fatalf("after 20 answered failures: %v, want the document", err)
	}
}

// A host that gave no answer HostMaxFailures times (connection refused,
// no response in time) is refused without traffic until its window ends,
// also under another name for the same address; a fetch its caller cut
// short does not count.
func TestFetcherHostFailures(t *testing.T) {
	var gets atomic.Int64
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.URL.Path == "/hang" {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(hang)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	lim := FetchLimits{HostMaxFailures: 2, HostFailureWindow: time.Minute, Now: clk.Now}
	f := NewFetcher(NewClient(Policy{AllowPrivate: true}, ClientOptions{Timeout: 50 * time.Millisecond}), lim)
	ctx := context.Background()

	// A caller whose deadline cut the wait short: not the host's fault.
	for range 3 {
		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		_ = f.Fetch(short, srv.URL+"/hang", "", 5, okRead)
		cancel()
	}
	if err := f.Fetch(ctx, srv.URL+"/doc", "", 5, okRead); err != nil {
		t.Fatalf("after fetches cut short by their callers: %v", err)
	}

	for _, tt := range []struct{ name, url string }{
		{"connection refused", closed.URL},
		{"no answer in time", srv.URL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 {
				if err := f.Fetch(ctx, tt.url+"/hang", "", 5, okRead); err == nil || errors.Is(err, ErrHostFailing) {
					t.Fatalf("fetch: %v, want a transport error", err)
				}
			}
			before := gets.Load()
			if err := f.Fetch(ctx, tt.url+"/doc", "", 5, okRead); !errors.Is(err, ErrHostFailing) {
				t.Fatalf("after 2 failures: %v, want ErrHostFailing", err)
			}
			if gets.Load() != before {
				t.Fatal("a failing host was asked again")
			}
		})
	}
	// Another name for the same address is refused once connected.
	if err := f.Fetch(ctx, "http://localhost:"+port+"/doc", "", 5, okRead); !errors.Is(err, ErrHostFailing) {
		t.Fatalf("another name for the failing address: %v, want ErrHostFailing", err)
	}
	clk.advance(time.Minute)
	if err := f.Fetch(ctx, srv.URL+"/doc", "", 5, okRead); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// When the failure memory is full, new hosts share one entry, so a flood
// of names cannot grow it or escape it.
func TestFetcherFailureMemoryFull(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	f := NewFetcher(nil, FetchLimits{HostMaxFailures: 2, MaxTrackedHosts: 4, Now: clk.Now})
	for i := range 10 {
		f.fail("host:h" + string(rune('a'+i)))
	}
	f.mu.Lock()
	n, unknown, known := len(f.failures), f.failingLocked("host:new"), f.failingLocked("host:ha")
	f.mu.Unlock()
	if n > 5 || !unknown || known {
		t.Fatalf("%d entries, unknown host failing %v, ha failing %v; want <= 5, true, false", n, unknown, known)
	}
	clk.advance(DefaultHostFailureWindow)
	f.mu.Lock()
	unknown = f.failingLocked("host:new")
	f.mu.Unlock()
	if unknown {
		t.Fatal("the shared entry outlived its window")
	}
}
