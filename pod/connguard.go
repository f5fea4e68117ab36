package pod

import (
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// connGuard bounds the connections the server holds: at most max in all
// and perIP from one client address. Idle keep-alive connections cost a
// file descriptor each while doing nothing, so a client that holds
// thousands of them would otherwise use up the process's descriptors and
// leave the server unable to accept anyone. When a new connection would go
// past a bound, the guard closes the oldest idle connection in its way
// (the client's own, for the per-address bound) to make room; when none is
// idle, it closes the new connection at once, so the client learns
// quickly instead of waiting in the accept queue.
//
// It wraps the listener (Accept counts, the returned conn's Close
// uncounts) and follows the http.Server's ConnState for idleness.
type connGuard struct {
	net.Listener
	max, perIP int
	onRefused  func() // called for each connection closed at accept
	onEvicted  func() // called for each idle connection closed for room

	mu    sync.Mutex
	total int
	byIP  map[string]int
	idle  map[*guardedConn]time.Time // idle since
}

// newConnGuard wraps ln; max or perIP <= 0 leaves that bound off.
func newConnGuard(ln net.Listener, max, perIP int, onRefused, onEvicted func()) *connGuard {
	return &connGuard{Listener: ln, max: max, perIP: perIP, onRefused: onRefused, onEvicted: onEvicted,
		byIP: map[string]int{}, idle: map[*guardedConn]time.Time{}}
}

// guardedConn is an accepted connection the guard counts until it closes.
type guardedConn struct {
	net.Conn
	g      *connGuard
	ip     string
	once   sync.Once
	closed bool // guarded by g.mu
}

// Close closes the connection and releases its place.
func (c *guardedConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		c.closed = true
		c.g.total--
		if c.g.byIP[c.ip]--; c.g.byIP[c.ip] <= 0 {
			delete(c.g.byIP, c.ip)
		}
		delete(c.g.idle, c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}

// Accept implements net.Listener.
func (g *connGuard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if gc, ok := g.admit(c, ip); ok {
			return gc, nil
		}
		_ = c.Close()
		if g.onRefused != nil {
			g.onRefused()
		}
	}
}

// admit counts c from ip, first closing an idle connection when a bound
// would be passed; it reports false when no room could be made.
func (g *connGuard) admit(c net.Conn, ip string) (*guardedConn, bool) {
	var evict []*guardedConn
	g.mu.Lock()
	if g.perIP > 0 && g.byIP[ip] >= g.perIP {
		v := g.oldestIdle(func(o *guardedConn) bool { return o.ip == ip }, evict)
		if v == nil {
			g.mu.Unlock()
			return nil, false
		}
		evict = append(evict, v)
	}
	if g.max > 0 && g.total-len(evict) >= g.max {
		v := g.oldestIdle(nil, evict)
		if v == nil {
			g.mu.Unlock()
			return nil, false
		}
		evict = append(evict, v)
	}
	for _, v := range evict {
		delete(g.idle, v) // not chosen again while it closes
	}
	gc := &guardedConn{Conn: c, g: g, ip: ip}
	g.total++
	g.byIP[ip]++
	g.mu.Unlock()
	for _, v := range evict {
		_ = v.Close()
		if g.onEvicted != nil {
			g.onEvicted()
		}
	}
	return gc, true
}

// oldestIdle returns the idle connection idle longest that match accepts
// (nil: any) and that is not in skip, or nil. g.mu must be held. The scan
// is linear, and runs only when a bound is reached.
func (g *connGuard) oldestIdle(match func(*guardedConn) bool, skip []*guardedConn) *guardedConn {
	var best *guardedConn
	var since time.Time
	for c, t := range g.idle {
		if (match != nil && !match(c)) || slices.Contains(skip, c) {
			continue
		}
		if best == nil || t.Before(since) {
			best, since = c, t
		}
	}
	return best
}

// connState is the http.Server's ConnState hook: it tracks which
// connections are idle between requests.
func (g *connGuard) connState(c net.Conn, st http.ConnState) {
	gc, ok := c.(*guardedConn)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if st == http.StateIdle {
		if !gc.closed {
			g.idle[gc] = time.Now()
		}
		return
	}
	delete(g.idle, gc)
}

// open returns the connections counted now.
func (g *connGuard) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// remoteIP is the client address of c without its port.
func remoteIP(c net.Conn) string {
	a := c.RemoteAddr()
	if a == nil {
		return ""
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
