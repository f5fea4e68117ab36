package notify

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/ldp"
)

// Connection limits.
const (
	// wsWriteTimeout bounds writing one message to a WebSocket.
	wsWriteTimeout = 10 * time.Second
	// wsReadLimit bounds a message a client sends (solid-0.1 "sub" lines;
	// WebSocketChannel2023 clients send nothing).
	wsReadLimit = 4096
	// wsReadBuffer and wsWriteBuffer size a connection's buffers; longer
	// messages take more system calls.
	wsReadBuffer  = 512
	wsWriteBuffer = 1024
)

// serveWebSocket serves a WebSocketChannel2023 receiveFrom URL. The URL is a
// capability: whoever has it receives what the channel's creator may read.
func (n *Notifier) serveWebSocket(c *gin.Context, r *ldp.Request, id string) error {
	ch := n.lookup(id)
	if ch == nil || ch.rec.Pod != r.Target.Pod || ch.rec.Type != TypeWebSocket {
		return errNoChannel
	}
	if c.Request.Method != http.MethodGet {
		return errMethod("GET")
	}
	if !isUpgrade(c.Request) {
		return errNotWebSocket
	}
	if !n.credentialActive(c.Request.Context(), ch) {
		return errNoChannel
	}
	if !n.canRead(&ch.rec, ch.rec.Path, r.Target.Root) {
		return errNoAccess
	}
	// The connection joins the channel before the handshake, holding what
	// it is sent until the handshake is done: the state snapshot is taken
	// before the client can see the connection open, so a change it makes
	// at once is committed after the snapshot and reaches it, after the
	// state message.
	conn := newWSConn(nil, nil, n.cfg.ConnQueue)
	if !n.join(c.Request.Context(), ch, conn) {
		return errNoChannel
	}
	ws, nc, err := accept(c, []string{NS + TypeWebSocket})
	if err != nil {
		n.removeSink(ch, conn)
		conn.drop("")
		return err
	}
	conn.attach(ws, nc)
	// The connection lives on in a goroutine of its own, started with a
	// small stack, and the HTTP handler returns: an idle connection costs
	// that goroutine and the connection's buffers, not the deep stack of
	// the handler that accepted it.
	n.conns.Add(1)
	go func() {
		defer n.conns.Done()
		defer n.removeSink(ch, conn)
		conn.readLoop(n.ctx)
	}()
	return nil
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// accept upgrades the request and returns the WebSocket and its network
// connection. The HTTP server's read and write deadlines stay on a
// hijacked connection, so they are cleared first: a WebSocket lives longer
// than any request.
func accept(c *gin.Context, protocols []string) (*websocket.Conn, net.Conn, error) {
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	hw := &hijackWriter{ResponseWriter: c.Writer}
	ws, err := websocket.Accept(hw, c.Request, &websocket.AcceptOptions{
		Subprotocols: protocols,
		// Capability URLs and API keys, never cookies, authorize these
		// connections, so any origin may open them.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		// Accept has written the response.
		return nil, nil, apierr.Wrap(http.StatusBadRequest, msgHandshake, err)
	}
	ws.SetReadLimit(wsReadLimit)
	return ws, hw.conn, nil
}

// hijackWriter keeps the connection the WebSocket library hijacks, so that
// writes can have a deadline on the connection itself instead of a context
// (and a timer and a cancellation hook) per message.
type hijackWriter struct {
	gin.ResponseWriter
	conn net.Conn
}

// Hijack also swaps the HTTP server's 4 KiB buffers for small ones: what
// flows is a notification of a few hundred bytes now and then, and ten
// thousand idle connections would otherwise hold 80 MiB of buffers. The
// read buffer is kept when it holds bytes the client sent already.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := w.ResponseWriter.Hijack()
	if err != nil {
		return c, rw, err
	}
	w.conn = c
	r := rw.Reader
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(c, wsReadBuffer)
	}
	return c, bufio.NewReadWriter(r, bufio.NewWriterSize(c, wsWriteBuffer)), nil
}

// wsConn is a server WebSocket with a bounded send queue. An idle
// connection costs one goroutine, the one reading it; a writer goroutine
// runs only while messages are queued. A connection whose queue is full is
// closed (1013, try again later): the client reconnects, with the state
// feature to catch up.
type wsConn struct {
	ws  *websocket.Conn
	nc  net.Conn // for write deadlines
	max int

	// ks is what the receiver knows of the channel's topic, guarded by
	// the channel's mu.
	ks knownState

	mu      sync.Mutex
	queue   [][]byte
	writing bool
	dead    bool
}

// newWSConn returns a connection; with a nil ws it holds what it is sent
// until attach gives it its WebSocket.
func newWSConn(ws *websocket.Conn, nc net.Conn, max int) *wsConn {
	return &wsConn{ws: ws, nc: nc, max: max}
}

func (c *wsConn) known() *knownState { return &c.ks }

// attach gives a holding connection its WebSocket and starts sending what
// it holds, or closes the WebSocket when the connection was dropped (or
// fell too far behind) meanwhile.
func (c *wsConn) attach(ws *websocket.Conn, nc net.Conn) {
	c.mu.Lock()
	c.ws, c.nc = ws, nc
	dead := c.dead
	start := !dead && !c.writing && len(c.queue) > 0
	c.writing = c.writing || start
	c.mu.Unlock()
	switch {
	case dead:
		go ws.Close(websocket.StatusGoingAway, "the connection was closed while it opened")
	case start:
		go c.writeLoop()
	}
}

func (c *wsConn) send(b []byte) bool {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.max {
		c.dead, c.queue = true, nil
		ws := c.ws
		c.mu.Unlock()
		if ws != nil { // else attach closes it
			go ws.Close(websocket.StatusTryAgainLater, "too slow: notifications were dropped")
		}
		return false
	}
	c.queue = append(c.queue, b)
	start := !c.writing && c.ws != nil // a holding connection starts in attach
	c.writing = c.writing || start
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return true
}

func (c *wsConn) writeLoop() {
	for {
		c.mu.Lock()
		if c.dead || len(c.queue) == 0 {
			c.writing, c.queue = false, nil
			c.mu.Unlock()
			return
		}
		b := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		var err error
		if c.nc != nil {
			err = c.nc.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
		}
		if err == nil {
			err = c.ws.Write(context.Background(), websocket.MessageText, b)
		}
		if err != nil {
			c.mu.Lock()
			c.dead, c.writing, c.queue = true, false, nil
			c.mu.Unlock()
			c.ws.CloseNow()
			return
		}
	}
}

func (c *wsConn) drop(reason string) {
	c.mu.Lock()
	already := c.dead
	c.dead, c.queue = true, nil
	ws := c.ws
	c.mu.Unlock()
	if !already && ws != nil { // else attach closes it
		go ws.Close(websocket.StatusGoingAway, reason)
	}
}

// readLoop reads (and ignores) what the client sends until the connection
// ends or ctx is done; it answers pings and close frames meanwhile.
func (c *wsConn) readLoop(ctx context.Context) {
	defer c.ws.CloseNow()
	for {
		if _, _, err := c.ws.Read(ctx); err != nil {
			c.mu.Lock()
			c.dead, c.queue = true, nil
			c.mu.Unlock()
			return
		}
	}
}
