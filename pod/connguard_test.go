package pod

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// guardServer serves "ok" (or blocks on /block until release is closed)
// behind a connGuard with the given bounds.
func guardServer(t *testing.T, max, perIP int) (addr string, g *connGuard, release chan struct{}, refused, evicted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused, evicted = new(atomic.Int64), new(atomic.Int64)
	g = newConnGuard(ln, max, perIP, func() { refused.Add(1) }, func() { evicted.Add(1) })
	release = make(chan struct{})
	srv := &http.Server{ConnState: g.connState, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = srv.Serve(g) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), g, release, refused, evicted
}

// keepAlive opens a connection and makes one GET on it, leaving it open
// (idle, kept alive).
func keepAlive(t *testing.T, addr, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if path == "/block" {
		return c, br
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c, br
}

// closedByServer reports whether the server closed c (a read gives EOF or
// a reset within a second).
func closedByServer(c net.Conn, br *bufio.Reader) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// waitIdle waits until the guard sees n idle connections.
func waitIdle(t *testing.T, g *connGuard, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		g.mu.Lock()
		got := len(g.idle)
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnGuardEvictsIdle: at a bound, a new connection is served and the
// oldest idle keep-alive connection is closed to make room.
func TestConnGuardEvictsIdle(t *testing.T) {
	for _, tc := range []struct {
		name       string
		max, perIP int
	}{
		{"total", 2, -1},
		{"per address", -1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, g, _, refused, evicted := guardServer(t, tc.max, tc.perIP)
			c1, b1 := keepAlive(t, addr, "/")
			waitIdle(t, g, 1)
			c2, b2 := keepAlive(t, addr, "/")
			waitIdle(t, g, 2)
			keepAlive(t, addr, "/") // served: room was made
			if !closedByServer(c1, b1) {
				t.Error("the oldest idle connection stayed open")
			}
			if closedByServer(c2, b2) {
				t.Error("the newer idle connection was closed too")
			}
			if evicted.Load() != 1 || refused.Load() != 0 {
				t.Errorf("evicted %d, refused %d; want 1, 0", evicted.Load(), refused.Load())
			}
			if n := g.open(); n != 2 {
				t.Errorf("%d connections counted, want 2", n)
			}
		})
	}
}

// TestConnGuardRefusesWhenBusy: at a bound with no idle connection, the
// new connection is closed at once and the busy ones finish.
func TestConnGuardRefusesWhenBusy(t *testing.T) {
	addr, g, release, refused, evicted := guardServer(t, 2, -1)
	c1, b1 := keepAlive(t, addr, "/block")
	c2, b2 := keepAlive(t, addr, "/block")
	for deadline := time.Now().Add(5 * time.Second); g.open() != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections counted, want 2", g.open())
		}
		time.Sleep(5 * time.Millisecond)
	}
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	_, _ = io.WriteString(c3, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if !closedByServer(c3, bufio.NewReader(c3)) {
		t.Error("a connection past the bound was not closed")
	}
	close(release)
	for _, x := range []struct {
		c  net.Conn
		br *bufio.Reader
	}{{c1, b1}, {c2, b2}} {
		_ = x.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(x.br, nil)
		if err != nil {
			t.Fatalf("busy request: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("busy request answered %q", body)
		}
	}
	if refused.Load() != 1 || evicted.Load() != 0 {
		t.Errorf("refused %d, evicted %d; want 1, 0", refused.Load(), evicted.Load())
	}
}
