package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
)

// The legacy solid-0.1 WebSocket protocol, for older clients (SolidOS,
// mashlib): the Updates-Via header names one WebSocket per server. The
// messages, one per WebSocket text message:
//
//	client: auth <credential>   the connection acts as the credential's agent
//	server: ack auth <WebID>    (or err auth <reason>)
//	client: sub <url>           watch a resource, or a container's members
//	server: ack <url>           (or err <url> <reason>)
//	client: unsub <url>         stop watching (no answer)
//	server: pub <url>           the resource, or a member of the container, changed
//
// A connection starts anonymous, and then watches only what everyone may
// read. After "auth" with an API key (an access token once Solid-OIDC is
// built) it watches what that key's agent may read. Read access is checked
// on "sub", with the connection's agent at that moment, and again before
// every "pub", so revoking access, or the key, stops the pubs. An "auth"
// that fails leaves the connection anonymous; after maxLegacyAuthFailures
// failures the server closes it (1008). A "sub" refused gets
// "err <url> forbidden" whether or not the resource exists: the answer
// depends only on the access rules, so it tells nothing of what the agent
// may not read.

// legacyConn is a solid-0.1 connection. subs (storage path -> the URL as
// the client sent it) and pr are guarded by Notifier.mu; origin is
// immutable.
type legacyConn struct {
	*wsConn
	subs   map[string]string
	pr     ldp.Principal
	origin string
}

// maxLegacyAuthFailures is the number of failed "auth" messages after which
// a solid-0.1 connection is closed.
const maxLegacyAuthFailures = 5

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
	conn := &legacyConn{wsConn: newWSConn(ws, nc, n.cfg.ConnQueue), subs: make(map[string]string), origin: c.GetHeader("Origin")}
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
	failures := 0
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
		case "auth":
			if !n.legacyAuth(conn, arg) {
				if failures++; failures >= maxLegacyAuthFailures {
					conn.ws.Close(websocket.StatusPolicyViolation, "too many failed auth messages")
					return
				}
			}
		case "sub":
			n.legacySub(conn, arg)
		case "unsub":
			n.legacyUnsub(conn, arg)
		default:
			conn.send([]byte("err " + cmd + " unknown command (use auth <credential>, sub <url>, unsub <url>)"))
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
	n.mu.RLock()
	pr := conn.pr
	n.mu.RUnlock()
	if !n.legacyCanRead(n.ctx, pr, conn.origin, pod, n.cfg.URLs.PodRoot(pod), p) {
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

// publishLegacy sends "pub" to the connections subscribed to p whose
// agent may read p (anonymous connections: when p is publicly readable).
// Access is checked once per distinct agent.
func (n *Notifier) publishLegacy(conns []*legacyConn, p, root string) {
	pod, _ := ldp.SplitStoragePath(p)
	msgs := make([][]byte, len(conns))
	prs := make([]ldp.Principal, len(conns))
	n.mu.RLock()
	for i, c := range conns {
		if u, ok := c.subs[p]; ok {
			msgs[i] = []byte("pub " + u)
			prs[i] = c.pr
		}
	}
	n.mu.RUnlock()
	allowed := make(map[string]bool)
	for i, c := range conns {
		if msgs[i] == nil {
			continue
		}
		k := legacyPrincipalKey(prs[i], c.origin)
		ok, found := allowed[k]
		if !found {
			ok = n.legacyCanRead(n.ctx, prs[i], c.origin, pod, root, p)
			allowed[k] = ok
		}
		if ok {
			c.send(msgs[i])
		}
	}
}

// legacyAuth handles "auth <credential>": on success the connection acts as
// the credential's agent from now on. A failure leaves it anonymous. It
// reports whether the credential was accepted.
func (n *Notifier) legacyAuth(conn *legacyConn, credential string) bool {
	var pr ldp.Principal
	var err error
	if credential == "" {
		err = acl.ErrInvalidKey
	} else {
		pr, err = n.host.Authenticate(n.ctx, credential)
	}
	if err == nil && pr.Anonymous() {
		err = acl.ErrInvalidKey
	}
	if err != nil {
		pr = ldp.Principal{}
	}
	n.mu.Lock()
	conn.pr = pr
	n.mu.Unlock()
	switch {
	case err == nil:
		conn.send([]byte("ack auth " + pr.Agent))
		return true
	case errors.Is(err, acl.ErrInvalidKey):
		conn.send([]byte("err auth invalid credential (the connection is anonymous)"))
	default:
		n.log.Error("solid-0.1 authentication failed", "err", err)
		conn.send([]byte("err auth cannot check the credential now (the connection is anonymous)"))
	}
	return false
}

// legacyCanRead reports whether pr, a solid-0.1 connection's agent, may read
// storage path p of pod: Read access, and for an agent of an API key, the
// key still exists.
func (n *Notifier) legacyCanRead(ctx context.Context, pr ldp.Principal, origin, pod, root, p string) bool {
	if pr.KeyID != "" {
		ok, err := n.host.CredentialActive(ctx, pr)
		if err != nil {
			n.log.Error("solid-0.1: cannot check the key", "err", err)
		}
		if !ok {
			return false
		}
	}
	err := n.authorize(ctx, pr, origin, pod, root, p, acl.Read)
	if err != nil && apierr.Status(err) >= 500 {
		n.log.Error("solid-0.1 access check failed", "path", p, "err", err)
	}
	return err == nil
}

// legacyPrincipalKey identifies what a solid-0.1 connection's access depends
// on.
func legacyPrincipalKey(pr ldp.Principal, origin string) string {
	owner := "0"
	if pr.Owner {
		owner = "1"
	}
	return strings.Join([]string{pr.Agent, pr.Pod, pr.App, pr.KeyID, owner, origin}, "\x00")
}
