package notify

import (
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/ldp"
)

// The legacy solid-0.1 WebSocket protocol, for older clients (SolidOS,
// mashlib): the Updates-Via header names one WebSocket per server; a client
// sends "sub <url>" and gets "ack <url>", then "pub <url>" whenever the
// resource, or a member of the container, changes. Subscriptions are
// anonymous, so only publicly readable resources can be watched; public
// read is checked on "sub" and before every "pub". Errors are
// "err <url> <reason>".

// legacyConn is a solid-0.1 connection. subs (storage path -> the URL as
// the client sent it) is guarded by Notifier.mu.
type legacyConn struct {
	*wsConn
	subs map[string]string
}

// serveLegacy serves the solid-0.1 WebSocket.
func (n *Notifier) serveLegacy(c *gin.Context) error {
	if c.Request.Method != http.MethodGet {
		return errMethod("GET")
	}
	if !isUpgrade(c.Request) {
		return errNotWebSocket
	}
	ws, nc, err := accept(c, []string{"solid-0.1"})
	if err != nil {
		return err
	}
	conn := &legacyConn{wsConn: newWSConn(ws, nc, n.cfg.ConnQueue), subs: make(map[string]string)}
	conn.send([]byte("protocol solid-0.1"))
	n.conns.Add(1)
	go func() {
		defer n.conns.Done()
		defer ws.CloseNow()
		defer n.unsubscribeAll(conn)
		n.legacyLoop(conn)
	}()
	return nil
}

// legacyLoop reads a solid-0.1 client's commands until it goes away.
func (n *Notifier) legacyLoop(conn *legacyConn) {
	for {
		typ, b, err := conn.ws.Read(n.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		arg = strings.TrimSpace(arg)
		switch cmd {
		case "sub":
			n.legacySub(conn, arg)
		case "unsub":
			n.legacyUnsub(conn, arg)
		default:
			conn.send([]byte("err " + cmd + " unknown command (use sub <url>)"))
		}
	}
}

// legacyPath resolves a subscribed URL (absolute, or a path on the
// server's host) to a storage path.
func (n *Notifier) legacyPath(u string) (pod, p string, ok bool) {
	abs := u
	if strings.HasPrefix(u, "/") {
		abs = n.cfg.URLs.Base() + u
	}
	pod, rel, ok := n.cfg.URLs.PodOfURL(abs)
	if !ok || ldp.CleanPath(rel) != nil {
		return "", "", false
	}
	return pod, ldp.StoragePath(pod, rel), true
}

func (n *Notifier) legacySub(conn *legacyConn, u string) {
	pod, p, ok := n.legacyPath(u)
	if !ok {
		conn.send([]byte("err " + u + " not a resource of this server"))
		return
	}
	if n.authorize(n.ctx, ldp.Principal{}, "", pod, n.cfg.URLs.PodRoot(pod), p, acl.Read) != nil {
		conn.send([]byte("err " + u + " forbidden"))
		return
	}
	n.mu.Lock()
	_, already := conn.subs[p]
	if !already && len(conn.subs) >= maxLegacySubs {
		n.mu.Unlock()
		conn.send([]byte("err " + u + " too many subscriptions"))
		return
	}
	conn.subs[p] = u
	if !already {
		n.legacy[p] = append(n.legacy[p][:len(n.legacy[p]):len(n.legacy[p])], conn)
	}
	n.mu.Unlock()
	conn.send([]byte("ack " + u))
}

func (n *Notifier) legacyUnsub(conn *legacyConn, u string) {
	_, p, ok := n.legacyPath(u)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, found := conn.subs[p]; found {
		delete(conn.subs, p)
		n.dropLegacyLocked(p, conn)
	}
}

func (n *Notifier) unsubscribeAll(conn *legacyConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for p := range conn.subs {
		n.dropLegacyLocked(p, conn)
	}
	clear(conn.subs)
}

// dropLegacyLocked removes conn from the index of p; n.mu is held.
func (n *Notifier) dropLegacyLocked(p string, conn *legacyConn) {
	var keep []*legacyConn
	for _, c := range n.legacy[p] {
		if c != conn {
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		delete(n.legacy, p)
	} else {
		n.legacy[p] = keep
	}
}

// publishLegacy sends "pub" to the connections subscribed to p, when p is
// publicly readable.
func (n *Notifier) publishLegacy(conns []*legacyConn, p, root string) {
	pod, _ := ldp.SplitStoragePath(p)
	if n.authorize(n.ctx, ldp.Principal{}, "", pod, root, p, acl.Read) != nil {
		return
	}
	msgs := make([][]byte, len(conns))
	n.mu.RLock()
	for i, c := range conns {
		if u, ok := c.subs[p]; ok {
			msgs[i] = []byte("pub " + u)
		}
	}
	n.mu.RUnlock()
	for i, c := range conns {
		if msgs[i] != nil {
			c.send(msgs[i])
		}
	}
}
