package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func okRead(string, []byte) error { return nil }

// Fetches beyond the overall or per-host limit fail at once with ErrBusy,
// without reaching the host; slots free up when fetches end.
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

	f := NewFetcher(NewClient(Policy{AllowPrivate: true}, ClientOptions{}), FetchLimits{MaxConcurrent: 3, MaxPerHost: 2})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	start := func(u string) {
		arrived.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.Fetch(ctx, u+"/doc", "", 100, okRead)
		}()
	}
	start(hosts[0])
	start(hosts[0])
	start(hosts[1])
	arrived.Wait() // three fetches are at the server

	for _, tt := range []struct{ url, why string }{
		{hosts[0] + "/x", "host limit"},
		{hosts[1] + "/x", "overall limit"},
	} {
		if err := f.Fetch(ctx, tt.url, "", 100, okRead); !errors.Is(err, ErrBusy) {
			t.Errorf("%s: %v, want ErrBusy", tt.why, err)
		}
	}
	if g := gets.Load(); g != 3 {
		t.Errorf("%d GETs reached the server, want 3", g)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	arrived.Add(1)
	if err := f.Fetch(ctx, hosts[0]+"/again", "", 100, okRead); err != nil {
		t.Fatalf("after the fetches ended: %v", err)
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

// A host that failed HostMaxFailures times (any failure: status, size,
// the read function) is refused without traffic until its window ends,
// also under another name for the same address.
func TestFetcherHostFailures(t *testing.T) {
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/big":
			_, _ = io.WriteString(w, "0123456789")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	f := NewFetcher(NewClient(Policy{AllowPrivate: true}, ClientOptions{}),
		FetchLimits{HostMaxFailures: 3, HostFailureWindow: time.Minute, Now: clk.Now})
	ctx := context.Background()
	bad := errors.New("unusable")

	var se *StatusError
	if err := f.Fetch(ctx, srv.URL+"/404", "", 5, okRead); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("404: %v", err)
	}
	if err := f.Fetch(ctx, srv.URL+"/big", "", 5, okRead); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("big: %v", err)
	}
	if err := f.Fetch(ctx, srv.URL+"/doc", "", 5, func(string, []byte) error { return bad }); !errors.Is(err, bad) {
		t.Fatalf("read error: %v", err)
	}
	before := gets.Load()
	if err := f.Fetch(ctx, srv.URL+"/doc", "", 5, okRead); !errors.Is(err, ErrHostFailing) {
		t.Fatalf("after 3 failures: %v, want ErrHostFailing", err)
	}
	if gets.Load() != before {
		t.Fatal("a failing host was asked again")
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
