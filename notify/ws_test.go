package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"podserver/ldp"
	"podserver/store"
)

// chanSink is a sink that passes on what it is sent.
type chanSink struct{ c chan []byte }

func (s *chanSink) send(b []byte) bool       { s.c <- b; return true }
func (s *chanSink) drop(string)              {}
func (s *chanSink) known() *knownState       { return nil }
func newChanSink() *chanSink                 { return &chanSink{c: make(chan []byte, 64)} }
func (s *chanSink) next(t *testing.T) []byte { return recvMsg(t, s.c) }

func recvMsg(t *testing.T, c <-chan []byte) []byte {
	t.Helper()
	select {
	case b := <-c:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5s")
	}
	return nil
}

// hookWriter runs after, once, as soon as the client can see its
// connection open: when the WebSocket handshake's 101 response is on the
// wire (net/http sends it when the connection is hijacked), or when a
// streaming response's headers are.
type hookWriter struct {
	gin.ResponseWriter
	once  sync.Once
	after func()
}

func (w *hookWriter) Flush() {
	w.ResponseWriter.Flush()
	w.once.Do(w.after)
}

func (w *hookWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := w.ResponseWriter.Hijack()
	if err == nil {
		w.once.Do(w.after)
	}
	return c, rw, err
}

// joinServer serves n's receiveFrom URLs of pod alice at /ws/{id} and
// /stream/{id}, running the handshake hook, if set, once the client can
// see its connection open.
func joinServer(t *testing.T, n *Notifier, hook *func()) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	serve := func(c *gin.Context, f func(*gin.Context, *ldp.Request, string) error) {
		if h := *hook; h != nil {
			c.Writer = &hookWriter{ResponseWriter: c.Writer, after: h}
		}
		r := &ldp.Request{Target: ldp.Target{Pod: "alice", Path: "/alice/", Root: "http://pods.test/alice/"}}
		if err := f(c, r, c.Param("id")); err != nil {
			t.Errorf("serving %s: %v", c.Request.URL, err)
		}
	}
	e.GET("/ws/:id", func(c *gin.Context) { serve(c, n.serveWebSocket) })
	e.GET("/stream/:id", func(c *gin.Context) { serve(c, n.serveStream) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// putETag writes resource p and returns its ETag; it may run off the
// test's goroutine.
func putETag(st store.Store, p, body string) (string, error) {
	var m ldp.Meta
	err := st.Update(context.Background(), func(tx store.Txn) error {
		var err error
		_, m, err = ldp.Put(tx, p, "application/ld+json", []byte(body), time.Now(), ldp.Preconditions{})
		return err
	})
	return m.ETag(), err
}

// decoded is the part of a notification the join tests look at.
type decoded struct{ Type, State string }

func decode(t *testing.T, b []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("notification %s: %v", b, err)
	}
	return d
}

// A connection joins its channel with a snapshot of the topic's state,
// before its client sees it open: a change made right after the handshake,
// and handed to the channel before the server has finished with the
// connection, reaches it; the state message comes first; no change reaches
// it twice. The hook makes the change, as soon as the handshake's response
// (or the stream's headers) is on the wire, and waits until the dispatcher
// has handed it to the channel (an observer connection got it).
func TestJoinChangeDuringHandshake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream bool
		state  string // the receiver's last known state (the state feature)
		exists bool   // the topic exists when the client connects
	}{
		{name: "websocket"},
		{name: "websocket stale state", state: `"old"`, exists: true},
		{name: "websocket state of a topic made during the handshake", state: `"old"`},
		{name: "stream", stream: true},
		{name: "stream stale state", stream: true, state: `"old"`, exists: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, st := testNotifier(t, &fakeHost{})
			ctx := context.Background()
			const topic = "/alice/topic"
			var before string
			if tc.exists {
				before = mustPut(t, st, topic, `{"n": 0}`)
			}
			rec := wsRecord("joinchannel", topic, "https://alice.example/#me")
			rec.State = tc.state
			if tc.stream {
				rec.Type = TypeStreaming
			}
			ch, err := n.create(ctx, rec)
			if err != nil {
				t.Fatal(err)
			}
			// The observer is attached without joining, so that the state
			// message stays owed to the client.
			observer := newChanSink()
			ch.mu.Lock()
			n.attachLocked(ch, observer)
			ch.mu.Unlock()

			var hook func()
			srv := joinServer(t, n, &hook)
			during := make(chan string, 1)
			hook = func() {
				etag, err := putETag(st, topic, `{"n": 1}`)
				if err != nil {
					t.Error(err)
				}
				select {
				case <-observer.c:
				case <-time.After(5 * time.Second):
					t.Error("the observer did not get the change made during the handshake")
				}
				during <- etag
			}
			var recv <-chan []byte
			if tc.stream {
				recv = openStream(t, srv.URL+"/stream/joinchannel")
			} else {
				recv = dialWS(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/joinchannel")
			}
			mid := <-during
			after := mustPut(t, st, topic, `{"n": 2}`)

			var want []decoded
			switch {
			case tc.state != "" && tc.exists:
				want = append(want, decoded{"Update", before})
			case tc.state != "":
				want = append(want, decoded{"Delete", ""})
			}
			first := "Update"
			if !tc.exists {
				first = "Create"
			}
			want = append(want, decoded{first, mid}, decoded{"Update", after})
			for i, w := range want {
				if got := decode(t, recvMsg(t, recv)); got != w {
					t.Fatalf("notification %d: %+v, want %+v (all: %+v)", i, got, w, want)
				}
			}
		})
	}
}

func mustPut(t *testing.T, st store.Store, p, body string) string {
	t.Helper()
	etag, err := putETag(st, p, body)
	if err != nil {
		t.Fatal(err)
	}
	return etag
}

// dialWS opens a WebSocket and returns what it receives.
func dialWS(t *testing.T, url string) <-chan []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	out := make(chan []byte, 64)
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			out <- b
		}
	}()
	return out
}

// openStream opens a streaming HTTP response and returns its lines.
func openStream(t *testing.T, url string) <-chan []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := make(chan []byte, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				out <- []byte(l)
			}
		}
	}()
	return out
}

// etagVersion reads the ETags ldp makes, and nothing else.
func TestETagVersion(t *testing.T) {
	for _, v := range []uint64{1, 35, 36, 1 << 40, 1<<64 - 1} {
		if got, ok := etagVersion(ldp.Meta{Version: v}.ETag()); !ok || got != v {
			t.Errorf("version %d: got %d, %v", v, got, ok)
		}
	}
	for _, e := range []string{"", `"`, `""`, `W/"1"`, `"1`, `1"`, `"-1"`, `"zzzzzzzzzzzzzzzzz"`} {
		if v, ok := etagVersion(e); ok {
			t.Errorf("%q read as version %d", e, v)
		}
	}
}

// fresh passes the notifications that move a receiver on from what it
// knows, and only those.
func TestKnownStateFresh(t *testing.T) {
	etag := func(v uint64) string { return ldp.Meta{Version: v}.ETag() }
	upd := func(v uint64) *Message { return &Message{Type: ActUpdate, State: etag(v)} }
	del := &Message{Type: ActDelete}
	add := &Message{Type: ActAdd, Target: "http://pods.test/alice/", State: etag(1)}
	for _, tc := range []struct {
		name  string
		start knownState
		msgs  []*Message
		want  string // f or s (fresh or skipped) per message
	}{
		{"no snapshot", knownState{}, []*Message{upd(1), upd(1), del, del}, "ffff"},
		{"older and same versions", knownState{set: true, version: 5}, []*Message{upd(3), upd(5), upd(6), upd(6)}, "ssfs"},
		{"gone", knownState{set: true, gone: true}, []*Message{del, upd(2), del, del}, "sffs"},
		{"delete and re-create", knownState{set: true, version: 5}, []*Message{del, upd(5), upd(4), upd(7)}, "ffsf"},
		{"container members", knownState{set: true, version: 9}, []*Message{add, add}, "ff"},
		{"foreign ETag", knownState{set: true, version: 9}, []*Message{{Type: ActUpdate, State: `"x-y"`}}, "f"},
	} {
		k := tc.start
		var got strings.Builder
		for _, m := range tc.msgs {
			got.WriteString(map[bool]string{true: "f", false: "s"}[k.fresh(m)])
		}
		if got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got.String(), tc.want)
		}
	}
}

// A connection that joins while the rate feature holds a notification
// back gets the state message at once, and not the held notification
// again when the period ends; the connections that were there get it then.
func TestJoinWhileRateHolds(t *testing.T) {
	n, st := testNotifier(t, &fakeHost{})
	ctx := context.Background()
	rec := wsRecord("ratechannel", "/alice/busy", "https://alice.example/#me")
	rec.Rate = 300 * time.Millisecond
	ch, err := n.create(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	early := newChanSink()
	n.join(ctx, ch, early)
	a := mustPut(t, st, "/alice/busy", `{"n": 1}`)
	if got := decode(t, early.next(t)); got != (decoded{"Create", a}) {
		t.Fatalf("first notification %+v", got)
	}
	b := mustPut(t, st, "/alice/busy", `{"n": 2}`) // held back by the rate
	waitPending(t, ch)

	late := &chanSinkKnown{chanSink: newChanSink()}
	n.join(ctx, ch, late)
	if got := decode(t, late.next(t)); got != (decoded{"Update", b}) {
		t.Fatalf("state message %+v, want the Update to %s", got, b)
	}
	if got := decode(t, early.next(t)); got != (decoded{"Update", b}) {
		t.Fatalf("held notification %+v", got)
	}
	c := mustPut(t, st, "/alice/busy", `{"n": 3}`)
	for name, s := range map[string]*chanSink{"early": early, "late": late.chanSink} {
		if got := decode(t, s.next(t)); got != (decoded{"Update", c}) {
			t.Errorf("%s connection: %+v after the held notification, want the Update to %s", name, got, c)
		}
	}
}

// chanSinkKnown is a chanSink that keeps what its receiver knows, as
// connections do.
type chanSinkKnown struct {
	*chanSink
	ks knownState
}

func (s *chanSinkKnown) known() *knownState { return &s.ks }

// waitPending waits until the rate feature holds a notification of ch.
func waitPending(t *testing.T, ch *channel) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		ch.mu.Lock()
		held := ch.pending != nil
		ch.mu.Unlock()
		if held {
			return
		}
	}
	t.Fatalf("no notification held back on %s", ch.rec.ID)
}
