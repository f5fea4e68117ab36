package notify

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/ldp"
)

// streamSink is a StreamingHTTPChannel2023 response: a bounded queue the
// handler writes from. A response whose queue is full is ended.
type streamSink struct {
	ch   chan []byte
	done chan struct{}
	once sync.Once
	ks   knownState // guarded by the channel's mu
}

func (s *streamSink) known() *knownState { return &s.ks }

func (s *streamSink) send(b []byte) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.ch <- b:
		return true
	default:
		s.drop("too slow")
		return false
	}
}

func (s *streamSink) drop(string) { s.once.Do(func() { close(s.done) }) }

// serveStream serves a StreamingHTTPChannel2023 receiveFrom URL: a response
// that never ends, one notification after another, each followed by a
// newline. Like the WebSocket URL it is a capability.
func (n *Notifier) serveStream(c *gin.Context, r *ldp.Request, id string) error {
	ch := n.lookup(id)
	if ch == nil || ch.rec.Pod != r.Target.Pod || ch.rec.Type != TypeStreaming {
		return errNoChannel
	}
	switch c.Request.Method {
	case http.MethodOptions:
		return n.options(c, "OPTIONS, GET")
	case http.MethodGet:
	default:
		return errMethod("OPTIONS, GET")
	}
	if !n.credentialActive(c.Request.Context(), ch) {
		return errNoChannel
	}
	if !n.canRead(&ch.rec, ch.rec.Path, r.Target.Root) {
		return errNoAccess
	}
	// The stream outlives the server's read and write timeouts.
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	s := &streamSink{ch: make(chan []byte, n.cfg.ConnQueue), done: make(chan struct{})}
	// The stream joins the channel before the response starts: a change
	// the client makes once it has the response's headers reaches it,
	// after the state message (join).
	if !n.join(c.Request.Context(), ch, s) {
		return errNoChannel
	}
	defer n.removeSink(ch, s)
	ct := ch.rec.Media
	if strings.HasPrefix(ct, "text/") {
		ct += "; charset=utf-8"
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.WriteHeaderNow()
	if err := rc.Flush(); err != nil {
		return nil
	}
	ctx := c.Request.Context()
	for {
		select {
		case b := <-s.ch:
			if _, err := c.Writer.Write(b); err != nil {
				return nil
			}
			if _, err := c.Writer.Write([]byte("\n")); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-s.done:
			return nil
		case <-ctx.Done():
			return nil
		case <-n.streamsDone:
			return nil
		case <-n.ctx.Done():
			return nil
		}
	}
}
